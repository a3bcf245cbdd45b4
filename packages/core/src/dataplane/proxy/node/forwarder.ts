/**
 * The node engine as a TcpForwarder: TCP services served in this thread with Node's net sockets (./tcp-listener.ts,
 * ./tcp-conn.ts), and optionally forwarded by worker processes (./workers.ts) that share each listening socket while
 * this thread keeps scheduling.
 */
import { LocalForwarder } from '../local.js';
import type { EngineThreadCounts, ProxyContext, TcpForwarder } from '../types.js';
import { TcpListener } from './tcp-listener.js';
import { WorkerPool } from './workers.js';

export interface NodeForwarderOptions {
  bindFreely: boolean;
  listenRetryMs: number;
  sweepIntervalMs: number;
  /** Forwarding worker processes (0: none) and their compiled entry. */
  workers: number;
  workerScript: string;
}

export class NodeForwarder extends LocalForwarder<TcpListener> implements TcpForwarder {
  readonly engine = 'node';
  private readonly pool: WorkerPool | null;

  constructor(ctx: ProxyContext, private readonly opts: NodeForwarderOptions) {
    const pool = opts.workers > 0 ? new WorkerPool(ctx, opts.workers, opts.workerScript) : null;
    super(ctx, {
      ...opts,
      listener: (svc, c) => new TcpListener(svc, c),
      onListening: (svc, l) => pool?.share(svc, l.netServer),
      onRetire: (key) => pool?.unshare(key),
    });
    this.pool = pool;
  }

  override async start(): Promise<void> {
    await this.pool?.start();
    await super.start();
  }

  describe(): string {
    return this.pool ? `node, ${this.opts.workers} workers` : 'node';
  }

  engineThreads(): EngineThreadCounts[] {
    return [];
  }

  override async close(drainMs: number): Promise<void> {
    await super.close(drainMs);
    await this.pool?.stop();
  }
}
