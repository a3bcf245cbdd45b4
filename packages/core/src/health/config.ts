/**
 * Health-check configuration: keepalived's keywords (check_parser.c) as YAML keys, with keepalived's defaults.
 * Durations are seconds and accept fractions; the parsed specs carry milliseconds.
 * `checksConfigSchema` is what a real server's `checks:` list is validated with at the config boundary.
 */
import { z } from 'zod';
import { ValidationError } from '../errors.js';
import { canonicalAddress } from '../model/address.js';
import { strictObject as strictObjectWithHints } from '../model/strict.js';
import { parseWith } from '../model/schema.js';
import { DEFAULT_CONNECT_TIMEOUT, DEFAULT_DELAY_BEFORE_RETRY, DEFAULT_DELAY_BEFORE_RETRY_HTTP, DEFAULT_RETRY, DEFAULT_RETRY_MISC } from './constants.js';
import { parseStatusCodes, type StatusRange } from './status-codes.js';

const seconds = z.number().finite().positive().max(86_400);
const port = z.number().int().min(1).max(65535);
const address = z.string().refine((s) => canonicalAddress(s) !== null, 'not an IPv4 or IPv6 address');
const count = z.number().int().min(1).max(1000);

/**
 * An object that refuses unknown keys before anything else, naming the key and the nearest known one
 * ("conect_timeout: unknown key, did you mean connect_timeout?"); a checker option written beside its checker
 * block instead of inside it is pointed there.
 */
function strictObject<T extends z.ZodRawShape>(shape: T) {
  return strictObjectWithHints(shape, { hint: insideCheckerHint });
}

function insideCheckerHint(key: string, known: readonly string[]): string | null {
  return known.includes('tcp_check') && INNER_KEYS.has(key) ? ', it belongs inside the checker block (tcp_check, http_get, ssl_get, misc_check)' : null;
}

const statusCodes = z.union([z.number(), z.string(), z.array(z.union([z.number(), z.string()]))]).transform((v, ctx) => {
  try {
    return parseStatusCodes(v);
  } catch (err) {
    // The issue's path names the field; the reason alone reads right after it.
    ctx.addIssue({ code: 'custom', message: err instanceof ValidationError ? String(err.details.reason) : (err as Error).message });
    return z.NEVER;
  }
});

const connectTarget = { connect_ip: address.optional(), connect_port: port.optional() };

const tcpCheck = strictObject({ ...connectTarget });

const httpFields = {
  ...connectTarget,
  path: z.string().startsWith('/', 'a path starts with /').default('/'),
  status_code: statusCodes.optional(),
  digest: z
    .string()
    .regex(/^[0-9a-fA-F]{32}$/, 'an MD5 digest is 32 hex characters')
    .transform((s) => s.toLowerCase())
    .optional(),
  virtualhost: z.string().min(1).max(255).optional(),
};
const httpGet = strictObject(httpFields);
const sslFields = {
  ...httpFields,
  sni_name: z.string().min(1).max(255).optional(),
  enable_sni: z.boolean().default(false),
  verify: z.boolean().default(false),
  /** PEM file of the CA to verify against (keepalived's `SSL { ca }`); the system store when absent. */
  ca: z.string().min(1).optional(),
};
const sslGet = strictObject(sslFields);
const miscFields = {
  misc_path: z.string().min(1),
  misc_timeout: seconds.optional(),
  misc_dynamic: z.boolean().default(false),
};
const miscCheck = strictObject(miscFields);

const KINDS = ['tcp_check', 'http_get', 'ssl_get', 'misc_check'] as const;
const INNER_KEYS = new Set([...Object.keys(sslFields), ...Object.keys(miscFields)]);

const checkFields = {
  tcp_check: tcpCheck.optional(),
  http_get: httpGet.optional(),
  ssl_get: sslGet.optional(),
  misc_check: miscCheck.optional(),
  connect_timeout: seconds.optional(),
  retry: z.number().int().min(0).max(100).optional(),
  /** keepalived's deprecated HTTP alias of `retry`. */
  nb_get_retry: z.number().int().min(0).max(100).optional(),
  delay_before_retry: seconds.optional(),
  delay_loop: seconds.optional(),
  warmup: z.number().finite().min(0).max(86_400).optional(),
  rise: count.default(1),
  fall: count.default(1),
};
const checkObject = strictObject(checkFields).superRefine((c, ctx) => {
  const kinds = KINDS.filter((k) => c[k] !== undefined);
  if (kinds.length !== 1) ctx.addIssue({ code: 'custom', message: `a check has exactly one of ${KINDS.join(', ')} (got ${kinds.join(', ') || 'none'})` });
});

export type CheckKind = 'tcp' | 'http' | 'https' | 'misc';

interface CheckCommon {
  /** Milliseconds for the whole check (connect, request, answer). */
  connectTimeoutMs: number;
  retry: number;
  delayBeforeRetryMs: number;
  /** Own interval; the virtual server's delay_loop applies when absent. */
  delayLoopMs?: number;
  /** Random delay up to this before the first check; a deterministic spread over the interval when absent. */
  warmupMs?: number;
  rise: number;
  fall: number;
}

export interface TcpCheckSpec extends CheckCommon {
  kind: 'tcp';
  connectIp?: string;
  connectPort?: number;
}

