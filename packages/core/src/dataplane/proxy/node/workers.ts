/**
 * Forwarding in worker processes, scheduling in one place. The primary sends each TCP service's listening
 * socket to every worker once (SCM_RIGHTS); the primary and the workers all accept on it. A worker asks the
 * primary where an accepted connection goes, and the primary schedules it with the service's one scheduler
 * (so rr alternates exactly and lc/wlc see global counts, as under the kernel's per-service lock); many such
 * questions are in flight at once. The worker connects to the chosen real server and moves the bytes;
 * it reports established / FIN / closed and batched byte and packet counts, from which the primary keeps
 * IPVS's counters and connection table. A failed connect comes back to the primary, which picks the
 * retry target. UDP stays in the primary (one socket per VIP:port cannot be shared by handle passing
 * without losing the flow table).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '../../../errors.js';
import { NoDestinationLog } from '../no-dest-log.js';
import { encodeProxyV2, unmapped } from '../proxy-protocol.js';
import type { ProxyService } from '../service.js';
import { TrackedTcpConn } from '../tcp-tracked.js';
import type { Template } from '../template.js';
import type { ProxyContext, ProxyDest } from '../types.js';
import type { FromWorker, ToWorker } from './worker-protocol.js';

/** The compiled worker entry: next to this module in dist, or in dist when running from src (tests). */
export function defaultWorkerScript(): string {
  const here = new URL('./worker.js', import.meta.url);
  if (existsSync(here)) return fileURLToPath(here);
  return fileURLToPath(new URL('../../../../dist/dataplane/proxy/node/worker.js', import.meta.url));
}

interface Worker {
  child: ChildProcess;
  conns: Map<number, RemoteTcpConn>;
}

export class WorkerPool {
  private readonly workers: Worker[] = [];
  private readonly shared = new Map<string, { svc: ProxyService; server: Server }>();
  private readonly noDestLogs = new Map<string, NoDestinationLog>();
  private closing = false;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly size: number,
    private readonly script: string,
  ) {}

  /** Fork the workers and wait until each has said it is ready (bounded: a worker that never answers still gets work). */
  async start(timeoutMs = 10_000): Promise<void> {
    if (!existsSync(this.script)) throw new ValidationError('workerScript', this.script, 'the proxy worker entry does not exist (run pnpm build)');
    for (let i = 0; i < this.size; i++) this.workers.push(this.spawn());
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            const t = setTimeout(resolve, timeoutMs);
            const onMsg = (m: FromWorker): void => {
              if (m.t !== 'ready') return;
              for (const [key, { server }] of this.shared) this.sendListener(w, key, server);
              clearTimeout(t);
              w.child.off('message', onMsg);
              resolve();
            };
            w.child.on('message', onMsg);
            w.child.once('exit', () => resolve());
          }),
      ),
    );
  }

  private spawn(): Worker {
    const child = fork(this.script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
    const w: Worker = { child, conns: new Map() };
    child.on('message', (m: FromWorker) => this.receive(w, m));
    // IPC errors (a send racing the worker's exit) end in 'exit' below; they must not throw.
    child.on('error', (err) => this.ctx.log.debug({ err }, 'proxy worker IPC error'));
    child.on('exit', (code, signal) => {
      for (const c of [...w.conns.values()]) c.finish([0, 0, 0, 0]);
      const i = this.workers.indexOf(w);
      if (this.closing || i < 0) return;
      this.ctx.log.error({ code, signal }, 'proxy worker exited; its connections are lost; starting another');
      // Respawn after a pause, so a worker that cannot start does not spin.
      setTimeout(() => {
        if (this.closing) return;
        const next = this.spawn();
        this.workers[i] = next;
        next.child.on('message', (m: FromWorker) => {
          if (m.t === 'ready') for (const [key, { server }] of this.shared) this.sendListener(next, key, server);
        });
      }, 500).unref();
    });
    return w;
  }

  private receive(w: Worker, m: FromWorker): void {
    if (m.t === 'ready') return;
    if (m.t === 'a') return this.accepted(w, m);
    if (m.t === 's') {
      for (let i = 0; i < m.d.length; i += 5) w.conns.get(m.d[i]!)?.addCounts(m.d, i + 1);
      return;
    }
    const c = w.conns.get(m.id);
    if (!c) return;
    if (m.t === 'e') c.established();
    else if (m.t === 'w') c.finWait();
    else if (m.t === 'f') c.connectFailed(m.reason);
    else if (m.t === 'd') c.finish(m.d);
  }

  /** Let every worker accept on a service's listening socket too (sent once per worker, and again to a new one). */
  share(svc: ProxyService, server: Server): void {
    this.shared.set(svc.key, { svc, server });
    for (const w of this.workers) this.sendListener(w, svc.key, server);
  }

  unshare(key: string): void {
    if (!this.shared.delete(key)) return;
    for (const w of this.workers) if (w.child.connected) w.child.send({ t: 'u', key } satisfies ToWorker);
  }

  private sendListener(w: Worker, key: string, server: Server): void {
    if (!w.child.connected) return;
    w.child.send({ t: 'l', key, ct: this.ctx.connectTimeoutMs } satisfies ToWorker, server, (err) => {
      if (err) this.ctx.log.error({ err, service: key }, 'could not share a listener with a proxy worker');
    });
  }

  /** A worker accepted a connection: schedule it here, the one decision stream of the service. */
  private accepted(w: Worker, m: Extract<FromWorker, { t: 'a' }>): void {
    const post = (msg: ToWorker): void => void (w.child.connected && w.child.send(msg));
    const svc = this.shared.get(m.key)?.svc;
    if (!svc || svc.retired) return post({ t: 'x', id: m.id });
    const caddr = unmapped(m.caddr);
    const now = Date.now();
    const b = svc.schedule(caddr, m.cport, now);
    if (!b) {
      this.noDest(svc.key).hit();
      return post({ t: 'x', id: m.id });
    }
    const conn = new RemoteTcpConn(m.id, svc, this.ctx, w, caddr, m.cport, b.dest, b.template, now, m.laddr, m.lport);
    w.conns.set(m.id, conn);
    this.ctx.counters.forwardedByWorkers++;
    post({ t: 'r', id: m.id, host: b.dest.sched.address, port: b.dest.sched.port, pp: conn.header(b.dest) });
  }

  private noDest(key: string): NoDestinationLog {
    let l = this.noDestLogs.get(key);
    if (!l) this.noDestLogs.set(key, (l = new NoDestinationLog(this.ctx, key)));
    return l;
  }

  async stop(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve();
            w.child.once('exit', () => resolve());
            if (w.child.connected) w.child.disconnect();
            setTimeout(() => w.child.kill('SIGKILL'), 2000).unref();
          }),
      ),
    );
  }
}

