import type { ProxyContext } from './types.js';

/** "no destination available", counted every time and logged at most once a second per service (as the kernel rate-limits it). */
export class NoDestinationLog {
  private lastLog = 0;
  private suppressed = 0;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly service: string,
  ) {}

  hit(): void {
    this.ctx.counters.noDestination++;
    const now = Date.now();
    if (now - this.lastLog < 1000) {
      this.suppressed++;
      return;
    }
    this.ctx.log.warn({ service: this.service, suppressed: this.suppressed }, 'no destination available');
    this.lastLog = now;
    this.suppressed = 0;
  }
}