export interface HttpCheckSpec extends CheckCommon {
  kind: 'http' | 'https';
  connectIp?: string;
  connectPort?: number;
  path: string;
  /** Accepted status codes; keepalived's default is 200-299. */
  statusCodes: StatusRange[];
  digest?: string;
  virtualhost?: string;
  sniName?: string;
  enableSni: boolean;
  verify: boolean;
  ca?: string;
}

export interface MiscCheckSpec extends CheckCommon {
  kind: 'misc';
  path: string;
  /** Absent: the check's interval (keepalived: misc_timeout defaults to delay_loop). */
  timeoutMs?: number;
  dynamic: boolean;
}

export type CheckSpec = TcpCheckSpec | HttpCheckSpec | MiscCheckSpec;

const ms = (s: number | undefined): number | undefined => (s === undefined ? undefined : Math.round(s * 1000));

const checkSchema = checkObject.transform((c): CheckSpec => {
  const kind: CheckKind = c.tcp_check ? 'tcp' : c.http_get ? 'http' : c.ssl_get ? 'https' : 'misc';
  const web = kind === 'http' || kind === 'https';
  const common: CheckCommon = {
    connectTimeoutMs: ms(c.connect_timeout ?? DEFAULT_CONNECT_TIMEOUT)!,
    retry: c.retry ?? c.nb_get_retry ?? (kind === 'misc' ? DEFAULT_RETRY_MISC : DEFAULT_RETRY),
    delayBeforeRetryMs: ms(c.delay_before_retry ?? (web ? DEFAULT_DELAY_BEFORE_RETRY_HTTP : DEFAULT_DELAY_BEFORE_RETRY))!,
    delayLoopMs: ms(c.delay_loop),
    warmupMs: ms(c.warmup),
    rise: c.rise,
    fall: c.fall,
  };
  if (c.tcp_check) return { kind: 'tcp', ...common, connectIp: c.tcp_check.connect_ip, connectPort: c.tcp_check.connect_port };
  if (c.misc_check)
    return { kind: 'misc', ...common, path: c.misc_check.misc_path, timeoutMs: ms(c.misc_check.misc_timeout), dynamic: c.misc_check.misc_dynamic };
  const h = (c.http_get ?? c.ssl_get)!;
  const s = c.ssl_get;
  return {
    kind: kind as 'http' | 'https',
    ...common,
    connectIp: h.connect_ip,
    connectPort: h.connect_port,
    path: h.path,
    statusCodes: h.status_code ?? [[200, 299]],
    digest: h.digest,
    virtualhost: h.virtualhost,
    sniName: s?.sni_name,
    enableSni: s?.enable_sni ?? false,
    verify: s?.verify ?? false,
    ca: s?.ca,
  };
});

/** A real server's `checks:` list (all must pass for the real server to be alive). */
export const checksConfigSchema = z.array(checkSchema).max(64).default([]);
export type ChecksConfig = z.input<typeof checksConfigSchema>;

/** Parse a `checks:` list; a bad value throws a ValidationError naming `prefix.N.field` and the value. */
export function parseChecks(input: unknown, prefix = 'checks'): CheckSpec[] {
  return parseWith(checksConfigSchema, input, prefix);
}

/** "IP:PORT" or "[IPv6]:PORT" (keepalived's `sorry_server IP PORT` is also accepted with a space). */
export function parseAddressPort(text: string, field: string): { address: string; port: number } {
  const m = /^\[([0-9a-fA-F:.]+)\][: ](\d+)$/.exec(text) ?? /^([0-9.]+)[: ](\d+)$/.exec(text);
  const addr = m ? canonicalAddress(m[1]!) : null;
  const p = m ? Number(m[2]) : NaN;
  if (!m || addr === null || !(p >= 1 && p <= 65535)) throw new ValidationError(field, text, 'expected ADDRESS:PORT ([v6]:PORT for IPv6)');
  return { address: addr, port: p };
}

/**
 * The health keys of a virtual server (keepalived names). A config schema spreads these fields into its
 * virtual-server object; `parseVirtualServerHealth` validates them alone.
 */
export const virtualServerHealthFields = {
  delay_loop: seconds.optional(),
  quorum: z.number().int().min(0).max(0x7fffffff).optional(),
  hysteresis: z.number().int().min(0).max(0x7fffffff).optional(),
  sorry_server: z
    .string()
    .refine((s) => /^(?:\[[0-9a-fA-F:.]+\]|[0-9.]+)[: ]\d+$/.test(s) && validAddressPort(s), 'expected ADDRESS:PORT ([v6]:PORT for IPv6)')
    .optional(),
  inhibit_on_failure: z.boolean().optional(),
  alpha: z.boolean().optional(),
  omega: z.boolean().optional(),
  /** Commands run (by /bin/sh) when the service gains / loses quorum. */
  quorum_up: z.string().min(1).optional(),
  quorum_down: z.string().min(1).optional(),
};
export const virtualServerHealthSchema = z.object(virtualServerHealthFields).passthrough();
export type VirtualServerHealthConfig = z.output<typeof virtualServerHealthSchema>;

function validAddressPort(text: string): boolean {
  try {
    parseAddressPort(text, 'sorry_server');
    return true;
  } catch {
    return false;
  }
}
