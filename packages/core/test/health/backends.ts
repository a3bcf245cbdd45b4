/**
 * Real servers for health tests, on 127.0.0.1 with an OS-chosen port that survives going down and back up:
 * "up" answers, "down" closes the listener (connection refused), "hang" accepts and never answers.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server, Socket } from 'node:net';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@vsd/sys';

export type BackendMode = 'up' | 'down' | 'hang';

export interface HttpBackend {
  port: number;
  mode: BackendMode;
  status: number;
  body: string;
  requests: IncomingMessage[];
  set(mode: BackendMode): Promise<void>;
  close(): Promise<void>;
}

export async function startHttpBackend(opts: { tls?: { key: string; cert: string } } = {}): Promise<HttpBackend> {
  const sockets = new Set<Socket>();
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    backend.requests.push(req);
    if (backend.mode === 'hang') return;
    res.writeHead(backend.status, { 'content-type': 'text/plain' });
    res.end(backend.body);
  };
  const server: Server = opts.tls ? createHttpsServer(opts.tls, onRequest) : createHttpServer(onRequest);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await listen(server, 0);
  const backend: HttpBackend = {
    port: (server.address() as { port: number }).port,
    mode: 'up',
    status: 200,
    body: 'hello\n',
    requests: [],
    async set(mode) {
      const wasDown = backend.mode === 'down';
      backend.mode = mode;
      if (mode === 'down' && !wasDown) await closeServer(server, sockets);
      if (mode !== 'down' && wasDown) await listen(server, backend.port);
    },
    async close() {
      if (backend.mode !== 'down') await closeServer(server, sockets);
      backend.mode = 'down';
    },
  };
  return backend;
}

/** A TCP-only real server: accepts and says nothing ("hang" is the same as "up" for a TCP connect). */
export async function startTcpBackend(): Promise<HttpBackend> {
  return startHttpBackend();
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    for (const s of sockets) s.destroy();
  });
}

/** A port nothing listens on: bound once and released. */
export async function closedPort(): Promise<number> {
  const b = await startHttpBackend();
  await b.close();
  return b.port;
}

/** A pino logger whose JSON lines the test can read. */
export function captureLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      out.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  const logger = createLogger({ level: 'debug' }, stream);
  return { logger, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** Poll until `fn` is true (bounded). */
export async function waitFor(fn: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A port where a TCP connect hangs: a listener in a child process that never accepts, with its one-slot
 * accept queue filled, so the kernel drops further SYNs.
 */
export async function startBlackhole(): Promise<{ port: number; close(): void }> {
  const { spawn } = await import('node:child_process');
  const { connect } = await import('node:net');
  const code = `const s=require('net').createServer().listen({port:0,host:'127.0.0.1',backlog:1},()=>{process.stdout.write(String(s.address().port)+'\\n');setTimeout(()=>Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0,60000),20)})`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'ignore'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
    child.once('exit', () => reject(new Error('blackhole listener exited')));
  });
  await sleep(100);
  const fillers: Socket[] = [];
  // Fill the accept queue; connects beyond it never complete.
  for (let i = 0; i < 4; i++) {
    const s = connect({ host: '127.0.0.1', port });
    s.on('error', () => undefined);
    fillers.push(s);
    await sleep(20);
  }
  return {
    port,
    close() {
      for (const s of fillers) s.destroy();
      child.kill('SIGKILL');
    },
  };
}
