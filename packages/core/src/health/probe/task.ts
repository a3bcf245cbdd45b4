/**
 * One probe in the probe thread: a TCP_CHECK or HTTP_GET of one target on libc sockets, and (when scheduled) its
 * timer. The probe is the Node checkers' (tcp.ts, http.ts) with the same verdicts and reasons, minus Node's
 * stream machinery: a non-blocking connect watched by epoll (edge-triggered), the request sent with one send(),
 * the answer read with recv() into the thread's scratch buffer, and the socket closed with a reset (SO_LINGER 0:
 * no FIN exchange, no TIME_WAIT), as the Node checkers do.
 *
 * A task owns at most one socket and one deadline at a time; the next run is scheduled only once this one has
 * ended, so runs of a probe never overlap. Its CheckState mirrors the main thread's (same results, same order)
 * to know when a retry is due.
 */
import {
  type Reactor,
  type ReactorTimer,
  EINPROGRESS,
  EAGAIN,
  EPOLLERR,
  EPOLLET,
  EPOLLHUP,
  EPOLLIN,
  EPOLLOUT,
  EPOLLRDHUP,
  MSG_NOSIGNAL,
  SO_ERROR,
  SO_LINGER,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOL_SOCKET,
  encodeSockaddr,
  errnoName,
  pinned,
  socketFamily,
  type Pinned,
  type RawNetCalls,
} from '@vsd/sys';
import { CheckState } from '../check-state.js';
import type { CheckResult } from '../checker.js';
import { ResponseReader } from '../http-response.js';
import type { ProbeAdd, ProbeDef, ProbeSchedule } from './protocol.js';

const WATCH = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
const READ = EPOLLIN | EPOLLRDHUP | EPOLLET;
const EMPTY = pinned(0);

/** What every task of the thread borrows. */
export interface ProbeShared {
  reactor: Reactor;
  /** The hot calls with pointers as numbers (pinned buffers' addresses). */
  raw: RawNetCalls;
  /** One recv() buffer for the whole thread. */
  scratch: Pinned;
  /** struct linger { l_onoff = 1, l_linger = 0 }: close() sends a RST. */
  lingerZero: Pinned;
  intBuf: Buffer;
  lenBuf: Buffer;
  /** Where a finished run's result goes. */
  report(task: ProbeTask, result: CheckResult, durationMs: number): void;
}

enum Phase {
  Idle,
  Connecting,
  Sending,
  Reading,
}

export class ProbeTask {
  readonly id: number;
  private readonly def: ProbeDef;
  private readonly schedule: ProbeSchedule | undefined;
  private readonly state: CheckState | undefined;
  private readonly sockaddr: Buffer;
  private readonly family: number;
  private readonly request: Pinned | null;
  private phase = Phase.Idle;
  private fd = -1;
  private sent = 0;
  private startedAt = 0;
  /** When the current run was due (a slot boundary): the next one is due an interval after it. */
  private dueAt = 0;
  private timer: ReactorTimer | null = null;
  private deadline: ReactorTimer | null = null;
  private reader: ResponseReader | null = null;
  private removed = false;
  // Bound once: a run allocates no closure for epoll or its timers.
  private readonly onEvents = (ev: number): void => this.events(ev);
  private readonly onDue = (): void => this.start();
  private readonly onDeadline = (): void => this.finish({ ok: false, reason: `timeout after ${this.def.timeoutMs} ms` });
  private readonly onAnswer = (r: CheckResult): void => this.finish(r);

  constructor(
    add: ProbeAdd,
    private readonly shared: ProbeShared,
  ) {
    this.id = add.id;
    this.def = add.def;
    this.schedule = add.schedule;
    this.sockaddr = encodeSockaddr(add.def.address, add.def.port);
    this.family = socketFamily(add.def.address);
    this.request = null;
    if (add.def.kind === 'http') {
      const text = add.def.request ?? '';
      this.request = pinned(Buffer.byteLength(text, 'latin1'));
      this.request.buf.write(text, 'latin1');
    }
    const s = add.schedule;
    if (s) {
      this.state = new CheckState({ rise: s.state.rise, fall: s.state.fall, retry: s.state.retry, initiallyUp: s.state.up });
      Object.assign(this.state, { retryIt: s.state.retryIt, okStreak: s.state.okStreak, failStreak: s.state.failStreak });
    }
  }

  /** Schedule the first run, or run at once a probe without a schedule. */
  begin(): void {
    if (this.schedule) this.scheduleAt(this.schedule.firstAt);
    else this.start();
  }

  /** Runs on a schedule (else once). */
  get scheduled(): boolean {
    return this.schedule !== undefined;
  }

  /** Forget the probe: its timer, and the run in flight without a result. */
  remove(): void {
    this.removed = true;
    this.timer?.cancel();
    this.timer = null;
    this.closeSocket(false);
  }

  private scheduleAt(at: number): void {
    const { reactor } = this.shared;
    const slot = this.schedule!.slotMs;
    const when = Math.max(reactor.now, at);
    this.dueAt = slot >= 1 ? Math.ceil(when / slot) * slot : when;
    this.timer = reactor.at(this.dueAt, this.onDue);
  }

