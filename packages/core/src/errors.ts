/**
 * The error catalogue of vsd. Every error thrown across a package boundary is one of these classes,
 * with a stable `code` (documented in docs/errors.md, kept in agreement by test/errors.test.ts) and,
 * where the IPVS kernel API has an equivalent, the errno name that ipvsadm would have received, so that
 * vsadm can print ipvsadm's exact message for the same failure.
 */
import { VsdError, type Errno } from '@vsd/protocol';

// The base and the config-boundary errors live in @vsd/protocol, the OS door's in @vsd/sys; re-exported so the
// catalogue is still one import (`instanceof` holds: each is one class).
export {
  asErrno,
  ConfigError,
  InternalError,
  invariant,
  UsageError,
  ValidationError,
  VsdError,
  type Errno,
  type VsdErrorOptions,
} from '@vsd/protocol';
export { BpfError, KeyFileError, NetlinkError, SyscallError, UnsupportedPlatformError } from '@vsd/sys';

export class ServiceExistsError extends VsdError {
  constructor(service: string) {
    super('VSD_ERR_SERVICE_EXISTS', `virtual service ${service} already exists`, { errno: 'EEXIST', details: { service } });
  }
}

export class ServiceNotFoundError extends VsdError {
  constructor(service: string) {
    super('VSD_ERR_SERVICE_NOT_FOUND', `virtual service ${service} is not defined`, { errno: 'ESRCH', details: { service } });
  }
}

export class RealServerExistsError extends VsdError {
  constructor(service: string, realServer: string) {
    super('VSD_ERR_REAL_SERVER_EXISTS', `real server ${realServer} already exists in ${service}`, {
      errno: 'EEXIST',
      details: { service, realServer },
    });
  }
}

export class RealServerNotFoundError extends VsdError {
  constructor(service: string, realServer: string) {
    super('VSD_ERR_REAL_SERVER_NOT_FOUND', `real server ${realServer} is not in ${service}`, {
      errno: 'ENOENT',
      details: { service, realServer },
    });
  }
}

export class SchedulerNotFoundError extends VsdError {
  constructor(scheduler: string) {
    super('VSD_ERR_SCHEDULER_NOT_FOUND', `scheduler or persistence engine ${scheduler} not found`, {
      errno: 'ENOENT',
      details: { scheduler },
    });
  }
}

/** lower threshold above upper threshold: the kernel answers ERANGE. */
export class ThresholdRangeError extends VsdError {
  constructor(realServer: string, upper: number, lower: number) {
    super('VSD_ERR_THRESHOLD_RANGE', `real server ${realServer}: lower threshold ${lower} exceeds upper threshold ${upper}`, {
      errno: 'ERANGE',
      details: { realServer, upper, lower },
    });
  }
}

/** A forwarding method (or other feature) the active dataplane cannot provide. */
export class UnsupportedByDataplaneError extends VsdError {
  constructor(dataplane: string, feature: string, alternative: string) {
    super('VSD_ERR_UNSUPPORTED_BY_DATAPLANE', `the ${dataplane} dataplane cannot do ${feature}; use the ${alternative} dataplane`, {
      errno: 'EOPNOTSUPP',
      details: { dataplane, feature, alternative },
    });
  }
}

export class StateCorruptError extends VsdError {
  constructor(path: string, reason: string, cause?: unknown) {
    super('VSD_ERR_STATE_CORRUPT', `state file ${path} is unreadable: ${reason}; it was left in place for inspection`, {
      details: { path, reason },
      cause,
    });
  }
}

export class IpvsUnavailableError extends VsdError {
  constructor(reason: string) {
    super('VSD_ERR_IPVS_UNAVAILABLE', `kernel IPVS is not available (${reason}): load the ip_vs module (modprobe ip_vs) or run with --dataplane proxy`, {
      details: { reason },
    });
  }
}

/**
 * The xdp dataplane cannot start: the BPF object is missing (built without clang), libbpf is missing, the kernel
 * refused the program (the verifier's reason in `details.verifierLog`), or XDP cannot be attached to the interface.
 */
