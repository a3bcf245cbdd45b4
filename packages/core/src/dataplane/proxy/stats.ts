/**
 * Cumulative counters and the 2-second rate estimator of one virtual service or real server, as IPVS keeps
 * them (ip_vs_est.c). Every 2 s the estimator takes the delta of each counter, scales it (conns and packets
 * << 9, bytes << 4, i.e. per-second values in fixed point with 10 and 5 fractional bits) and moves the
 * average a quarter of the way towards it: avg += (rate - avg) >> 2. Reading rounds the fixed point back.
 */
import { zeroCounters, type Counters } from '../types.js';

export class Stats {
  conns = 0;
  inPkts = 0;
  outPkts = 0;
  inBytes = 0;
  outBytes = 0;
  // Estimator state in the kernel's fixed-point units.
  private lastConns = 0;
  private lastInPkts = 0;
  private lastOutPkts = 0;
  private lastInBytes = 0;
  private lastOutBytes = 0;
  private cps = 0;
  private inPps = 0;
  private outPps = 0;
  private inBps = 0;
  private outBps = 0;

  /** One estimation_timer() pass; call every 2 seconds. */
  tick(): void {
    this.cps = ewma(this.cps, (this.conns - this.lastConns) * 512);
    this.inPps = ewma(this.inPps, (this.inPkts - this.lastInPkts) * 512);
    this.outPps = ewma(this.outPps, (this.outPkts - this.lastOutPkts) * 512);
    this.inBps = ewma(this.inBps, (this.inBytes - this.lastInBytes) * 16);
    this.outBps = ewma(this.outBps, (this.outBytes - this.lastOutBytes) * 16);
    this.lastConns = this.conns;
    this.lastInPkts = this.inPkts;
    this.lastOutPkts = this.outPkts;
    this.lastInBytes = this.inBytes;
    this.lastOutBytes = this.outBytes;
  }

  /** ip_vs_zero_stats: counters and the estimator restart from zero. */
  zero(): void {
    this.conns = this.inPkts = this.outPkts = this.inBytes = this.outBytes = 0;
    this.lastConns = this.lastInPkts = this.lastOutPkts = this.lastInBytes = this.lastOutBytes = 0;
    this.cps = this.inPps = this.outPps = this.inBps = this.outBps = 0;
  }

  snapshot(): Counters {
    const c = zeroCounters();
    c.conns = this.conns;
    c.inPkts = this.inPkts;
    c.outPkts = this.outPkts;
    c.inBytes = this.inBytes;
    c.outBytes = this.outBytes;
    // ip_vs_read_estimator: round to nearest on the way out of fixed point.
    c.cps = Math.floor((this.cps + 0x1ff) / 1024);
    c.inPps = Math.floor((this.inPps + 0x1ff) / 1024);
    c.outPps = Math.floor((this.outPps + 0x1ff) / 1024);
    c.inBps = Math.floor((this.inBps + 0xf) / 32);
    c.outBps = Math.floor((this.outBps + 0xf) / 32);
    return c;
  }
}

/** avg += (rate - avg) >> 2 on a signed 64-bit value: an arithmetic shift rounds towards minus infinity. */
function ewma(avg: number, rate: number): number {
  return avg + Math.floor((rate - avg) / 4);
}

/** The one 2-second timer that ticks every live Stats, like the kernel's per-netns estimator list. */
export class Estimator {
  private readonly members = new Set<Stats>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs = 2000) {}

  add(stats: Stats): void {
    this.members.add(stats);
  }

  delete(stats: Stats): void {
    this.members.delete(stats);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  tick(): void {
    for (const s of this.members) s.tick();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
