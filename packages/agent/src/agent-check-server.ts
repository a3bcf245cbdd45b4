/**
 * HAProxy agent-check responder: every TCP connection gets one line (see formatAgentCheck) and is closed. Nothing
 * the peer sends is read or parsed (HAProxy may send its agent-send string first; the answer does not depend on it): it is discarded unread.
 * Open connections are bounded (`max_connections`): over the bound a connection is closed at accept, and one that
 * does not close within 2 s of its answer is destroyed, so a flood cannot hold the agent's descriptors.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import type { Logger } from '@vsd/sys';
import { formatAgentCheck, parseListen, type AgentCheckInput } from '@vsd/protocol';

export const DEFAULT_AGENT_CHECK_MAX_CONNECTIONS = 64;
const LINGER_MS = 2000;

export class AgentCheckServer {
  private server: Server | null = null;
  private open = 0;
  /** Connections closed at accept because max_connections were open. */
  refusedBusy = 0;

  constructor(
    private readonly listen: string,
    private readonly current: () => AgentCheckInput,
    private readonly log: Logger,
    private readonly maxConnections = DEFAULT_AGENT_CHECK_MAX_CONNECTIONS,
  ) {}

  get openConnections(): number {
    return this.open;
  }

  async start(): Promise<{ host: string; port: number }> {
    const at = parseListen(this.listen)!;
    const server = createServer((sock) => {
      if (this.open >= this.maxConnections) {
        this.refusedBusy++;
        sock.destroy();
        return;
      }
      this.open++;
      sock.once('close', () => this.open--);
      sock.on('error', () => sock.destroy());
      // Whatever the peer sends is discarded unparsed; reading lets its FIN close the socket at once.
      sock.resume();
      sock.end(formatAgentCheck(this.current()));
      sock.setTimeout(LINGER_MS, () => sock.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(at.port, at.host, () => resolve());
    });
    server.on('error', (err) => this.log.error({ err }, 'agent-check listener error'));
    this.server = server;
    const a = server.address() as AddressInfo;
    this.log.info({ listen: `${a.address}:${a.port}`, maxConnections: this.maxConnections }, 'agent-check responder listening');
    return { host: a.address, port: a.port };
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
