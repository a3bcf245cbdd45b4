/**
 * An epoll event loop for a dedicated thread (the proxy's epoll engine): one epoll set, edge-triggered, with a
 * handler per file descriptor, an eventfd the main thread writes to when it posts a message, one-shot timers
 * (the health probe thread's schedules and per-check deadlines), and coarse periodic
 * tasks (connect timeouts checked every few tens of milliseconds, sweeps every second or two). The loop never
 * returns to libuv: everything the thread does goes through here.
 */
import { EAGAIN, EINTR } from './errno.js';
import {
  EPOLL_CTL_ADD,
  EPOLL_CTL_MOD,
  EPOLL_EVENT_SIZE,
  EPOLLIN,
  epollEventFd,
  epollEventMask,
  netCalls,
  pinned,
  rawNetCalls,
  writeEpollEvent,
  type NetCalls,
  type Pinned,
  type RawNetCalls,
} from './net.js';
import { SyscallError } from './errors.js';

export type IoHandler = (events: number) => void;

interface Periodic {
  everyMs: number;
  next: number;
  fn: (now: number) => void;
}

/** A one-shot timer of the loop (see Reactor.at); cancel() before it fires drops it. */
export class ReactorTimer {
  cancelled = false;
  constructor(
    readonly at: number,
    readonly fn: (now: number) => void,
  ) {}

  cancel(): void {
    this.cancelled = true;
  }
}

/** How many events one epoll_wait may return; more wait for the next turn. */
const MAX_EVENTS = 512;

export class Reactor {
  readonly calls: NetCalls = netCalls();
  /** The loop's clock, read once per turn: connections stamp their activity with it instead of calling Date.now(). */
  now = Date.now();
  private readonly epfd: number;
  // Indexed by fd and kept dense (grown by doubling, filled), so lookups stay on V8's fast elements.
  private handlers: Array<IoHandler | undefined> = new Array<IoHandler | undefined>(1024).fill(undefined);
  /** The turn in which an fd was closed: its events still queued in that turn's batch are stale. */
  private closedInTurn: number[] = new Array<number>(1024).fill(0);
  private turn = 0;
  private readonly raw: RawNetCalls = rawNetCalls();
  // Pinned, so epoll_ctl and epoll_wait get plain addresses (see pinned() in ./net.ts).
  private readonly evPin: Pinned = pinned(EPOLL_EVENT_SIZE);
  private readonly ev = this.evPin.buf;
  private readonly eventsPin: Pinned = pinned(EPOLL_EVENT_SIZE * MAX_EVENTS);
  private readonly events = this.eventsPin.buf;
  private readonly periodic: Periodic[] = [];
  /** One-shot timers, a binary min-heap on `at`; cancelled ones are dropped when they reach the top. */
  private readonly timers: ReactorTimer[] = [];
  private stopped = false;

  constructor(
    /** Written by the main thread after it posts a message; read here to re-arm it. */
    private readonly wakeFd: number,
    private readonly onWake: () => void,
    /** A handler threw: report it (the loop goes on). */
    private readonly onError: (err: unknown, fd: number) => void = () => undefined,
    /** How long a turn may wait when no periodic task is due sooner. */
    private readonly maxWaitMs = 1000,
    /**
     * A bitmap (bit fd) in shared memory of the descriptors this loop holds, kept up to date by add() and close():
     * descriptors belong to the process, so if the thread dies the main thread can close what it left open.
     */
    private readonly owned: Uint8Array | null = null,
  ) {
    const fd = this.calls.epollCreate();
    if (fd < 0) throw new SyscallError('epoll_create1', fd);
    this.epfd = fd;
    this.own(fd, true);
    const drain = Buffer.alloc(8);
    this.add(wakeFd, EPOLLIN, () => {
      this.calls.read(wakeFd, drain, 8);
      this.onWake();
    });
  }

  /** Watch fd (edge-triggered unless the mask says otherwise); throws if epoll refuses it. */
  add(fd: number, events: number, handler: IoHandler): void {
    writeEpollEvent(this.ev, events, fd);
    const rc = this.raw.epollCtl(this.epfd, EPOLL_CTL_ADD, fd, this.evPin.addr);
    if (rc < 0) throw new SyscallError('epoll_ctl(ADD)', rc, { fd });
    if (fd >= this.handlers.length) this.grow(fd);
    this.handlers[fd] = handler;
    this.own(fd, true);
  }

