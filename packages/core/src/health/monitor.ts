/**
 * The health monitor: runs every real server's checks, and turns their verdicts into weight-overlay
 * adjustments under the source "health" (weight 0 with inhibit_on_failure, removal otherwise; a dynamic weight
 * as a factor of the configured weight) and, per virtual service, into quorum with hysteresis and the sorry
 * server. It never edits the desired state: the operator's configured weight stays as configured.
 */
import { EngineUnavailableError } from '../errors.js';
import { silentLogger, type Logger } from '@vsd/sys';
import { realServerKey } from '../model/keys.js';
import type { WeightOverlay } from '../weights/overlay.js';
import { createChecker } from './checkers.js';
import { HEALTH_SOURCE, NOTIFY_SCRIPT_TIMEOUT_MS } from './constants.js';
import { initialQuorumState, nextQuorumState } from './quorum.js';
import { RealServerRunner, type RunnerChange, type RunnerCheck } from './runner.js';
import { createScriptChecker } from './script.js';
import { ProbeThread, probeThreadUnavailable } from './probe/client.js';
import { probeDef } from './probe/spec.js';
import type { HealthEvent, HealthRealServerSpec, HealthServiceSpec, HealthStatus, ServiceHealthStatus } from './types.js';
import { realServerStatus, type RsEntry } from './status.js';

export interface HealthMonitorOptions {
  overlay: WeightOverlay;
  logger?: Logger;
  /** SIGTERM-to-SIGKILL grace for timed-out scripts (default 1 s). */
  killGraceMs?: number;
  /** Randomness for `warmup` (tests pass a fixed one). */
  random?: () => number;
  /** Check start times are batched into slots of this many ms (default 50, at most an eighth of the interval). */
  slotMs?: number;
  /**
   * Where TCP_CHECK and HTTP_GET run. 'epoll': in a probe thread on libc sockets (a little over half the CPU of
   * Node sockets per check, bench/README.md); 'node': with Node sockets on the main thread; 'auto' (default): the
   * thread when it can run (Linux, koffi, a built dist), else Node. SSL_GET and MISC_CHECK always run on the main
   * thread.
   */
  engine?: HealthEngine;
  /** The compiled probe thread, when not this package's dist/health/probe/thread.js (bundles, tests). */
  probeScript?: string;
}

export type HealthEngine = 'auto' | 'epoll' | 'node';

export interface HealthMonitor {
  /** Install the services to check (idempotent: unchanged checks keep their state and timers across reloads). */
  configure(services: readonly HealthServiceSpec[]): void;
  start(): void;
  /** Stop every check; services with `omega` then run quorum_down and clear their overlay and sorry server. */
  stop(): Promise<void>;
  status(): HealthStatus;
  /** Every real-server and quorum transition (for metrics and diagnostics). */
  onEvent(listener: (event: HealthEvent) => void): () => void;
}

interface SvcEntry {
  spec: HealthServiceSpec;
  quorumUp: boolean;
  sorryActive: boolean;
  servers: Map<string, RsEntry>;
}

const GOLDEN = 0.618_033_988_749_895;

/**
 * Delay before the first run of the `seq`-th check started: with `warmup`, random up to it (keepalived); without,
 * successive checks land at golden-ratio fractions of their interval, evenly spread however many there are and
 * however many are added later.
 */
export function firstCheckDelay(seq: number, intervalMs: number, warmupMs: number | undefined, random: () => number = Math.random): number {
  return warmupMs !== undefined ? random() * warmupMs : ((seq * GOLDEN) % 1) * intervalMs;
}

