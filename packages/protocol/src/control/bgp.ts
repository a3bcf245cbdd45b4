/** The BGP announcer's document (GET /v1/bgp, POST /v1/bgp/drain|undrain, the `bgp` section of GET /v1/status). */

export type VipRouteState = 'announced' | 'withdrawn' | 'missing';

export interface BgpVipStatus {
  vip: string;
  /** The daemon-side name (BIRD: the static protocol). */
  route: string;
  servable: boolean;
  reason: string;
  /** What vsd wants the daemon to do now. */
  announce: boolean;
  /** What the daemon was last seen doing; unknown while it cannot be reached. */
  state: VipRouteState | 'unknown';
  /** ms since the epoch of the last change of `state`. */
  since: number;
  /** ms left of the hold-down (announce_delay) before a servable VIP is announced; 0 when none. */
  holdDownMs: number;
}

export interface BgpStatus {
  daemon: string;
  socket: string;
  /** null before the first pass. */
  reachable: boolean | null;
  error: { code: string; message: string; since: number } | null;
  drained: boolean;
  stopping: boolean;
  vips: BgpVipStatus[];
  /** The routing daemon's BGP sessions (all of them, not only vsd's). */
  sessions: Array<{ name: string; state: string; info: string }>;
  bfd: { expected: boolean; up: number; sessions: Array<{ address: string; iface: string; state: string }> };
  counters: { announcements: number; withdrawals: number; daemonErrors: number; passes: number };
  lastPassAt: number | null;
}
