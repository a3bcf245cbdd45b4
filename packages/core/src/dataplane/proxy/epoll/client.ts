/**
 * The main thread's handle on the epoll engine thread: starts it, sends it requests and wakes its epoll_wait
 * with an eventfd, re-logs its records, and reads its counters from shared memory.
 */
import { Worker } from 'node:worker_threads';
import { EngineFailedError, EngineUnavailableError, SyscallError, VsdError, type Errno } from '../../../errors.js';
import { type Logger, EFD_CLOEXEC, EFD_NONBLOCK, netCalls, threadEntry, threadUnavailable } from '@vsd/sys';
import type { ProxyCounters } from '../types.js';
import { COUNTER_COUNT, COUNTER_SLOTS, OWNED_FDS, type EngineData, type EngineMessage, type EngineOptions, type EngineRequest } from './protocol.js';

const ENGINE = 'proxy_engine epoll';

/** The compiled engine thread (dist/dataplane/proxy/epoll/thread.js), or null when this build has none. */
export function engineScript(): string | null {
  return threadEntry(new URL('./thread.js', import.meta.url), new URL('../../../../dist/dataplane/proxy/epoll/thread.js', import.meta.url));
}

/** Why the epoll engine cannot run here, or null when it can (Linux, libc reachable through koffi, a built thread). */
export function epollEngineUnavailable(): string | null {
  return threadUnavailable('epoll engine thread', engineScript(), false);
}

type Body<R> = R extends unknown ? Omit<R, 'id'> : never;

const LEVELS: Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

export class EpollEngine {
  private worker: Worker | null = null;
  private wakeFd = -1;
  private readonly wakeBuf = Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);
  private readonly sab = new SharedArrayBuffer(8 * COUNTER_COUNT);
  private readonly shared = new Float64Array(this.sab);
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;
  private readonly owned = new SharedArrayBuffer(OWNED_FDS / 8);
  private stopping = false;
  /** Told once when the thread has died (not when it was stopped), after its descriptors were closed. */
  onFailure: ((err: Error) => void) | null = null;

  constructor(
    private readonly log: Logger,
    private readonly options: EngineOptions,
    private readonly script: string | null = engineScript(),
    /** This thread's place among the dataplane's engine threads (its name, and its index in each listener group). */
    private readonly index = 0,
  ) {}

  async start(): Promise<void> {
    const script = this.script;
    if (!script) throw new EngineUnavailableError('proxy epoll engine thread', 'not built (run pnpm build)');
    const calls = netCalls();
    const fd = calls.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) throw new SyscallError('eventfd', fd);
    this.wakeFd = fd;
    const workerData: EngineData = { options: this.options, wakeFd: fd, counters: this.sab, owned: this.owned, index: this.index };
    const worker = new Worker(script, { workerData, name: this.index ? `vsd-proxy-engine-${this.index}` : 'vsd-proxy-engine' });
    try {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void => reject(err);
        worker.once('error', onError);
        worker.once('exit', (code) => reject(new EngineFailedError(ENGINE, `thread exited with code ${code} before it was ready`, { exitCode: code })));
        worker.once('message', (m: EngineMessage) => {
          worker.off('error', onError);
          if (m.t === 'ready') resolve();
          else reject(new EngineFailedError(ENGINE, `sent ${m.t} before ready`));
        });
      });
    } catch (err) {
      await worker.terminate();
      this.closeLeftovers();
      throw err;
    }
    worker.removeAllListeners('exit');
    this.worker = worker;
    worker.on('message', (m: EngineMessage) => this.onMessage(m));
    worker.on('error', (err) => (this.failure ??= err));
    // Cleaned up on 'exit' only: by then the thread has stopped touching its descriptors.
    worker.on('exit', (code) => {
      const died = this.worker === worker && !this.stopping && (code !== 0 || this.failure !== null);
      this.worker = null;
      if (died) this.fail(this.failure ?? new EngineFailedError(ENGINE, `thread exited with code ${code}`, { exitCode: code }));
    });
  }

  /**
   * Close what a dead thread left open: its epoll set, its listeners (so they leave their SO_REUSEPORT group and
   * no client waits in a queue nobody accepts from) and its connections (their peers see them end).
   */
  private closeLeftovers(): void {
    const calls = netCalls();
    const bits = new Uint8Array(this.owned);
    let closed = 0;
    for (let i = 0; i < bits.length; i++) {
      const b = bits[i]!;
      if (b === 0) continue;
      bits[i] = 0;
      for (let k = 0; k < 8; k++) {
        const fd = i * 8 + k;
        if (!(b & (1 << k)) || fd === this.wakeFd) continue;
        calls.close(fd);
        closed++;
      }
    }
    if (this.wakeFd >= 0) calls.close(this.wakeFd);
    this.wakeFd = -1;
    if (closed > 0) this.log.warn({ closed, engineThread: this.index }, 'closed the descriptors the engine thread left open');
  }

  private onMessage(m: EngineMessage): void {
    if (m.t === 'log') return this.relog(m.line);
    if (m.t !== 'reply') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.error !== undefined) p.reject(new VsdError(m.code ?? 'VSD_ERR_INTERNAL', m.error, { errno: m.errno as Errno | undefined, details: m.details ?? {} }));
    else p.resolve(m.result);
  }

  /** A record from the engine's pino, written again by this thread's logger at the same level. */
  private relog(line: string): void {
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const { level, msg, time: _time, pid: _pid, hostname: _host, component: _c, dataplane: _d, ...fields } = rec;
    const thread = this.options.threads > 1 ? { engineThread: this.index } : {};
    this.log[LEVELS[level as number] ?? 'info']({ ...fields, engine: 'epoll', ...thread }, String(msg ?? ''));
  }

  private fail(err: Error): void {
    this.failure = err;
    this.log.fatal({ err, engineThread: this.index }, 'proxy epoll engine thread failed');
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.closeLeftovers();
    this.onFailure?.(err);
  }

  /** End the thread at once, as a crash would (supervision tests; a stop that timed out). */
  async kill(): Promise<void> {
    await this.worker?.terminate();
  }

  call<T>(req: Body<EngineRequest>): Promise<T> {
    const worker = this.worker;
    if (!worker) return Promise.reject(this.failure ?? new EngineFailedError(ENGINE, 'not running'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ ...req, id });
      netCalls().write(this.wakeFd, this.wakeBuf, 8);
    });
  }

  /** Counters of the TCP services, as the engine last wrote them. */
  counters(): Pick<ProxyCounters, 'connectFailures' | 'retries' | 'noDestination'> & { connections: number; accepted: number } {
    const s = this.shared;
    return {
      connectFailures: s[COUNTER_SLOTS.connectFailures]!,
      retries: s[COUNTER_SLOTS.retries]!,
      noDestination: s[COUNTER_SLOTS.noDestination]!,
      connections: s[COUNTER_SLOTS.connections]!,
      accepted: s[COUNTER_SLOTS.accepted]!,
    };
  }

  /** Drain for up to drainMs, close everything, and let the thread end. */
  async stop(drainMs: number): Promise<void> {
    this.stopping = true;
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((r) => worker.once('exit', () => r()));
    let terminated = false;
    try {
      await this.call({ op: 'close', drainMs });
    } catch {
      terminated = true;
      await worker.terminate();
    }
    await exited;
    // A thread that ended its loop closed its own descriptors, the eventfd included; one cut short did not.
    if (terminated) this.closeLeftovers();
    else this.wakeFd = -1;
  }
}
