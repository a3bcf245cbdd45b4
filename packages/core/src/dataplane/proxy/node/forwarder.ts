/**
 * The node engine as a TcpForwarder: TCP services served in this thread with Node's net sockets (./tcp-listener.ts,
 * ./tcp-conn.ts). The fallback where the epoll engine cannot run (not Linux, libc not reachable through koffi, no
 * build), and what `engine: 'node'` asks for.
 */
import { LocalForwarder, type LocalForwarderSettings } from '../local.js';
import type { EngineThreadCounts, ProxyContext, TcpForwarder } from '../types.js';
import { TcpListener } from './tcp-listener.js';

export class NodeForwarder extends LocalForwarder<TcpListener> implements TcpForwarder {
  readonly engine = 'node';

  constructor(ctx: ProxyContext, settings: LocalForwarderSettings) {
    super(ctx, { ...settings, listener: (svc, c) => new TcpListener(svc, c) });
  }

  describe(): string {
    return 'node';
  }

  engineThreads(): EngineThreadCounts[] {
    return [];
  }
}
