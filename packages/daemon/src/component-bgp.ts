/**
 * N active dispatchers behind ECMP (vsd.yaml `bgp:`): each VIP this dispatcher can serve is announced through the
 * local routing daemon (BIRD 2, or FRR's bgpd), and withdrawn when it can no longer serve it (no real server with weight > 0),
 * on `vsctl bgp drain`, and first thing on shutdown (SIGTERM: withdraw, wait shutdown_delay, then the dataplane
 * drains). vsd drives the daemon; it does not speak BGP.
 *
 * Every change of the desired state or of the weights triggers a sync pass at once; a pass also runs every
 * check_interval, which re-asserts the routes after the daemon restarted or re-read its config (BIRD's `configure`
 * puts `disabled` protocols back to disabled) and retries a daemon that was down. A daemon that is down or refuses
 * is an error in the status and the log (once per distinct error), never a crash.
 * Routes: GET /v1/bgp, POST /v1/bgp/drain, POST /v1/bgp/undrain; the status also appears in GET /v1/status.
 */
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BgpNotConfiguredError, canonicalAddress, route, VsdError, type ControlRoute, type Logger } from '@vsd/core';
import { createBirdDaemon, type DaemonView, type RouteDaemon, type VipRouteState } from './bgp/bird-daemon.js';
import { createFrrDaemon } from './bgp/frr-daemon.js';
import { configuredVips, servability } from './bgp/servable.js';
import type { ComponentFactory, DaemonComponent, DaemonContext } from './component.js';
import type { BgpConfig } from './config.js';
export { DEFAULT_DAEMON_SOCKET } from './config.js';
import type { BgpVipStatus, BgpStatus } from '@vsd/protocol';
export type { BgpVipStatus, BgpStatus };

const DAEMON_TIMEOUT_MS = 2000;

function createDaemon(cfg: BgpConfig): RouteDaemon {
  return cfg.daemon === 'frr'
    ? createFrrDaemon({ socket: cfg.socket, timeoutMs: DAEMON_TIMEOUT_MS })
    : createBirdDaemon({ socket: cfg.socket, protocolPrefix: cfg.protocolPrefix, timeoutMs: DAEMON_TIMEOUT_MS });
}
/** Bound on the withdraw pass at shutdown: a hung daemon must not hold SIGTERM forever. */
const STOP_PASS_MS = 3000;

interface VipTrack {
  servable: boolean;
  reason: string;
  /** When it last became servable (the hold-down runs from here). */
  servableSince: number;
  state: VipRouteState | 'unknown';
  since: number;
}

/** Always present, so a reload can add or remove the `bgp:` section; without it the routes answer VSD_ERR_BGP_NOT_CONFIGURED. */
export const bgpComponent: ComponentFactory = () => new BgpComponent();

export class BgpComponent implements DaemonComponent {
  readonly name = 'bgp';
  private ctx!: DaemonContext;
  private log!: Logger;
  private cfg: BgpConfig | null = null;
  private daemon: RouteDaemon | null = null;
  private readonly vips = new Map<string, VipTrack>();
  /** VIPs dropped from the list by a reload, withdrawn by the next pass and then forgotten. */
  private readonly retired = new Map<string, RouteDaemon>();
  private drained = false;
  private stopping = false;
  private reachable: boolean | null = null;
  private error: BgpStatus['error'] = null;
  private view: DaemonView = { vips: new Map(), sessions: [], bfd: null };
  private readonly counters = { announcements: 0, withdrawals: 0, daemonErrors: 0, passes: 0 };
  private lastPassAt: number | null = null;
  private readonly missingLogged = new Set<string>();
  private bfdWarned = false;
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private holdTimer: NodeJS.Timeout | null = null;
  private unsubscribe: Array<() => void> = [];

  async start(ctx: DaemonContext): Promise<void> {
    this.ctx = ctx;
    this.log = ctx.logger.child({ component: 'bgp' });
    this.drained = this.drainFile() !== null && existsSync(this.drainFile()!);
    this.unsubscribe.push(ctx.store.subscribe(() => this.schedule()));
    this.unsubscribe.push(ctx.overlay.onChange(() => this.schedule()));
    ctx.addStatus?.('bgp', () => (this.cfg ? this.status() : undefined));
    this.configure(ctx.config.bgp ?? null);
    if (this.drained && this.cfg)
      this.log.warn({ file: this.drainFile() }, 'BGP drained (vsctl bgp drain before the restart): nothing is announced until vsctl bgp undrain');
    this.schedule();
    await this.idle();
  }

