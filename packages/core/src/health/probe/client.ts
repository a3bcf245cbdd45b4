/**
 * The main thread's handle on the probe thread: starts it, adds and removes probes (requests of one event-loop
 * turn go out as one message, followed by one eventfd write that wakes the thread's epoll_wait), and hands each
 * result to the probe's sink. If the thread cannot start or dies, every sink is told (`lost`), so its check can
 * go on with Node sockets.
 */
import { Worker } from 'node:worker_threads';
import { EngineFailedError, EngineUnavailableError, SyscallError } from '../../errors.js';
import { type Logger, EFD_CLOEXEC, EFD_NONBLOCK, netCalls, threadEntry, threadUnavailable } from '@vsd/sys';
import { fail, type Checker, type CheckResult, type CheckSignal } from '../checker.js';
import type { ProbeAdd, ProbeData, ProbeDef, ProbeMessage, ProbeRequest, ProbeSchedule } from './protocol.js';

/** The compiled probe thread (dist/health/probe/thread.js), or null when this build has none. */
export function probeScript(): string | null {
  return threadEntry(new URL('./thread.js', import.meta.url), new URL('../../../dist/health/probe/thread.js', import.meta.url));
}

/**
 * Why the probe thread cannot run here, or null when it can (Linux, libc reachable through koffi, a built thread).
 * `script`: the thread's file when not the default one.
 */
export function probeThreadUnavailable(script?: string): string | null {
  return threadUnavailable('probe thread', script ?? probeScript(), script !== undefined);
}

/** Where a scheduled probe's results go. */
export interface ProbeSink {
  result(result: CheckResult, at: number, durationMs: number): void;
  /** The thread is gone: the check must go on some other way. */
  lost(): void;
}

/** What the real-server runners need of the probe thread. */
export interface ProbeHost {
  /** Start a scheduled probe; null when the thread has failed (run the check with Node sockets instead). */
  add(def: ProbeDef, schedule: ProbeSchedule, sink: ProbeSink): number | null;
  remove(id: number): void;
}

type Sink = ProbeSink | { once: (r: CheckResult) => void };

