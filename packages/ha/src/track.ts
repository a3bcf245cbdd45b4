/**
 * keepalived's trackers: track_interface (link down = FAULT, or a weight) and vrrp_script (interval, timeout,
 * rise, fall, weight). They only report; the instance turns their states into FAULT or an effective priority.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { TimerHandle, Timers } from './vrrp/state-machine.js';

/** true when the interface is up with carrier. Reads /sys/class/net/IF/{operstate,carrier}. */
export async function sysfsLinkUp(ifname: string): Promise<boolean> {
  try {
    const oper = (await readFile(`/sys/class/net/${ifname}/operstate`, 'utf8')).trim();
    if (oper === 'up') return true;
    // Loopback, dummy and some virtual devices report "unknown"; their carrier file is what counts.
    if (oper !== 'unknown') return false;
    return (await readFile(`/sys/class/net/${ifname}/carrier`, 'utf8')).trim() === '1';
  } catch {
    return false;
  }
}

/** Runs a command without a shell; resolves its exit code (timeout or spawn failure = 1... 255 style failure). */
export function runCommand(command: string, args: string[], timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err) => {
      if (!err) return resolve(0);
      const code = (err as { code?: unknown }).code;
      resolve(typeof code === 'number' ? code : 255);
    });
  });
}

export interface Tracker {
  readonly name: string;
  readonly weight: number;
  /** Current verdict: true = ok. */
  readonly ok: boolean;
  start(): void;
  stop(): void;
}

/** Samples a link every `intervalMs`; reports changes only. */
export class InterfaceTracker implements Tracker {
  private okValue = true;
  private timer: TimerHandle | undefined;
  private running = false;

  constructor(
    readonly name: string,
    readonly weight: number,
    private readonly intervalMs: number,
    private readonly timers: Timers,
    private readonly linkUp: (ifname: string) => Promise<boolean> | boolean,
    private readonly onChange: () => void,
  ) {}

  get ok(): boolean {
    return this.okValue;
  }

  /** First sample before start() resolves, so an instance on a down link starts in FAULT. */
  async prime(): Promise<void> {
    this.okValue = await this.linkUp(this.name);
  }

  start(): void {
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
  }

  private schedule(): void {
    this.timer = this.timers.setTimeout(async () => {
      const up = await this.linkUp(this.name);
      if (!this.running) return;
      if (up !== this.okValue) {
        this.okValue = up;
        this.onChange();
      }
      this.schedule();
    }, this.intervalMs);
  }
}

export interface ScriptTrackerOptions {
  name: string;
  script: string;
  intervalMs: number;
  timeoutMs: number;
  weight: number;
  rise: number;
  fall: number;
  initFail: boolean;
}

/** vrrp_script: `fall` consecutive failures make it fail, `rise` consecutive successes make it ok. */
export class ScriptTracker implements Tracker {
  private okValue: boolean;
  private streak = 0;
  private timer: TimerHandle | undefined;
  private running = false;

  constructor(
    private readonly options: ScriptTrackerOptions,
    private readonly timers: Timers,
    private readonly run: (command: string, args: string[], timeoutMs: number) => Promise<number>,
    private readonly onChange: () => void,
  ) {
    this.okValue = !options.initFail;
  }

  get name(): string {
    return this.options.name;
  }
  get weight(): number {
    return this.options.weight;
  }
  get ok(): boolean {
    return this.okValue;
  }

  start(): void {
    this.running = true;
    this.schedule(0);
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
  }

  /** Feeds one result (exported for tests and for the scheduler below). */
  record(success: boolean): void {
    if (success === this.okValue) {
      this.streak = 0;
      return;
    }
    this.streak++;
    if (this.streak >= (success ? this.options.rise : this.options.fall)) {
      this.okValue = success;
      this.streak = 0;
      this.onChange();
    }
  }

  private schedule(ms: number): void {
    this.timer = this.timers.setTimeout(async () => {
      const [command, ...args] = this.options.script.split(/\s+/).filter(Boolean);
      const code = await this.run(command, args, this.options.timeoutMs);
      if (!this.running) return;
      this.record(code === 0);
      this.schedule(this.options.intervalMs);
    }, ms);
  }
}

/**
 * keepalived's rule: weight-0 trackers that fail mean FAULT; others add (ok, positive weight) or subtract
 * (failed, negative weight); the result is clamped to 1..254, and a configured 255 never changes.
 */
export function effectivePriority(base: number, trackers: readonly Tracker[]): { priority: number; fault: boolean } {
  const fault = trackers.some((t) => t.weight === 0 && !t.ok);
  if (base === 255) return { priority: 255, fault };
  let p = base;
  for (const t of trackers) {
    if (t.weight > 0 && t.ok) p += t.weight;
    if (t.weight < 0 && !t.ok) p += t.weight;
  }
  return { priority: Math.min(254, Math.max(1, p)), fault };
}