  private own(fd: number, held: boolean): void {
    const o = this.owned;
    if (o === null || fd >> 3 >= o.length) return;
    if (held) o[fd >> 3]! |= 1 << (fd & 7);
    else o[fd >> 3]! &= ~(1 << (fd & 7));
  }

  private grow(fd: number): void {
    let n = this.handlers.length;
    while (n <= fd) n *= 2;
    this.handlers = this.handlers.concat(new Array<IoHandler | undefined>(n - this.handlers.length).fill(undefined));
    this.closedInTurn = this.closedInTurn.concat(new Array<number>(n - this.closedInTurn.length).fill(0));
  }

  modify(fd: number, events: number): void {
    writeEpollEvent(this.ev, events, fd);
    this.raw.epollCtl(this.epfd, EPOLL_CTL_MOD, fd, this.evPin.addr);
  }

  /** Forget and close fd; closing removes it from the epoll set, so no EPOLL_CTL_DEL is needed. */
  close(fd: number): void {
    this.handlers[fd] = undefined;
    this.closedInTurn[fd] = this.turn;
    // Unmarked before the close: a thread dying in between leaks the descriptor rather than having another's closed.
    this.own(fd, false);
    this.raw.close(fd);
  }

  every(everyMs: number, fn: (now: number) => void): void {
    this.periodic.push({ everyMs, next: this.now + everyMs, fn });
  }

  /**
   * Run fn once, in the first turn at or after `at` (Date.now() milliseconds): for deadlines that must be kept to
   * the millisecond (per-check timeouts) and work due at a given time (check schedules), where a periodic sweep
   * would be too coarse or too busy.
   */
  at(at: number, fn: (now: number) => void): ReactorTimer {
    const t = new ReactorTimer(at, fn);
    const h = this.timers;
    let i = h.push(t) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.at <= t.at) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = t;
    return t;
  }

  private popTimer(): ReactorTimer {
    const h = this.timers;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && h[r]!.at < h[l]!.at ? r : l;
        if (h[c]!.at >= last.at) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }

  private runTimers(): void {
    const h = this.timers;
    while (h.length > 0 && (h[0]!.cancelled || h[0]!.at <= this.now)) {
      const t = this.popTimer();
      if (t.cancelled) continue;
      try {
        t.fn(this.now);
      } catch (err) {
        this.onError(err, -1);
      }
    }
  }

  stop(): void {
    this.stopped = true;
  }

  /** Run until stop(); `afterTurn` runs after every batch of events (message draining, counters). */
  run(afterTurn: () => void): void {
    const { calls, events } = this;
    while (!this.stopped) {
      const n = this.raw.epollWait(this.epfd, this.eventsPin.addr, MAX_EVENTS, this.waitMs());
      this.now = Date.now();
      this.turn++;
      if (n < 0 && n !== -EINTR && n !== -EAGAIN) throw new SyscallError('epoll_wait', n);
      for (let i = 0; i < n; i++) {
        const fd = epollEventFd(events, i);
        if (this.closedInTurn[fd] === this.turn) continue;
        const h = this.handlers[fd];
        if (!h) continue;
        try {
          h(epollEventMask(events, i));
        } catch (err) {
          // One connection's bug must not stop the thread that carries all the others.
          this.onError(err, fd);
        }
      }
      if (this.timers.length > 0) this.runTimers();
      for (const p of this.periodic) {
        if (this.now < p.next) continue;
        p.next = this.now + p.everyMs;
        p.fn(this.now);
      }
      afterTurn();
    }
    this.own(this.epfd, false);
    this.own(this.wakeFd, false);
    calls.close(this.epfd);
    calls.close(this.wakeFd);
  }

  private waitMs(): number {
    let wait = this.maxWaitMs;
    const now = Date.now();
    for (const p of this.periodic) wait = Math.min(wait, Math.max(0, p.next - now));
    while (this.timers.length > 0 && this.timers[0]!.cancelled) this.popTimer();
    if (this.timers.length > 0) wait = Math.min(wait, Math.max(0, this.timers[0]!.at - now));
    return wait;
  }
}
