/** HAProxy agent-check responder: every TCP connection gets one line (see formatAgentCheck) and is closed. */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { formatAgentCheck, parseListen, type AgentCheckInput, type Logger } from '@vsd/core';

export class AgentCheckServer {
  private server: Server | null = null;

  constructor(
    private readonly listen: string,
    private readonly current: () => AgentCheckInput,
    private readonly log: Logger,
  ) {}

  async start(): Promise<{ host: string; port: number }> {
    const at = parseListen(this.listen)!;
    const server = createServer((sock) => {
      sock.on('error', () => sock.destroy());
      // HAProxy may send its agent-send string first; the answer does not depend on it.
      sock.end(formatAgentCheck(this.current()));
      sock.setTimeout(2000, () => sock.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(at.port, at.host, () => resolve());
    });
    server.on('error', (err) => this.log.error({ err }, 'agent-check listener error'));
    this.server = server;
    const a = server.address() as AddressInfo;
    this.log.info({ listen: `${a.address}:${a.port}` }, 'agent-check responder listening');
    return { host: a.address, port: a.port };
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
