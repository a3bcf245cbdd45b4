/**
 * Forward bytes both ways between a client and its real server with backpressure (a full write pauses the other
 * side until `drain`) and half-close (each side's end is passed on after `onEnd`). The forwarding loop of the
 * node engine (tcp-conn.ts); `onIn`/`onOut` count each chunk.
 */
import type { Socket } from 'node:net';

export interface PipeHooks {
  /** A chunk from the client, about to go to the real server. */
  onIn(bytes: number): void;
  /** A chunk from the real server, about to go to the client. */
  onOut(bytes: number): void;
  /** One side ended (FIN); called before the end is passed on. */
  onEnd(): void;
}

export function pipeBothWays(client: Socket, server: Socket, hooks: PipeHooks): void {
  client.on('data', (chunk: Buffer) => {
    hooks.onIn(chunk.length);
    if (!server.write(chunk)) client.pause();
  });
  server.on('data', (chunk: Buffer) => {
    hooks.onOut(chunk.length);
    if (!client.write(chunk)) server.pause();
  });
  server.on('drain', () => client.resume());
  client.on('drain', () => server.resume());
  client.on('end', () => {
    hooks.onEnd();
    server.end();
  });
  server.on('end', () => {
    hooks.onEnd();
    client.end();
  });
  client.resume();
}