/** The primary's record of a connection forwarded by a worker. */
class RemoteTcpConn extends TrackedTcpConn {
  constructor(
    private readonly id: number,
    svc: ProxyService,
    ctx: ProxyContext,
    private readonly worker: Worker,
    caddr: string,
    cport: number,
    dest: ProxyDest,
    template: Template | null,
    now: number,
    private readonly laddr: string | undefined,
    private readonly lport: number | undefined,
  ) {
    super(svc, ctx, caddr, cport, dest, template, now);
  }

  header(dest: ProxyDest): string | null {
    if (!dest.proxyProtocol) return null;
    const svc = this.svc.service;
    return encodeProxyV2({
      protocol: 'tcp',
      source: { address: this.caddr, port: this.cport },
      destination: { address: this.laddr ?? svc.address, port: this.lport ?? svc.port },
    }).toString('base64');
  }

  private post(m: ToWorker): void {
    if (this.worker.child.connected) this.worker.child.send(m);
  }

  established(): void {
    this.markEstablished(Date.now());
  }

  finWait(): void {
    this.markFinWait(Date.now());
  }

  connectFailed(reason: string): void {
    const next = this.retryTarget(reason);
    if (!next) return this.post({ t: 'x', id: this.id });
    this.post({ t: 'r', id: this.id, host: next.sched.address, port: next.sched.port, pp: this.header(next) });
  }

  /** Batched deltas from the worker: in packets, in bytes, out packets, out bytes. */
  addCounts(d: number[], i: number): void {
    const s = this.svc.stats;
    const ds = this.dest.stats;
    s.inPkts += d[i]!;
    s.inBytes += d[i + 1]!;
    s.outPkts += d[i + 2]!;
    s.outBytes += d[i + 3]!;
    ds.inPkts += d[i]!;
    ds.inBytes += d[i + 1]!;
    ds.outPkts += d[i + 2]!;
    ds.outBytes += d[i + 3]!;
    this.last = Date.now();
  }

  finish(d: number[]): void {
    const now = Date.now();
    // The worker reports the end once; a repeat (or a report after a restart cleaned up) adds nothing.
    if (!this.release(now)) return;
    this.addCounts(d, 0);
    this.worker.conns.delete(this.id);
  }

  destroy(): void {
    this.post({ t: 'k', id: this.id });
  }
}