export class XdpLoadError extends VsdError {
  constructor(iface: string, stage: 'object' | 'libbpf' | 'load' | 'attach' | 'config', reason: string, verifierLog?: string) {
    super('VSD_ERR_XDP_LOAD', `xdp dataplane on ${iface}: ${reason}`, {
      details: { interface: iface, stage, reason, ...(verifierLog ? { verifierLog } : {}) },
    });
  }
}

export class SyncDaemonError extends VsdError {
  constructor(state: 'master' | 'backup', running: boolean) {
    super(
      running ? 'VSD_ERR_DAEMON_RUNNING' : 'VSD_ERR_NO_DAEMON',
      running ? `the ${state} sync daemon is already running` : `no ${state} sync daemon is running`,
      { errno: running ? 'EEXIST' : 'ESRCH', details: { state } },
    );
  }
}

/** The control socket path is taken: a foreign (non-socket) file, or a socket another process is listening on. */
export class ControlSocketError extends VsdError {
  constructor(path: string, reason: string) {
    super('VSD_ERR_CONTROL_SOCKET', `control socket ${path}: ${reason}`, { details: { path, reason } });
  }
}

/** The control API refused a request before it reached the store. Each code maps to one HTTP status. */
export type ControlProtocolCode = 'VSD_ERR_BAD_REQUEST' | 'VSD_ERR_UNAUTHORIZED' | 'VSD_ERR_NO_ROUTE' | 'VSD_ERR_METHOD_NOT_ALLOWED' | 'VSD_ERR_BODY_TOO_LARGE';

export class ControlProtocolError extends VsdError {
  constructor(code: ControlProtocolCode, message: string, details: Record<string, unknown> = {}) {
    super(code, message, { details });
  }
}

/** Changes go to the MASTER; the BACKUP refuses them so the pair never diverges outside a partition. */
export class NotMasterError extends VsdError {
  constructor(state: string, master: string | null) {
    super(
      'VSD_ERR_NOT_MASTER',
      `this dispatcher is ${state}: make changes on the MASTER${master ? ` (${master})` : ''}, they reach this node through peer sync`,
      { details: { state, master } },
    );
  }
}

/**
 * A generation that cannot be the next one: the store's counter reached MAX_GENERATION, or a document (state file,
 * peer snapshot) carries one above it or not an integer. Refused with nothing changed.
 */
export class GenerationError extends VsdError {
  constructor(generation: number, reason: string) {
    super('VSD_ERR_GENERATION', `generation ${generation} refused: ${reason}`, { details: { generation, reason } });
  }
}

export class BadMessageError extends VsdError {
  constructor(from: string, reason: string) {
    super('VSD_ERR_BAD_MESSAGE', `bad message from ${from}: ${reason}`, { errno: 'EINVAL', details: { from, reason } });
  }
}

/**
 * The kernel refused an IPVS request with an errno no more specific class covers (EINVAL, EPERM, ENODEV,
 * ENOMEM, ...). `details.errnoName` always carries the name, `errno` too when it is one of {@link Errno}.
 */
export class IpvsKernelError extends VsdError {
  constructor(command: string, errnoName: string, text: string, errno?: Errno) {
    super('VSD_ERR_IPVS_KERNEL', `IPVS ${command} failed: ${text} (${errnoName})`, { errno, details: { command, errnoName, text } });
  }
}

/** A manual HA operation that makes no sense in the current state (failover on a BACKUP, takeover on the MASTER, ...). */
export class HaStateError extends VsdError {
  constructor(operation: string, state: string, hint: string) {
    super('VSD_ERR_HA_STATE', `${operation} refused: this dispatcher is ${state}; ${hint}`, { details: { operation, state } });
  }
}

export class HaNotConfiguredError extends VsdError {
  constructor(what: string) {
    super('VSD_ERR_HA_NOT_CONFIGURED', `${what} is not configured on this dispatcher (add an \`ha:\`/\`peer:\` section to vsd.yaml)`, {
      details: { what },
    });
  }
}

/** `vsctl bgp` (GET /v1/bgp, drain, undrain) on a dispatcher without a `bgp:` section. */
export class BgpNotConfiguredError extends VsdError {
  constructor() {
    super('VSD_ERR_BGP_NOT_CONFIGURED', 'BGP is not configured on this dispatcher (add a `bgp:` section to vsd.yaml)');
  }
}