  async reload(ctx: DaemonContext): Promise<void> {
    this.ctx = ctx;
    this.configure(ctx.config.bgp ?? null);
    this.schedule();
    await this.idle();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const u of this.unsubscribe.splice(0)) u();
    this.clearTimers();
    if (!this.cfg) return;
    await this.idle();
    const wasAnnounced = [...this.vips.values()].some((v) => v.state === 'announced' || v.state === 'unknown');
    this.schedule();
    const done = this.idle().then(() => true);
    const timedOut = new Promise<boolean>((r) => setTimeout(() => r(false), STOP_PASS_MS).unref());
    if (!(await Promise.race([done, timedOut]))) this.log.error({ socket: this.cfg.socket }, 'BGP withdraw at shutdown did not finish in time');
    const withdrawn = [...this.vips.values()].every((v) => v.state !== 'announced' && v.state !== 'unknown');
    const delayMs = this.cfg.shutdownDelayMs;
    if (wasAnnounced && withdrawn && delayMs > 0) {
      // The log says seconds, as bgp.shutdown_delay does.
      this.log.info({ shutdownDelay: delayMs / 1000 }, 'VIPs withdrawn; waiting for the router before draining connections');
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }

  routes(): readonly ControlRoute[] {
    const configured = () => {
      if (!this.cfg) throw new BgpNotConfiguredError();
    };
    return [
      route('bgp', () => (configured(), this.status())),
      route('bgp.drain', () => (configured(), this.setDrained(true))),
      route('bgp.undrain', () => (configured(), this.setDrained(false))),
    ];
  }

  status(): BgpStatus {
    const cfg = this.cfg!;
    const now = Date.now();
    const bfd = this.view.bfd ?? [];
    return {
      daemon: cfg.daemon,
      socket: cfg.socket,
      reachable: this.reachable,
      error: this.error,
      drained: this.drained,
      stopping: this.stopping,
      vips: [...this.vips].map(([vip, t]) => ({
        vip,
        route: this.daemon!.routeName(vip),
        servable: t.servable,
        reason: this.drained ? 'drained (vsctl bgp drain)' : this.stopping ? 'vsd is stopping' : t.reason,
        announce: this.wants(t, now),
        state: t.state,
        since: t.since,
        holdDownMs: t.servable && !this.wants(t, now) && !this.drained && !this.stopping ? Math.max(0, this.holdDownLeft(t, now)) : 0,
      })),
      sessions: this.view.sessions,
      bfd: { expected: cfg.bfd, up: bfd.filter((s) => s.state.toLowerCase() === 'up').length, sessions: bfd },
      counters: { ...this.counters },
      lastPassAt: this.lastPassAt,
    };
  }

  private async setDrained(drained: boolean): Promise<BgpStatus> {
    const file = this.drainFile();
    if (file) {
      if (drained) await writeFile(file, `drained by vsctl bgp drain at ${new Date().toISOString()}\n`);
      else await rm(file, { force: true });
    }
    if (drained !== this.drained)
      this.log.warn({ drained }, drained ? 'BGP drain: withdrawing every VIP' : 'BGP undrain: announcing the VIPs that can be served');
    this.drained = drained;
    // An undrain announces at once: the operator asked for it, the hold-down is for flapping health.
    if (!drained) for (const t of this.vips.values()) t.servableSince = Math.min(t.servableSince, Date.now() - this.cfg!.announceDelayMs);
    this.schedule();
    await this.idle();
    return this.status();
  }

  /** Kept next to the state file, so a drain survives a restart of vsd (maintenance across an upgrade). */
  private drainFile(): string | null {
    return this.ctx.statePath ? join(dirname(this.ctx.statePath), 'bgp-drained') : null;
  }

  private configure(next: BgpConfig | null): void {
    const prev = this.daemon;
    const vips = next ? (next.vips ?? configuredVips(this.ctx.loaded.services)).map((v) => canonicalAddress(v) ?? v) : [];
    const sameDaemon =
      prev && next && this.cfg && this.cfg.daemon === next.daemon && this.cfg.socket === next.socket && this.cfg.protocolPrefix === next.protocolPrefix;
    // VIPs leaving (or all of them, when the daemon or the naming changes) are withdrawn through the daemon that announced them.
    for (const vip of this.vips.keys()) if (prev && (!sameDaemon || !vips.includes(vip))) this.retired.set(vip, prev);
    for (const vip of [...this.vips.keys()]) if (!vips.includes(vip) || !sameDaemon) this.vips.delete(vip);
    this.cfg = next;
    this.daemon = next ? (sameDaemon ? prev : createDaemon(next)) : null;
    const now = Date.now();
    for (const vip of vips) {
      this.retired.delete(vip);
      if (!this.vips.has(vip)) this.vips.set(vip, { servable: false, reason: 'not checked yet', servableSince: now, state: 'unknown', since: now });
    }
    if (this.timer) clearInterval(this.timer);
    this.timer = next ? setInterval(() => this.schedule(), next.checkIntervalMs) : null;
    this.timer?.unref();
    if (next)
      this.log.info({ daemon: next.daemon, socket: next.socket, vips, bfd: next.bfd, announceDelay: next.announceDelayMs / 1000 }, 'BGP announcer configured');
  }