export class ProbeThread implements ProbeHost {
  private worker: Worker | null = null;
  private wakeFd = -1;
  private readonly wakeBuf = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);
  private readonly sinks = new Map<number, Sink>();
  private nextId = 1;
  private queue: ProbeRequest[] = [];
  private flushQueued = false;
  private stopping = false;
  private dead = false;

  constructor(
    private readonly log: Logger,
    /** The thread's file (default: probeScript()). */
    private readonly script?: string,
  ) {}

  /** True once the thread has failed or stopped: add() answers null. */
  get failed(): boolean {
    return this.dead;
  }

  /** The thread is alive (started, not yet exited). */
  get running(): boolean {
    return this.worker !== null;
  }

  /** Spawn the thread (requests may be sent at once: they wait for it). Throws if it cannot be spawned. */
  start(): void {
    const script = this.script ?? probeScript();
    if (!script) throw new EngineUnavailableError('health probe thread', 'not built (run pnpm build)');
    const calls = netCalls();
    const fd = calls.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) throw new SyscallError('eventfd', fd);
    this.wakeFd = fd;
    const workerData: ProbeData = { wakeFd: fd };
    // The thread allocates little (results, a reader per HTTP check): a small young generation keeps it small.
    const worker = new Worker(script, { workerData, name: 'vsd-health-probes', resourceLimits: { maxYoungGenerationSizeMb: 2 }, stdout: false });
    this.worker = worker;
    // Like the monitor's timers, the thread does not keep the process alive on its own.
    worker.unref();
    worker.on('message', (m: ProbeMessage) => this.onMessage(m));
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = null;
      if (!this.stopping) this.fail(new EngineFailedError('health_engine epoll', `probe thread exited with code ${code}`, { exitCode: code }));
    });
  }

  add(def: ProbeDef, schedule: ProbeSchedule, sink: ProbeSink): number | null {
    if (this.dead) return null;
    const id = this.nextId++;
    this.sinks.set(id, sink);
    this.request({ id, def, schedule });
    return id;
  }

  remove(id: number): void {
    if (!this.sinks.delete(id) || this.dead) return;
    const last = this.queue.at(-1);
    if (last?.op === 'remove') last.ids.push(id);
    else this.enqueue({ op: 'remove', ids: [id] });
  }

  /** One probe now, outside any schedule (for a single check, and the checker contract tests). */
  once(def: ProbeDef, signal?: CheckSignal): Promise<CheckResult> {
    if (this.dead) return Promise.resolve(fail('probe thread not running'));
    if (signal?.aborted) return Promise.resolve(fail('aborted'));
    const id = this.nextId++;
    return new Promise((resolve) => {
      const onAbort = (): void => {
        this.remove(id);
        resolve(fail('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sinks.set(id, {
        once: (r) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(r);
        },
      });
      this.request({ id, def });
    });
  }

  /** Stop every probe and end the thread. */
  async stop(): Promise<void> {
    const worker = this.worker;
    this.stopping = true;
    this.dead = true;
    this.queue = [];
    for (const sink of this.sinks.values()) if ('once' in sink) sink.once(fail('aborted'));
    this.sinks.clear();
    if (!worker) return this.closeWake();
    const exited = new Promise<void>((r) => worker.once('exit', () => r()));
    worker.postMessage({ op: 'stop' } satisfies ProbeRequest);
    this.wake();
    // From here the thread closes the eventfd when its loop ends: never touch that descriptor number again.
    this.wakeFd = -1;
    const timer = setTimeout(() => void worker.terminate(), 2000);
    await exited;
    clearTimeout(timer);
  }

  private request(add: ProbeAdd): void {
    const last = this.queue.at(-1);
    if (last?.op === 'add') last.probes.push(add);
    else this.enqueue({ op: 'add', probes: [add] });
  }

  private enqueue(req: ProbeRequest): void {
    this.queue.push(req);
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.flushQueued = false;
    const worker = this.worker;
    if (!worker || this.dead || this.queue.length === 0) return;
    for (const req of this.queue) worker.postMessage(req);
    this.queue = [];
    this.wake();
  }

  private wake(): void {
    if (this.wakeFd >= 0) netCalls().write(this.wakeFd, this.wakeBuf, 8);
  }

  private onMessage(m: ProbeMessage): void {
    if (m.t === 'error') return this.log.error({ error: m.message }, 'health probe failed in the probe thread');
    if (m.t !== 'results') return;
    const { r, reasons } = m;
    for (let i = 0, j = 0; i < r.length; i += 4, j++) {
      const sink = this.sinks.get(r[i]!);
      if (!sink) continue;
      const result: CheckResult = { ok: r[i + 1] === 1, reason: reasons[j]! };
      if ('once' in sink) {
        this.sinks.delete(r[i]!);
        sink.once(result);
      } else sink.result(result, r[i + 2]!, r[i + 3]!);
    }
  }

  private closeWake(): void {
    if (this.wakeFd >= 0) netCalls().close(this.wakeFd);
    this.wakeFd = -1;
  }

  private fail(err: Error): void {
    if (this.dead) return;
    this.dead = true;
    this.log.error({ err }, 'health probe thread failed; TCP and HTTP checks go on with Node sockets');
    // The thread did not end its loop, so the eventfd is still ours to close.
    this.closeWake();
    void this.worker?.terminate();
    this.worker = null;
    const sinks = [...this.sinks.values()];
    this.sinks.clear();
    this.queue = [];
    for (const sink of sinks) {
      if ('once' in sink) sink.once(fail('probe thread failed'));
      else sink.lost();
    }
  }
}

/** A Checker whose checks are one-off probes in `thread` (same kind and name as the Node checker it stands for). */
export function probeChecker(thread: ProbeThread, def: ProbeDef, like: Pick<Checker, 'kind' | 'name'>): Checker {
  return { kind: like.kind, name: like.name, check: (signal) => thread.once(def, signal) };
}