/**
 * The routing daemon (BIRD) could not be reached or refused a command: its control socket is absent, it timed out,
 * or it answered with a run-time/parse error (BIRD reply codes 8xxx/9xxx). Kept in the BGP status and retried.
 */
export class BgpDaemonError extends VsdError {
  constructor(daemon: string, socket: string, command: string, reason: string, replyCode?: number) {
    super('VSD_ERR_BGP_DAEMON', `${daemon} at ${socket}: ${command}: ${reason}`, {
      details: { daemon, socket, command, reason, ...(replyCode !== undefined ? { replyCode } : {}) },
    });
  }
}

/** A VRRP instance name that this dispatcher does not run (`vsctl failover VI_9`); nothing was changed. */
export class HaInstanceNotFoundError extends VsdError {
  constructor(instance: string, known: readonly string[], hint: string | null) {
    super(
      'VSD_ERR_HA_UNKNOWN_INSTANCE',
      `no VRRP instance ${JSON.stringify(instance)} on this dispatcher${hint ? ` (did you mean ${hint}?)` : ''}; instances: ${known.join(', ') || 'none'}`,
      {
        details: { instance, known },
      },
    );
  }
}

/**
 * A reload whose `ha:` section cannot be applied to the running instances without breaking the election (a running
 * instance's VRID, interface, version, address family, unicast source/mode or vmac changed); nothing changed.
 */
export class HaReloadError extends VsdError {
  constructor(instance: string, field: string, reason: string) {
    super('VSD_ERR_HA_RELOAD', `reload refused for VRRP instance ${instance}: ${field} ${reason}; the running configuration stays`, {
      details: { instance, field, reason },
    });
  }
}

/**
 * `vsctl import-keepalived` would not write a vsd.yaml that vsd refuses or would not serve as keepalived did (a DR
 * or TUN service on the proxy dataplane, an undefined virtual_server_group, a translation failing vsd's own config
 * validation); nothing was written. `details.reason` says what to change.
 */
export class ImportRefusedError extends VsdError {
  constructor(reason: string, details: Record<string, unknown> = {}) {
    super('VSD_ERR_IMPORT_REFUSED', `import-keepalived: ${reason}`, { details: { reason, ...details } });
  }
}

/**
 * A worker-thread engine cannot run here: not built, not Linux, or libc not reachable through koffi. Thrown where the
 * config asks for it by name (`health_engine: epoll`, `proxy_engine: epoll`); with `auto` the reason is logged and
 * Node's sockets do the work instead.
 */
export class EngineUnavailableError extends VsdError {
  constructor(engine: string, reason: string) {
    super('VSD_ERR_ENGINE_UNAVAILABLE', `${engine}: ${reason}`, { details: { engine, reason } });
  }
}

/**
 * A worker-thread engine that was running stopped: its thread exited (`details.exitCode`) or sent what the protocol
 * does not allow. The engine's pending requests fail with it; what happens next is the owner's (the proxy dataplane
 * starts the engine thread again, the health monitor goes on with Node's sockets) and is logged there.
 */
export class EngineFailedError extends VsdError {
  constructor(engine: string, reason: string, details: Record<string, unknown> = {}) {
    super('VSD_ERR_ENGINE_FAILED', `${engine}: ${reason}`, { details: { engine, reason, ...details } });
  }
}

/** A network interface vsd was told to use cannot serve: it lacks the address the feature needs. */
export class InterfaceError extends VsdError {
  constructor(iface: string, reason: string, details: Record<string, unknown> = {}) {
    super('VSD_ERR_INTERFACE', `interface ${iface}: ${reason}`, { details: { interface: iface, reason, ...details } });
  }
}

/**
 * `vsd lab`, the demo cluster built in network namespaces, cannot run here (not root) or a step of it did not happen
 * in time (`details.what`, `details.timeoutMs`: the last probe error is in the message). The lab's namespaces are
 * removed on exit either way.
 */
export class LabError extends VsdError {
  constructor(reason: string, details: Record<string, unknown> = {}) {
    super('VSD_ERR_LAB', reason, { details: { reason, ...details } });
  }
}
