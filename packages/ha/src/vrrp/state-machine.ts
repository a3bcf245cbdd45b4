/**
 * The VRRP router state machine of RFC 5798 §6.4 (RFC 3768 §6.4 for v2), plus keepalived's FAULT state
 * and the operator actions resign/takeover/release. It does no I/O: adverts go out through `hooks.send`,
 * time comes from an injected `Timers`, so tests walk every transition on a fake clock.
 */
import { compareAddresses } from './addr.js';
import type { VrrpAdvert } from './codec.js';
import type { VrrpState, TransitionReason, Transition } from '@vsd/protocol';
export type { VrrpState, TransitionReason, Transition };

export type TimerHandle = unknown;

/** The clock and timers the machine runs on; the real one wraps setTimeout, tests pass a fake. */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemTimers: Timers = {
  now: () => performance.timeOrigin + performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface StateMachineOptions {
  version: 2 | 3;
  /** Configured priority 1..255 (255 = address owner). */
  priority: number;
  /** Advertisement_Interval in centiseconds (v2: whole seconds x 100). */
  intervalCs: number;
  preempt: boolean;
  preemptDelayMs: number;
  /** Our primary address, for the equal-priority tie-break. */
  primaryAddress: string;
  /** RFC 9568 change 5 / keepalived default: a master answers a lower-priority advert with its own. */
  lowerPriorityAdvert?: boolean;
  /** keepalived `higher_prio_send_advert`: a master yielding to a higher priority sends one advert of its own first. */
  higherPriorityAdvert?: boolean;
  /** keepalived `down_timer_adverts`; RFC value 3. */
  downTimerAdverts?: number;
  /** The split-brain guard (witness/): MASTER only while the gate allows it. */
  gate?: MasterGateView;
}

/** What the machine needs of the witness's gate (witness/witness.ts MasterGate); the instance forwards its changes to gateChanged(). */
export interface MasterGateView {
  allowed(): boolean;
  canContend(): boolean;
  want(wanted: boolean): void;
}

export interface StateMachineHooks {
  /** Send one advert with this priority (0 = resigning). */
  send(priority: number): void;
  transition(t: Transition): void;
  /** A master heard an advert it outranks (keepalived logs "forcing new election"). */
  lowerPriorityHeard?(src: string, priority: number): void;
  /** Would be MASTER now but the gate is closed: waiting for the witnesses' votes (stays BACKUP). */
  contending?(reason: TransitionReason): void;
}

export class VrrpStateMachine {
  private stateValue: VrrpState = 'INIT';
  private effectivePriority: number;
  private masterAdverIntervalCs: number;
  private adverTimer: TimerHandle | undefined;
  private masterDownTimer: TimerHandle | undefined;
  private preemptDeadline: number | undefined;
  private fault = false;
  /** After resign(): behave as nopreempt until release() or until we are master again. */
  private resignHold = false;
  /** After takeover(): advertise this priority until release(), resign() or a loss. */
  private takeoverPriority: number | undefined;
  private masterAddressValue: string | undefined;
  private lastMasterPriority = 0;
  private lastTransitionValue: Transition | undefined;
  /** Set while the machine would be MASTER but waits for the gate (the reason it would have become MASTER). */
  private contendReason: TransitionReason | undefined;
  private contendTimer: TimerHandle | undefined;

  constructor(
    private options: StateMachineOptions,
    private readonly hooks: StateMachineHooks,
    private readonly timers: Timers = systemTimers,
  ) {
    this.effectivePriority = options.priority;
    this.masterAdverIntervalCs = options.intervalCs;
  }

  get state(): VrrpState {
    return this.stateValue;
  }
  /** Priority used in elections (configured priority adjusted by trackers). */
  get priority(): number {
    return this.effectivePriority;
  }
  /** Priority carried in our adverts (raised while a takeover is held). */
  get advertisedPriority(): number {
    return this.takeoverPriority ?? this.effectivePriority;
  }
  get masterAddress(): string | undefined {
    return this.stateValue === 'MASTER' ? this.options.primaryAddress : this.masterAddressValue;
  }
  get lastTransition(): Transition | undefined {
    return this.lastTransitionValue;
  }
  get holds(): { resign: boolean; takeover: boolean } {
    return { resign: this.resignHold, takeover: this.takeoverPriority !== undefined };
  }
  get masterAdverInterval(): number {
    return this.masterAdverIntervalCs;
  }
  /** Waiting for the witnesses' votes to become MASTER. */
  get contending(): boolean {
    return this.contendReason !== undefined;
  }

  /** Skew_Time in ms: v2 (256-P)/256 s; v3 ((256-P) x Master_Adver_Interval)/256 (RFC 5798 §6.1). */
  skewMs(): number {
    const p = this.effectivePriority;
    return this.options.version === 2 ? ((256 - p) * 1000) / 256 : ((256 - p) * this.masterAdverIntervalCs * 10) / 256;
  }

  /** Master_Down_Interval in ms: 3 x interval + Skew_Time. */
  masterDownMs(): number {
    const n = this.options.downTimerAdverts ?? 3;
    const intervalCs = this.options.version === 2 ? this.options.intervalCs : this.masterAdverIntervalCs;
    return n * intervalCs * 10 + this.skewMs();
  }

  /**
   * New settings for a running machine (config reload), without leaving the current state: a MASTER stays MASTER
   * (and advertises the new interval/priority at once), a BACKUP keeps its Master_Down_Timer until the next advert.
   * The effective priority is the caller's to set (trackers adjust the configured one).
   */
  reconfigure(
    next: Partial<Pick<StateMachineOptions, 'priority' | 'intervalCs' | 'preempt' | 'preemptDelayMs' | 'lowerPriorityAdvert' | 'higherPriorityAdvert'>>,
  ): void {
    const intervalChanged = next.intervalCs !== undefined && next.intervalCs !== this.options.intervalCs;
    this.options = { ...this.options, ...next };
    if (!this.options.preempt || this.options.preemptDelayMs === 0) this.preemptDeadline = undefined;
    if (this.stateValue === 'MASTER' && intervalChanged) {
      this.hooks.send(this.advertisedPriority);
      this.armAdverTimer();
    }
    // v2 (and v3 before any advert was heard) times the master by its own interval.
    if (intervalChanged && this.stateValue === 'BACKUP' && (this.options.version === 2 || this.masterAddressValue === undefined)) {
      this.masterAdverIntervalCs = this.options.intervalCs;
    }
  }

  /** A MASTER sends one advert now (after a reload changed what it advertises) instead of at the next tick. */
  advertiseNow(): void {
    if (this.stateValue !== 'MASTER') return;
    this.hooks.send(this.advertisedPriority);
    this.armAdverTimer();
  }

  /** Startup event (§6.4.1). */
  start(): void {
    if (this.stateValue !== 'INIT' && this.stateValue !== 'STOP') return;
    this.enterFromInit('startup');
  }

  /** Shutdown event: a master sends priority 0 first (§6.4.3). */
  stop(): void {
    if (this.stateValue === 'STOP') return;
    if (this.stateValue === 'MASTER') this.hooks.send(0);
    this.cancelTimers();
    this.stopContending();
    this.options.gate?.want(false);
    this.go('STOP', 'shutdown');
  }

  /** A received advert that passed every receive check (§7.1). */
  receive(advert: VrrpAdvert, src: string): void {
    if (this.stateValue === 'BACKUP') this.backupReceive(advert, src);
    else if (this.stateValue === 'MASTER') this.masterReceive(advert, src);
  }

  /** Effective priority from trackers (clamped by the caller to 1..254 unless configured 255). */
  setPriority(priority: number): void {
    // A tracker lowering our priority means this node got worse: a takeover hold must not mask that.
    if (priority < this.effectivePriority) this.takeoverPriority = undefined;
    this.effectivePriority = priority;
  }

  /** keepalived FAULT: a tracked interface or script failed; leaving it restarts the election. */
  setFault(fault: boolean): void {
    if (fault === this.fault) return;
    this.fault = fault;
    if (this.stateValue === 'STOP' || this.stateValue === 'INIT') return;
    if (fault) {
      if (this.stateValue === 'MASTER') this.hooks.send(0);
      this.cancelTimers();
      this.stopContending();
      this.options.gate?.want(false);
      this.takeoverPriority = undefined;
      this.go('FAULT', 'fault');
    } else {
      this.enterFromInit('fault-cleared');
    }
  }

  /** Master gives up at once: priority-0 advert, then backup without preempting until release(). */
  resign(): boolean {
    // Refused (no side effect) unless master: the caller reports the state to the operator.
    if (this.stateValue !== 'MASTER') return false;
    this.resignHold = true;
    this.takeoverPriority = undefined;
    this.hooks.send(0);
    this.clearAdverTimer();
    // Released at once so the peer gets the votes without waiting for the leases to run out.
    this.options.gate?.want(false);
    this.masterAddressValue = undefined;
    this.setMasterDown(this.masterDownMs());
    this.go('BACKUP', 'resign');
    return true;
  }

  /**
   * Backup becomes master now and advertises one more than the master it last heard (at most 255), so a
   * running master, keepalived or ours, yields at once and, as backup, does not preempt back. Held until release().
   */
  takeover(): boolean {
    if (this.stateValue !== 'BACKUP') return false;
    this.resignHold = false;
    this.takeoverPriority = Math.min(255, Math.max(this.effectivePriority, this.lastMasterPriority + 1));
    this.becomeMaster('takeover');
    return true;
  }

  /** Ends a resign or takeover hold: normal priority and preemption again. */
  release(): void {
    this.resignHold = false;
    this.takeoverPriority = undefined;
    this.preemptDeadline = undefined;
  }

  private enterFromInit(reason: TransitionReason): void {
    if (this.fault) {
      this.go('FAULT', 'fault');
      return;
    }
    if (this.options.priority === 255) {
      this.becomeMaster(reason === 'startup' ? 'startup-owner' : reason);
      return;
    }
    this.masterAdverIntervalCs = this.options.intervalCs;
    this.masterAddressValue = undefined;
    // keepalived: preempt_delay counts from startup or from first hearing a lower-priority master.
    this.preemptDeadline = this.options.preemptDelayMs > 0 ? this.timers.now() + this.options.preemptDelayMs : undefined;
    this.setMasterDown(this.masterDownMs());
    this.go('BACKUP', reason);
  }

  private backupReceive(advert: VrrpAdvert, src: string): void {
    if (advert.priority === 0) {
      this.masterAddressValue = undefined;
      // Already contending: we are asking for the votes the resigning master is releasing; keep the reason we have.
      if (this.contendReason === undefined) this.setMasterDown(this.skewMs());
      return;
    }
    // A takeover contends with the priority it advertises: the MASTER it is taking over from must not end it.
    const discard = this.contendReason === 'takeover' ? advert.priority < this.advertisedPriority : this.preempting(advert.priority);
    if (!discard) {
      if (this.contendReason !== undefined) {
        this.stopContending();
        this.options.gate?.want(false);
      }
      if (this.options.version === 3) this.masterAdverIntervalCs = advert.intervalCs;
      this.masterAddressValue = src;
      this.lastMasterPriority = advert.priority;
      this.setMasterDown(this.masterDownMs());
    }
    // else discard: Master_Down_Timer keeps running and we take over when it fires.
  }

  /** Whether a lower-priority advert is discarded (preemption) rather than accepted. */
  private preempting(advertPriority: number): boolean {
    if (advertPriority >= this.effectivePriority) {
      this.preemptDeadline = undefined;
      return false;
    }
    if (!this.options.preempt || this.resignHold) return false;
    if (this.options.preemptDelayMs > 0) {
      const now = this.timers.now();
      this.preemptDeadline ??= now + this.options.preemptDelayMs;
      if (now < this.preemptDeadline) return false;
    }
    return true;
  }

  private masterReceive(advert: VrrpAdvert, src: string): void {
    if (advert.priority === 0) {
      this.hooks.send(this.advertisedPriority);
      this.armAdverTimer();
      return;
    }
    const mine = this.advertisedPriority;
    if (advert.priority > mine || (advert.priority === mine && compareAddresses(src, this.options.primaryAddress) > 0)) {
      // The winner may not have heard us yet (a partition heals with both masters): one advert of ours lets it
      // see a lower priority and re-announce its VIPs to the neighbours we pulled over.
      if (this.options.higherPriorityAdvert) this.hooks.send(mine);
      this.clearAdverTimer();
      this.takeoverPriority = undefined;
      this.options.gate?.want(false);
      if (this.options.version === 3) this.masterAdverIntervalCs = advert.intervalCs;
      this.masterAddressValue = src;
      this.lastMasterPriority = advert.priority;
      this.preemptDeadline = undefined;
      this.setMasterDown(this.masterDownMs());
      this.go('BACKUP', 'higher-priority');
      return;
    }
    this.hooks.lowerPriorityHeard?.(src, advert.priority);
    if (this.options.lowerPriorityAdvert ?? true) this.hooks.send(mine);
  }

  /**
   * The witness's gate changed: a MASTER that lost its votes leaves (priority 0 first, so a peer that has them takes
   * over within Skew_Time) and gives back the votes it still holds (a minority it keeps would block the peer); a
   * contending BACKUP whose gate opened becomes MASTER.
   */
  gateChanged(): void {
    const gate = this.options.gate;
    if (!gate) return;
    if (this.stateValue === 'MASTER' && !gate.allowed()) {
      this.hooks.send(0);
      this.clearAdverTimer();
      this.takeoverPriority = undefined;
      gate.want(false);
      this.masterAddressValue = undefined;
      this.setMasterDown(this.masterDownMs());
      this.go('BACKUP', 'quorum-lost');
    } else if (this.stateValue === 'BACKUP' && this.contendReason !== undefined && gate.allowed()) {
      this.becomeMaster(this.contendReason);
    }
  }

  private becomeMaster(reason: TransitionReason): void {
    const gate = this.options.gate;
    if (gate) {
      gate.want(true);
      if (!gate.allowed()) return this.contend(reason);
      this.stopContending();
    }
    this.clearMasterDown();
    this.hooks.send(this.advertisedPriority);
    this.armAdverTimer();
    this.go('MASTER', reason);
  }

  /**
   * Would be MASTER, but the witnesses have not given us their votes: stay BACKUP and keep asking. While a majority
   * of the witnesses answer (so votes a yielding peer releases can come here) advertise our priority, as a MASTER
   * would: a lower-priority MASTER on the other side yields (preemption, takeover) and releases its votes. Without
   * that majority nothing is sent, so a node cut from its witnesses never makes the peer step down.
   */
  private contend(reason: TransitionReason): void {
    this.clearMasterDown();
    if (this.contendReason === undefined) this.hooks.contending?.(reason);
    this.contendReason = reason;
    this.contendRound();
  }

  private contendRound(): void {
    if (this.contendTimer !== undefined) this.timers.clearTimeout(this.contendTimer);
    this.contendTimer = undefined;
    if (this.stateValue !== 'BACKUP' || this.contendReason === undefined) return;
    if (this.options.gate?.canContend()) this.hooks.send(this.advertisedPriority);
    this.contendTimer = this.timers.setTimeout(() => this.contendRound(), this.options.intervalCs * 10);
  }

  private stopContending(): void {
    if (this.contendTimer !== undefined) this.timers.clearTimeout(this.contendTimer);
    this.contendTimer = undefined;
    this.contendReason = undefined;
  }

  private go(to: VrrpState, reason: TransitionReason): void {
    const t: Transition = { from: this.stateValue, to, reason, at: this.timers.now() };
    this.stateValue = to;
    if (to === 'MASTER' && reason !== 'takeover') this.resignHold = false;
    this.lastTransitionValue = t;
    this.hooks.transition(t);
  }

  private armAdverTimer(): void {
    this.clearAdverTimer();
    this.adverTimer = this.timers.setTimeout(() => {
      this.adverTimer = undefined;
      if (this.stateValue !== 'MASTER') return;
      this.hooks.send(this.advertisedPriority);
      this.armAdverTimer();
    }, this.options.intervalCs * 10);
  }

  private setMasterDown(ms: number): void {
    this.clearMasterDown();
    this.masterDownTimer = this.timers.setTimeout(() => {
      this.masterDownTimer = undefined;
      if (this.stateValue === 'BACKUP') this.becomeMaster('master-down');
    }, ms);
  }

  private clearAdverTimer(): void {
    if (this.adverTimer !== undefined) this.timers.clearTimeout(this.adverTimer);
    this.adverTimer = undefined;
  }

  private clearMasterDown(): void {
    if (this.masterDownTimer !== undefined) this.timers.clearTimeout(this.masterDownTimer);
    this.masterDownTimer = undefined;
  }

  private cancelTimers(): void {
    this.clearAdverTimer();
    this.clearMasterDown();
  }
}
