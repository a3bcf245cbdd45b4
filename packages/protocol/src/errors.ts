/**
 * The bottom of vsd's error catalogue: the `VsdError` base every catalogue error extends (one class for every
 * package, so `instanceof VsdError` holds across them), the errno names IPVS answers with, and the two errors a
 * config boundary raises (`ValidationError` from `parseWith`, `ConfigError`). They live in protocol because an error
 * code is part of the wire (control replies carry `error.code`), and every package, down to the real-server agent,
 * depends on protocol. The rest of the catalogue is @vsd/core's `errors.ts` (docs/errors.md lists every code).
 */
export type Errno =
  | 'EEXIST'
  | 'ESRCH'
  | 'ENOENT'
  | 'ERANGE'
  | 'EINVAL'
  | 'EPERM'
  | 'EOPNOTSUPP'
  | 'EAFNOSUPPORT'
  | 'ENOMEM'
  | 'ENODEV'
  | 'ENOPROTOOPT'
  | 'EMSGSIZE'
  | 'ENOBUFS';

const ERRNOS: ReadonlySet<string> = new Set<Errno>([
  'EEXIST',
  'ESRCH',
  'ENOENT',
  'ERANGE',
  'EINVAL',
  'EPERM',
  'EOPNOTSUPP',
  'EAFNOSUPPORT',
  'ENOMEM',
  'ENODEV',
  'ENOPROTOOPT',
  'EMSGSIZE',
  'ENOBUFS',
]);

/** The name as an {@link Errno} when it is one IPVS returns (and vsadm has a message for), else undefined. */
export function asErrno(name: string): Errno | undefined {
  return ERRNOS.has(name) ? (name as Errno) : undefined;
}

export interface VsdErrorOptions {
  errno?: Errno;
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class VsdError extends Error {
  readonly code: string;
  readonly errno: Errno | undefined;
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, options: VsdErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.errno = options.errno;
    this.details = options.details ?? {};
  }

  toJSON(): { code: string; message: string; errno?: Errno; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, ...(this.errno ? { errno: this.errno } : {}), details: this.details };
  }
}

/** A value failed validation. `field` is a dotted path, `value` the rejected input. */
export class ValidationError extends VsdError {
  constructor(field: string, value: unknown, reason: string) {
    super('VSD_ERR_VALIDATION', `${field}: ${reason} (got ${preview(value)})`, { errno: 'EINVAL', details: { field, value, reason } });
  }
}

export class ConfigError extends VsdError {
  constructor(path: string, reason: string, details: Record<string, unknown> = {}) {
    super('VSD_ERR_CONFIG', `config ${path}: ${reason}`, { errno: 'EINVAL', details: { path, ...details } });
  }
}

function preview(value: unknown): string {
  let s: string;
  try {
    s = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    s = String(value);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** The peer or agent handshake failed (a wrong proof, a key file that is unreadable or too short): EPERM. */
export class AuthError extends VsdError {
  constructor(reason: string, details: Record<string, unknown> = {}) {
    super('VSD_ERR_AUTH', `authentication failed: ${reason}`, { errno: 'EPERM', details: { reason, ...details } });
  }
}

/**
 * A command line a CLI cannot run (an unknown option, a missing or extra argument): `details.command` names the
 * command, the message the argument and what was expected. Nothing was sent to vsd.
 */
export class UsageError extends VsdError {
  constructor(command: string, reason: string, details: Record<string, unknown> = {}) {
    super('VSD_ERR_USAGE', `${command}: ${reason}`, { errno: 'EINVAL', details: { command, reason, ...details } });
  }
}

/**
 * A broken internal invariant: a programming error in vsd (a route registered twice, a metric misnamed, options
 * wired wrongly), never something an operator did or can fix. Thrown only through {@link invariant} or here, so
 * `grep -rn "invariant(\|InternalError" packages/*\/src` lists every such assumption. The control API answers
 * HTTP 500 with this code for it, and for any other error that is not a VsdError.
 */
export class InternalError extends VsdError {
  constructor(what: string, details: Record<string, unknown> = {}) {
    super('VSD_ERR_INTERNAL', `internal error (a bug in vsd): ${what}`, { details: { what, ...details } });
  }
}

/** Throws {@link InternalError} naming `what` unless `condition` holds. */
export function invariant(condition: unknown, what: string | (() => string)): asserts condition {
  if (!condition) throw new InternalError(typeof what === 'function' ? what() : what);
}
