import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '@vsd/core';
import { AgentCheckServer } from '../src/agent-check-server.js';

// Issue #16: the agent-check responder accepted any number of connections.
const servers: AgentCheckServer[] = [];
const socks: Socket[] = [];
afterEach(async () => {
  for (const s of socks.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await s.stop();
});

function ask(port: number, hold = false): Promise<{ sock: Socket; line: Promise<string> }> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    socks.push(sock);
    let text = '';
    const line = new Promise<string>((r) => {
      sock.on('data', (d) => (text += d.toString()));
      sock.on('end', () => r(text));
      sock.on('close', () => r(text));
      sock.on('error', () => r(text));
    });
    sock.on('connect', () => {
      // A flood peer never reads nor closes; a polite one (HAProxy) reads the line and closes.
      if (hold) sock.pause();
      resolve({ sock, line });
    });
    sock.on('error', () => resolve({ sock, line }));
  });
}

async function until(what: string, f: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('agent-check responder', () => {
  it('bounds open connections: over max_connections a connection is closed at accept, and slots come back', async () => {
    const srv = new AgentCheckServer('127.0.0.1:0', () => ({ maintenance: false, downReason: null, weightPct: 100 }), silentLogger, 8);
    servers.push(srv);
    const { port } = await srv.start();
    const flood = await Promise.all(Array.from({ length: 40 }, () => ask(port, true)));
    // Connected on this side is not yet accepted on the server's: wait for the server to have seen all 40 (the 8 it
    // holds linger 2 s, far longer than accepting 40 connections takes), instead of a fixed 100 ms.
    await until('40 accepted or refused', () => srv.refusedBusy >= 32);
    expect(srv.openConnections).toBe(8);
    expect(srv.refusedBusy).toBe(32);
    for (const f of flood) f.sock.destroy();
    await until('slots back', () => srv.openConnections === 0);
    const polite = await ask(port);
    expect(await polite.line).toBe('up ready 100%\n');
  });

  it('ignores what the peer sends (junk is never parsed) and still answers one line', async () => {
    const srv = new AgentCheckServer('127.0.0.1:0', () => ({ maintenance: true, downReason: null, weightPct: 100 }), silentLogger);
    servers.push(srv);
    const { port } = await srv.start();
    const a = await ask(port);
    a.sock.write(Buffer.alloc(64 * 1024, 0xff));
    expect(await a.line).toBe('maint\n');
  });
});
