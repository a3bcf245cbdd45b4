/**
 * Messages between the primary (accepts, schedules, keeps counters and the connection table) and the
 * forwarding worker processes (connect to the real server, move the bytes). Kept small: a handful per
 * connection plus one batched statistics message per worker every STATS_FLUSH_MS.
 */
export const STATS_FLUSH_MS = 250;

/**
 * Primary -> worker. `l` comes with a listening socket as the IPC handle (sent once per service and worker);
 * `u` stops accepting on it; `r` names the real server for a connection (first choice or retry).
 */
export type ToWorker =
  | { t: 'l'; key: string; ct: number }
  | { t: 'u'; key: string }
  | { t: 'r'; id: number; host: string; port: number; pp: string | null }
  | { t: 'x'; id: number }
  | { t: 'k'; id: number };

/** Worker -> primary. `s` carries [id, inPkts, inBytes, outPkts, outBytes] deltas, flattened. */
export type FromWorker =
  | { t: 'ready' }
  | { t: 'a'; id: number; key: string; caddr: string; cport: number; laddr: string; lport: number }
  | { t: 'e'; id: number }
  | { t: 'f'; id: number; reason: string }
  | { t: 'w'; id: number }
  | { t: 's'; d: number[] }
  | { t: 'd'; id: number; d: number[] };