  private wants(t: VipTrack, now: number): boolean {
    return t.servable && !this.drained && !this.stopping && this.holdDownLeft(t, now) <= 0;
  }

  private holdDownLeft(t: VipTrack, now: number): number {
    return t.servableSince + (this.cfg?.announceDelayMs ?? 0) - now;
  }

  private schedule(): void {
    if (!this.cfg && this.retired.size === 0) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.pass();
      } while (this.again);
      this.running = null;
    })();
  }

  private async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async pass(): Promise<void> {
    const now = Date.now();
    const seen = servability(this.ctx, [...this.vips.keys()]);
    let nextHold = Infinity;
    for (const [vip, t] of this.vips) {
      const s = seen.get(vip)!;
      if (s.servable && !t.servable) t.servableSince = now;
      t.servable = s.servable;
      t.reason = s.reason;
      const left = this.holdDownLeft(t, now);
      if (t.servable && left > 0) nextHold = Math.min(nextHold, left);
    }
    if (nextHold !== Infinity && !this.stopping) {
      if (this.holdTimer) clearTimeout(this.holdTimer);
      this.holdTimer = setTimeout(() => this.schedule(), nextHold + 5);
      this.holdTimer.unref();
    }
    await this.syncRetired();
    if (!this.daemon || !this.cfg) return;
    const want = new Map([...this.vips].map(([vip, t]) => [vip, this.wants(t, now)]));
    try {
      const view = await this.daemon.sync(want, this.cfg.bfd);
      this.view = view;
      this.lastPassAt = Date.now();
      this.counters.passes++;
      if (this.reachable === false) this.log.info({ socket: this.cfg.socket }, 'BGP daemon answers again');
      this.reachable = true;
      this.error = null;
      for (const [vip, t] of this.vips) this.observe(vip, t, view.vips.get(vip) ?? 'unknown');
      this.checkBfd(view);
    } catch (err) {
      this.failed(err);
      for (const [vip, t] of this.vips) this.observe(vip, t, 'unknown');
    }
  }

  private async syncRetired(): Promise<void> {
    for (const [vip, daemon] of [...this.retired]) {
      try {
        await daemon.sync(new Map([[vip, false]]), false);
        this.retired.delete(vip);
        this.log.info({ vip, route: daemon.routeName(vip) }, 'VIP withdrawn: no longer in the bgp: section');
      } catch (err) {
        this.failed(err);
      }
    }
  }

  private observe(vip: string, t: VipTrack, state: VipTrack['state']): void {
    if (state === 'missing' && !this.missingLogged.has(vip)) {
      this.missingLogged.add(vip);
      this.log.error(
        { vip, route: this.daemon!.routeName(vip), socket: this.cfg!.socket },
        `the routing daemon has no protocol ${this.daemon!.routeName(vip)} for this VIP: add it to its config (docs/bgp.md); nothing is announced for it`,
      );
    }
    if (state !== 'missing') this.missingLogged.delete(vip);
    if (state === t.state) return;
    const prev = t.state;
    t.state = state;
    t.since = Date.now();
    if (state === 'announced') {
      this.counters.announcements++;
      this.log.info({ vip, route: this.daemon!.routeName(vip), reason: t.reason }, 'VIP announced');
    } else if (state === 'withdrawn' && prev !== 'unknown' && prev !== 'missing') {
      this.counters.withdrawals++;
      const reason = this.drained ? 'drained' : this.stopping ? 'vsd is stopping' : t.reason;
      this.log.warn({ vip, route: this.daemon!.routeName(vip), reason }, 'VIP withdrawn');
    }
  }

  private checkBfd(view: DaemonView): void {
    if (!this.cfg!.bfd || !view.bfd) return;
    const up = view.bfd.filter((s) => s.state.toLowerCase() === 'up').length;
    if (up === 0 && !this.bfdWarned)
      this.log.warn(
        { socket: this.cfg!.socket, sessions: view.bfd.length },
        'bgp.bfd is on but the daemon has no BFD session up: a dead dispatcher is then seen only at the BGP hold time',
      );
    this.bfdWarned = up === 0;
  }

  private failed(err: unknown): void {
    this.counters.daemonErrors++;
    const code = err instanceof VsdError ? err.code : 'VSD_ERR_BGP_DAEMON';
    const message = (err as Error).message;
    if (this.error?.message !== message) {
      this.log.error(
        { err, socket: this.cfg?.socket, retryIn: this.cfg ? this.cfg.checkIntervalMs / 1000 : undefined },
        'BGP daemon unavailable: routes not changed, retrying',
      );
      this.error = { code, message, since: Date.now() };
    }
    this.reachable = false;
  }

  private clearTimers(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.holdTimer) clearTimeout(this.holdTimer);
    this.timer = this.holdTimer = null;
  }
}
