import { spawn } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, listen, spawnVsd, TempDir, VSD_BIN, type VsdProcess } from './harness.js';

// PROXY protocol v2 signature (12 bytes), then version 2 / PROXY command.
const SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a21', 'hex');

let dir: TempDir;
let running: VsdProcess | null = null;
const cleanups: Array<() => void> = [];
afterEach(async () => {
  await running?.stop();
  running = null;
  for (const c of cleanups.splice(0)) c();
  dir?.remove();
});

/** A real server that records the first bytes of each connection and answers once the request has arrived. */
async function recordingServer(name: string): Promise<{ port: number; first: Buffer[] }> {
  const first: Buffer[] = [];
  const held: Socket[] = [];
  const server = createServer((s) => {
    held.push(s);
    let got = Buffer.alloc(0);
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.includes('\r\n\r\n', got.indexOf('GET'))) {
        first.push(got);
        s.end(`HTTP/1.0 200 OK\r\n\r\n${name}\n`);
      }
    });
  });
  const port = await listen(server);
  cleanups.push(() => {
    for (const s of held) s.destroy();
    server.close();
  });
  return { port, first };
}

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(port, '127.0.0.1', () => c.write('GET / HTTP/1.0\r\n\r\n'));
    let body = '';
    c.on('data', (d) => (body += d.toString()));
    c.on('end', () => resolve(body));
    c.on('error', reject);
    c.setTimeout(5000, () => c.destroy(new Error('timed out')));
  });
}

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [VSD_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

const serviceYaml = (vip: number, a: number, b: number) => `virtual_servers:
  - address: 127.0.0.1:${vip}
    lb_algo: rr
    proxy_protocol: true
    real_servers:
      - address: 127.0.0.1:${a}
      - address: 127.0.0.1:${b}
        proxy_protocol: false
`;

describe('vsd.yaml proxy_protocol', () => {
  it('sends a PROXY v2 header to the real servers of a service that asks for it, except one that opts out, and follows a reload', async () => {
    dir = new TempDir();
    const a = await recordingServer('A');
    const b = await recordingServer('B');
    const vip = await freePort();
    const config = dir.file('vsd.yaml', `dataplane: proxy\n${serviceYaml(vip, a.port, b.port)}`);
    const vsd = spawnVsd(['--config', config, '--socket', join(dir.path, 'vsd.sock'), '--state', join(dir.path, 'state.json')]);
    running = vsd;
    await vsd.waitForLog(/^vsd ready$/);

    const answers = [await get(vip), await get(vip)];
    expect(answers.map((x) => x.trim().split('\n').at(-1)).sort()).toEqual(['A', 'B']);
    expect(a.first).toHaveLength(1);
    expect(b.first).toHaveLength(1);
    expect(a.first[0]!.subarray(0, 13).equals(SIGNATURE)).toBe(true);
    // AF_INET over STREAM, the client's loopback address as source, the VIP as destination.
    expect(a.first[0]![13]).toBe(0x11);
    expect([...a.first[0]!.subarray(16, 20)]).toEqual([127, 0, 0, 1]);
    expect(a.first[0]!.readUInt16BE(26)).toBe(vip);
    expect(a.first[0]!.subarray(28).toString()).toBe('GET / HTTP/1.0\r\n\r\n');
    expect(b.first[0]!.toString()).toBe('GET / HTTP/1.0\r\n\r\n');

    // A reload that only turns the header off changes no service, yet takes effect.
    dir.file('vsd.yaml', `dataplane: proxy\n${serviceYaml(vip, a.port, b.port).replace('proxy_protocol: true', 'proxy_protocol: false')}`);
    vsd.child.kill('SIGHUP');
    await vsd.waitForLog(/config file unchanged since it was last applied/);
    await new Promise((r) => setTimeout(r, 300));
    await get(vip);
    await get(vip);
    expect(a.first).toHaveLength(2);
    expect(a.first[1]!.toString()).toBe('GET / HTTP/1.0\r\n\r\n');
  });

  it('is refused by --check and at start on a dataplane that cannot write the header', async () => {
    dir = new TempDir();
    const file = dir.file('vsd.yaml', `dataplane: ipvs\n${serviceYaml(8080, 8081, 8082).replace(/127\.0\.0\.1/g, '192.0.2.10')}`);
    const check = await run(['--check', '--config', file]);
    expect(check.code).toBe(1);
    expect(check.stderr).toMatch(/proxy_protocol is set for 1 real server\(s\) but the ipvs dataplane cannot send a PROXY header/);
    const start = await run(['--config', file, '--dataplane', 'none', '--socket', join(dir.path, 'vsd.sock'), '--state', join(dir.path, 'state.json')]);
    expect(start.code).toBe(1);
    expect(start.stderr + '').toMatch(/none dataplane cannot send a PROXY header/);
  });
});
