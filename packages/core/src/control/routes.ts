/**
 * Routing for the control API: a flat list of routes, so the daemon's optional components (HA, agents,
 * health checks, peer sync) contribute their own endpoints without editing the core route table.
 */
import type { IncomingMessage } from 'node:http';
import { controlRoutes, type BodyOf, type HttpMethod, type Reply, type RouteContract, type RouteName } from '@vsd/protocol/control';
import { ControlProtocolError, invariant, VsdError } from '../errors.js';
import { parseWith } from '../model/schema.js';

export type { HttpMethod };

export interface RouteRequest<B = unknown> {
  /** Parsed JSON body (POST/PUT); undefined when the request had none. A declared route's body schema has run. */
  body: B;
  /** Values of `:name` segments of the route's path. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** "unix" or "tcp": which listener the request came in on; "internal": a read from inside the daemon (ControlServer.read). */
  via: 'unix' | 'tcp' | 'internal';
  /** Absent for internal reads. */
  raw?: IncomingMessage;
}

/** A non-JSON answer (Prometheus text) or a JSON answer with another status than 200. */
export class RawResponse {
  constructor(
    readonly body: string,
    readonly contentType = 'text/plain; charset=utf-8',
    readonly status = 200,
  ) {}
}

export interface ControlRoute {
  /** Its name in the contract (@vsd/protocol's controlRoutes); routes made with `route()` carry it. */
  name?: string;
  method: HttpMethod;
  /** "/v1/ha/failover", or with named segments: "/v1/agents/:id". */
  path: string;
  /** Its body limit, when the server's default (1 MiB) does not fit (a whole `vsadm -R` transaction). */
  maxBodyBytes?: number;
  /** The answer: any JSON value (200), or a RawResponse. Throwing a VsdError maps to its HTTP status. */
  handler(req: RouteRequest): unknown | Promise<unknown>;
}

/** What a declared route's handler may answer: its declared reply (a text route: a RawResponse). */
export type RouteAnswer<N extends RouteName> = (typeof controlRoutes)[N] extends { text: true } ? RawResponse : Reply<N>;
/** The body a handler sees: the body schema's output when the route declares one. */
type ParsedBody<N extends RouteName> = (typeof controlRoutes)[N] extends { body: infer S } ? (S extends { _output: infer O } ? O : unknown) : unknown;

/**
 * A route of the contract: method and path come from the table, the body is parsed with its schema before the
 * handler runs, and the handler's answer must be the declared reply type.
 */
export function route<N extends RouteName>(
  name: N,
  handler: (req: RouteRequest<ParsedBody<N>>) => RouteAnswer<N> | Promise<RouteAnswer<N>>,
  options: { maxBodyBytes?: number } = {},
): ControlRoute {
  const c: RouteContract = controlRoutes[name];
  const schema = c.body;
  return {
    name,
    method: c.method,
    path: c.path,
    ...options,
    handler: schema ? (req) => handler({ ...req, body: parseWith(schema, req.body ?? {}, 'body') }) : (handler as ControlRoute['handler']),
  };
}

/** Routes whose method and path the contract does not declare (the server refuses to register them). */
export function undeclaredRoutes(routes: readonly ControlRoute[], contract: Readonly<Record<string, RouteContract>> = controlRoutes): ControlRoute[] {
  const declared = Object.values(contract);
  return routes.filter((r) => !declared.some((c) => c.method === r.method && c.path === r.path));
}

export type { BodyOf };

interface Compiled {
  route: ControlRoute;
  segments: string[];
}

export class Router {
  private readonly routes: Compiled[] = [];

  add(routes: readonly ControlRoute[]): void {
    for (const route of routes) {
      invariant(
        !this.routes.some((c) => c.route.method === route.method && c.route.path === route.path),
        () => `control route ${route.method} ${route.path} is registered twice`,
      );
      this.routes.push({ route, segments: split(route.path) });
    }
  }

  remove(routes: readonly ControlRoute[]): void {
    for (const route of routes) {
      const i = this.routes.findIndex((c) => c.route === route);
      if (i >= 0) this.routes.splice(i, 1);
    }
  }

  /** The route for method+path; throws NO_ROUTE (404) or METHOD_NOT_ALLOWED (405). */
  match(method: string, path: string): { route: ControlRoute; params: Record<string, string> } {
    const segments = split(path);
    let pathKnown = false;
    for (const c of this.routes) {
      const params = matchSegments(c.segments, segments);
      if (!params) continue;
      if (c.route.method === method) return { route: c.route, params };
      pathKnown = true;
    }
    if (pathKnown) throw new ControlProtocolError('VSD_ERR_METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}`, { method, path });
    throw new ControlProtocolError('VSD_ERR_NO_ROUTE', `no such endpoint: ${path}`, { path });
  }
}

function split(path: string): string[] {
  return path.split('/').filter(Boolean);
}

function matchSegments(pattern: string[], actual: string[]): Record<string, string> | null {
  if (pattern.length !== actual.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p.startsWith(':')) params[p.slice(1)] = decodeURIComponent(actual[i]!);
    else if (p !== actual[i]) return null;
  }
  return params;
}

/** HTTP status for an error code, as docs/control-api.md documents it. */
const STATUS_BY_CODE: Record<string, number> = {
  VSD_ERR_BAD_REQUEST: 400,
  VSD_ERR_VALIDATION: 400,
  VSD_ERR_THRESHOLD_RANGE: 400,
  VSD_ERR_UNSUPPORTED_BY_DATAPLANE: 400,
  VSD_ERR_CONFIG: 400,
  VSD_ERR_UNAUTHORIZED: 401,
  VSD_ERR_SERVICE_NOT_FOUND: 404,
  VSD_ERR_REAL_SERVER_NOT_FOUND: 404,
  VSD_ERR_SCHEDULER_NOT_FOUND: 404,
  VSD_ERR_NO_DAEMON: 404,
  VSD_ERR_NO_ROUTE: 404,
  VSD_ERR_METHOD_NOT_ALLOWED: 405,
  VSD_ERR_SERVICE_EXISTS: 409,
  VSD_ERR_REAL_SERVER_EXISTS: 409,
  VSD_ERR_DAEMON_RUNNING: 409,
  VSD_ERR_NOT_MASTER: 409,
  VSD_ERR_HA_STATE: 409,
  VSD_ERR_HA_NOT_CONFIGURED: 404,
  VSD_ERR_HA_UNKNOWN_INSTANCE: 404,
  VSD_ERR_HA_RELOAD: 409,
  VSD_ERR_BGP_NOT_CONFIGURED: 404,
  VSD_ERR_BODY_TOO_LARGE: 413,
};

export function statusForError(err: unknown): number {
  return err instanceof VsdError ? (STATUS_BY_CODE[err.code] ?? 500) : 500;
}

/** The error document of the API: `{ error: { code, message, errno?, details } }`. */
export function errorBody(err: unknown): { error: ReturnType<VsdError['toJSON']> } {
  if (err instanceof VsdError) return { error: err.toJSON() };
  return { error: { code: 'VSD_ERR_INTERNAL', message: (err as Error)?.message ?? String(err), details: {} } };
}