export function createHealthMonitor(options: HealthMonitorOptions): HealthMonitor {
  const { overlay } = options;
  const log = (options.logger ?? silentLogger).child({ component: 'health' });
  const random = options.random ?? Math.random;
  const services = new Map<string, SvcEntry>();
  const listeners = new Set<(e: HealthEvent) => void>();
  let started = false;
  let spread = 0;
  const engine = options.engine ?? 'auto';
  /** The probe thread while started (spawned when the first check that can run there starts). */
  let probes: ProbeThread | null = null;
  let probesUnavailable: string | null | undefined;

  const emit = (e: HealthEvent): void => {
    for (const l of listeners) l(e);
  };

  const firstDelay = (c: RunnerCheck): number => firstCheckDelay(spread++, c.intervalMs, c.spec.warmupMs, random);

  /** The probe thread, spawned on first use; null when checks run with Node sockets. */
  const probeHost = (): ProbeThread | null => {
    if (engine === 'node' || !started) return null;
    if (probes) return probes.failed ? null : probes;
    if (probesUnavailable !== undefined) return null;
    probesUnavailable = probeThreadUnavailable(options.probeScript);
    if (probesUnavailable === null) {
      try {
        const t = new ProbeThread(log, options.probeScript);
        t.start();
        probes = t;
        log.info('TCP and HTTP checks run in the probe thread');
        return t;
      } catch (err) {
        probesUnavailable = (err as Error).message;
      }
    }
    if (engine === 'epoll') throw new EngineUnavailableError('health_engine epoll', probesUnavailable ?? 'the probe thread did not start');
    log.warn({ reason: probesUnavailable }, 'TCP and HTTP checks run with Node sockets (the probe thread is unavailable)');
    return null;
  };

  /** The weight a live real server counts with: its configured weight, lowered by a dynamic weight. */
  const healthWeight = (rs: RsEntry): number => (rs.weight === undefined ? rs.spec.weight : Math.min(rs.spec.weight, rs.weight));

  const applyOverlay = (svc: SvcEntry, rs: RsEntry): void => {
    const { key } = svc.spec;
    if (!rs.alive) {
      const remove = !(rs.spec.inhibitOnFailure ?? svc.spec.inhibitOnFailure);
      overlay.set(HEALTH_SOURCE, key, rs.key, { factor: 0, remove, reason: `${rs.checker ?? 'health'}: ${rs.reason}` });
    } else if (rs.weight !== undefined) {
      const factor = rs.spec.weight > 0 ? Math.min(1, rs.weight / rs.spec.weight) : 0;
      overlay.set(HEALTH_SOURCE, key, rs.key, { factor, reason: `dynamic weight ${rs.weight}` });
    } else overlay.set(HEALTH_SOURCE, key, rs.key, null);
  };

  const weightSum = (svc: SvcEntry): number => {
    let sum = 0;
    for (const rs of svc.servers.values()) if (rs.alive) sum += healthWeight(rs);
    return sum;
  };

  const setQuorum = (svc: SvcEntry, up: boolean, sum: number, atStart: boolean): void => {
    const { spec } = svc;
    // The state at start is not a transition: no quorum_up/quorum_down for it.
    const changed = up !== svc.quorumUp && !atStart;
    svc.quorumUp = up;
    const wantSorry = !up && spec.sorryServer !== null;
    // Set whenever wanted (the overlay ignores a repeat), so a sorry server changed by a reload takes over at once.
    if (wantSorry || svc.sorryActive) overlay.setSorryServer(spec.key, wantSorry ? spec.sorryServer : null);
    if (wantSorry !== svc.sorryActive) {
      svc.sorryActive = wantSorry;
      const sorry = spec.sorryServer ? realServerKey(spec.sorryServer) : null;
      log.info({ service: spec.key, sorryServer: sorry }, wantSorry ? 'adding sorry server, removing alive servers from the pool' : 'removing sorry server');
    }
    if (!changed && !atStart) return;
    const fields = { service: spec.key, weightSum: sum, quorum: spec.quorum, hysteresis: spec.hysteresis };
    if (up) log.info(fields, atStart ? 'quorum up at start' : 'gained quorum');
    else log.warn(fields, atStart ? 'quorum down at start' : 'lost quorum');
    emit({ type: 'quorum', service: spec.key, up, weightSum: sum });
    if (changed) runScript(spec, up ? spec.quorumUp : spec.quorumDown, up ? 'quorum_up' : 'quorum_down');
  };

  const runScript = (spec: HealthServiceSpec, command: string | undefined, what: string): Promise<void> => {
    if (!command) return Promise.resolve();
    const checker = createScriptChecker({ command, timeoutMs: NOTIFY_SCRIPT_TIMEOUT_MS, dynamic: false, killGraceMs: options.killGraceMs });
    return checker.check().then((r) => {
      log[r.ok ? 'info' : 'warn']({ service: spec.key, script: what, command, reason: r.reason }, `${what} script ${r.ok ? 'succeeded' : 'failed'}`);
    });
  };

  const evaluateQuorum = (svc: SvcEntry): void => {
    const sum = weightSum(svc);
    setQuorum(svc, nextQuorumState(svc.quorumUp, sum, svc.spec), sum, false);
  };

  const onChange = (svc: SvcEntry, rs: RsEntry, change: RunnerChange): void => {
    const flipped = change.alive !== rs.alive;
    rs.alive = change.alive;
    rs.weight = change.weight;
    rs.checker = change.checker;
    rs.reason = change.reason;
    if (flipped) {
      rs.transitions++;
      rs.since = Date.now();
      const fields = { service: svc.spec.key, realServer: rs.key, checker: change.checker, reason: change.reason };
      const inhibit = rs.spec.inhibitOnFailure ?? svc.spec.inhibitOnFailure;
      if (rs.alive) log.info(fields, inhibit ? 'enabling real server' : 'adding real server');
      else log.warn({ ...fields, inhibit }, inhibit ? 'disabling real server (weight 0)' : 'removing real server');
      emit({ type: 'realserver', service: svc.spec.key, realServer: rs.key, alive: rs.alive, checker: change.checker, reason: change.reason });
    } else {
      log.info({ service: svc.spec.key, realServer: rs.key, checker: change.checker, weight: rs.weight }, 'dynamic weight changed');
    }
    applyOverlay(svc, rs);
    evaluateQuorum(svc);
  };

  const createEntry = (svc: SvcEntry, spec: HealthRealServerSpec, fingerprint: string): RsEntry => {
    const checks: RunnerCheck[] = spec.checks.map((c) => {
      const intervalMs = c.delayLoopMs ?? svc.spec.delayLoopMs;
      const checker = createChecker(c, { realServer: spec, intervalMs, killGraceMs: options.killGraceMs });
      return { spec: c, intervalMs, checker, probe: probeDef(c, spec) };
    });
    const initiallyUp = !svc.spec.alpha || checks.length === 0;
    const rs: RsEntry = {
      spec,
      key: realServerKey(spec),
      fingerprint,
      alive: initiallyUp,
      weight: undefined,
      transitions: 0,
      failures: 0,
      since: Date.now(),
      checker: null,
      reason: initiallyUp ? 'initial state' : 'alpha: down until the first successful check',
      runner: undefined as unknown as RealServerRunner,
    };
    rs.runner = new RealServerRunner(
      checks,
      initiallyUp,
      {
        onChange: (change) => onChange(svc, rs, change),
        onCheck: (checker, result, outcome) => {
          if (result.ok) return;
          rs.failures++;
          if (!outcome.changed)
            log.debug({ service: svc.spec.key, realServer: rs.key, checker: checker.name, reason: result.reason, retrying: outcome.retrying }, 'check failed');
        },
      },
      options.slotMs,
    );
    return rs;
  };

  const dropService = (svc: SvcEntry): void => {
    for (const rs of svc.servers.values()) rs.runner.stop();
    overlay.clearSource(HEALTH_SOURCE, svc.spec.key);
    if (svc.sorryActive) overlay.setSorryServer(svc.spec.key, null);
  };

  const configureService = (spec: HealthServiceSpec): void => {
    let svc = services.get(spec.key);
    const fresh = !svc;
    if (!svc) services.set(spec.key, (svc = { spec, quorumUp: false, sorryActive: false, servers: new Map() }));
    svc.spec = spec;
    const keep = new Set<string>();
    for (const rsSpec of spec.realServers) {
      const key = realServerKey(rsSpec);
      keep.add(key);
      // Anything that changes what is checked, or how often, restarts that real server's checks.
      const fingerprint = JSON.stringify([rsSpec.address, rsSpec.port, rsSpec.checks, spec.delayLoopMs, spec.alpha]);
      const old = svc.servers.get(key);
      if (old && old.fingerprint === fingerprint) {
        old.spec = rsSpec;
        continue;
      }
      old?.runner.stop();
      const rs = createEntry(svc, rsSpec, fingerprint);
      svc.servers.set(key, rs);
      if (started) rs.runner.start(firstDelay, probeHost);
    }
    for (const [key, rs] of svc.servers)
      if (!keep.has(key)) {
        rs.runner.stop();
        svc.servers.delete(key);
        overlay.set(HEALTH_SOURCE, spec.key, key, null);
      }
    for (const rs of svc.servers.values()) applyOverlay(svc, rs);
    const sum = weightSum(svc);
    if (fresh) setQuorum(svc, initialQuorumState(sum, spec), sum, true);
    else setQuorum(svc, nextQuorumState(svc.quorumUp, sum, spec), sum, false);
  };

  return {
    configure(specs) {
      const wanted = new Set(specs.map((s) => s.key));
      for (const [key, svc] of services)
        if (!wanted.has(key)) {
          dropService(svc);
          services.delete(key);
        }
      for (const spec of specs) configureService(spec);
    },
    start() {
      if (started) return;
      if (engine === 'epoll') {
        const why = probeThreadUnavailable(options.probeScript);
        if (why) throw new EngineUnavailableError('health_engine epoll', why);
      }
      started = true;
      probesUnavailable = undefined;
      for (const svc of services.values()) {
        // After an omega stop the overlay was cleared: put the health view back before checking again.
        for (const rs of svc.servers.values()) {
          applyOverlay(svc, rs);
          rs.runner.start(firstDelay, probeHost);
        }
        setQuorum(svc, svc.quorumUp, weightSum(svc), false);
      }
      log.info({ services: services.size }, 'health checks started');
    },
    async stop() {
      started = false;
      const scripts: Promise<void>[] = [];
      if (probes) scripts.push(probes.stop());
      probes = null;
      for (const svc of services.values()) {
        for (const rs of svc.servers.values()) rs.runner.stop();
        if (!svc.spec.omega) continue;
        // omega: tell the world what shutting down does to the service, then leave no health adjustment behind.
        for (const rs of svc.servers.values())
          if (rs.alive) log.info({ service: svc.spec.key, realServer: rs.key, reason: 'shutdown (omega)' }, 'removing real server');
        if (svc.quorumUp) scripts.push(runScript(svc.spec, svc.spec.quorumDown, 'quorum_down'));
        dropService(svc);
        svc.sorryActive = false;
      }
      await Promise.all(scripts);
      log.info('health checks stopped');
    },
    status() {
      const out: ServiceHealthStatus[] = [];
      for (const svc of services.values()) {
        const sum = weightSum(svc);
        out.push({
          key: svc.spec.key,
          quorum: { up: svc.quorumUp, weightSum: sum, quorum: svc.spec.quorum, hysteresis: svc.spec.hysteresis },
          sorryServer: svc.sorryActive && svc.spec.sorryServer ? realServerKey(svc.spec.sorryServer) : null,
          realServers: [...svc.servers.values()].map((rs) => realServerStatus(rs, rs.alive ? healthWeight(rs) : 0)),
        });
      }
      return { services: out };
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