  private start(): void {
    this.timer = null;
    if (this.removed) return;
    const { reactor } = this.shared;
    const calls = reactor.calls;
    this.startedAt = reactor.now;
    this.deadline = reactor.at(this.startedAt + this.def.timeoutMs, this.onDeadline);
    const fd = calls.socket(this.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return this.finish({ ok: false, reason: errnoName(fd) });
    const rc = calls.connect(fd, this.sockaddr, this.sockaddr.length);
    if (rc < 0 && rc !== -EINPROGRESS) {
      calls.close(fd);
      return this.finish({ ok: false, reason: errnoName(rc) });
    }
    this.fd = fd;
    this.phase = Phase.Connecting;
    // To a near host (loopback, the LAN) the handshake is often over before connect() returns. A send() tells at
    // once (zero bytes for TCP_CHECK, the request for HTTP_GET) and spares the wait for epoll to say so: a
    // TCP_CHECK then never touches epoll, an HTTP_GET waits only for its answer. EAGAIN: still connecting.
    const req = this.request ?? EMPTY;
    const n = this.shared.raw.send(fd, req.addr, req.buf.length, MSG_NOSIGNAL);
    if (n >= 0) {
      if (!this.request) return this.finish({ ok: true, reason: 'connected' });
      this.beginHttp();
      this.sent = n;
      this.phase = n === req.buf.length ? Phase.Reading : Phase.Sending;
    } else if (n !== -EAGAIN) return this.finish({ ok: false, reason: errnoName(n) });
    try {
      // Once the request is out only the answer matters: no EPOLLOUT, whose first report would be a wake-up for nothing.
      reactor.add(fd, this.phase === Phase.Reading ? READ : WATCH, this.onEvents);
    } catch (err) {
      return this.finish({ ok: false, reason: (err as NodeJS.ErrnoException).code ?? String(err) });
    }
  }

  private beginHttp(): void {
    this.sent = 0;
    this.reader = new ResponseReader(this.def.statusCodes ?? [[200, 299]], this.def.digest, this.onAnswer);
  }

  private events(ev: number): void {
    if (this.phase === Phase.Connecting) {
      if (ev & EPOLLERR || (ev & EPOLLHUP && !(ev & EPOLLOUT))) return this.finish({ ok: false, reason: this.socketError() });
      if (!(ev & EPOLLOUT)) return;
      if (!this.request) return this.finish({ ok: true, reason: 'connected' });
      this.beginHttp();
      this.phase = Phase.Sending;
    }
    if (this.phase === Phase.Sending) {
      if (!this.send()) return;
      this.phase = Phase.Reading;
    }
    if (this.phase === Phase.Reading && ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) this.read();
  }

  /** Send what is left of the request; true once all of it is out. */
  private send(): boolean {
    const req = this.request!;
    const { raw } = this.shared;
    while (this.sent < req.buf.length) {
      const n = raw.send(this.fd, req.addr + this.sent, req.buf.length - this.sent, MSG_NOSIGNAL);
      if (n === -EAGAIN) return false;
      if (n < 0) {
        this.finish({ ok: false, reason: errnoName(n) });
        return false;
      }
      this.sent += n;
    }
    return true;
  }

  private read(): void {
    const { scratch, raw } = this.shared;
    // Until recv says EAGAIN (edge-triggered), or the reader has its verdict (finish closes the socket).
    while (this.phase === Phase.Reading) {
      const n = raw.recv(this.fd, scratch.addr, scratch.buf.length, 0);
      if (n === -EAGAIN) return;
      if (n < 0) return this.finish({ ok: false, reason: errnoName(n) });
      if (n === 0) return this.reader!.end();
      this.reader!.data(scratch.buf.subarray(0, n));
    }
  }

  private socketError(): string {
    const { intBuf, lenBuf, reactor } = this.shared;
    lenBuf.writeUInt32LE(4, 0);
    const rc = reactor.calls.getsockopt(this.fd, SOL_SOCKET, SO_ERROR, intBuf, lenBuf);
    const err = rc < 0 ? -rc : intBuf.readInt32LE(0);
    return err ? errnoName(err) : 'connection closed';
  }

  private closeSocket(reset: boolean): void {
    this.deadline?.cancel();
    this.deadline = null;
    this.reader = null;
    const { reactor, raw, lingerZero } = this.shared;
    if (this.fd >= 0) {
      if (reset) raw.setsockopt(this.fd, SOL_SOCKET, SO_LINGER, lingerZero.addr, 8);
      reactor.close(this.fd);
      this.fd = -1;
    }
    this.phase = Phase.Idle;
  }

  private finish(result: CheckResult): void {
    if (this.phase === Phase.Idle && this.fd < 0 && this.deadline === null) return;
    // Connected (or past it): a reset frees both ends at once. While connecting, a plain close abandons the SYN.
    this.closeSocket(this.phase !== Phase.Connecting || result.ok);
    const { reactor } = this.shared;
    const durationMs = reactor.now - this.startedAt;
    this.shared.report(this, result, durationMs);
    if (!this.schedule || this.removed) return;
    const outcome = this.state!.record(result, reactor.now, durationMs);
    // As keepalived, the next run is timed from the start of this one (a slow check does not stretch the period),
    // taken as the slot it was due in so that rounding to slots does not lengthen every period.
    const wait = outcome.retrying ? this.schedule.delayBeforeRetryMs : this.schedule.intervalMs;
    this.scheduleAt(Math.min(this.dueAt, this.startedAt) + wait);
  }
}
