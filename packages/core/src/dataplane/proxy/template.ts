/**
 * A persistence template (IP_VS_CONN_F_TEMPLATE): client network -> real server for one virtual service.
 * It lives while connections of that client use it and for the persistence timeout after the last one
 * ended; every new connection re-arms it (ip_vs_conn_put restarts the template's timer).
 */
import type { ProxyDest } from './types.js';

export class Template {
  conns = 0;
  expiresAt: number;
  /** Still counted in the destination's persistConns. */
  bound = true;

  constructor(
    /** The client address masked to the persistence granularity. */
    readonly key: string,
    public dest: ProxyDest,
    readonly timeoutMs: number,
    now: number,
  ) {
    this.expiresAt = now + timeoutMs;
  }

  attach(now: number): void {
    this.conns++;
    this.expiresAt = now + this.timeoutMs;
  }

  detach(now: number): void {
    this.conns--;
    if (this.conns === 0) this.expiresAt = now + this.timeoutMs;
  }
}
