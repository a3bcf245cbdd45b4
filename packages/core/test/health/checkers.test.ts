import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { createHttpChecker } from '../../src/health/http.js';
import { createScriptChecker } from '../../src/health/script.js';
import { startBlackhole, startHttpBackend, type HttpBackend } from './backends.js';
import { checkerContract, type Scenario } from './checker-contract.js';
import { ENGINES, httpChecker, tcpChecker } from './engines.js';
import { selfSignedCert } from './tls.js';

const dir = mkdtempSync(join(tmpdir(), 'vsd-health-contract-'));
let up: HttpBackend;
let hang: HttpBackend;
let down: HttpBackend;
let tlsUp: HttpBackend;
let tlsHang: HttpBackend;
let blackhole: { port: number; close(): void };

beforeAll(async () => {
  const tls = selfSignedCert(dir, 'rs.test');
  [up, hang, down, tlsUp, tlsHang] = await Promise.all([
    startHttpBackend(),
    startHttpBackend(),
    startHttpBackend(),
    startHttpBackend({ tls }),
    startHttpBackend({ tls }),
  ]);
  await hang.set('hang');
  await tlsHang.set('hang');
  await down.set('down');
  blackhole = await startBlackhole();
});
afterAll(async () => {
  await Promise.all([up, hang, down, tlsUp, tlsHang].map((b) => b.close()));
  blackhole.close();
});

const port = (s: Scenario, tls = false): number => (s === 'up' ? (tls ? tlsUp : up) : s === 'hang' ? (tls ? tlsHang : hang) : down).port;
const target = (s: Scenario, tls = false) => ({ address: '127.0.0.1', port: port(s, tls) });

for (const { engine } of ENGINES) {
  checkerContract(`tcp (engine: ${engine})`, () => ({
    kind: 'tcp',
    // A listener that answers nothing still accepts a TCP connect: the hanging TCP target is a full accept queue.
    make: (s, timeoutMs) => tcpChecker(engine, { target: s === 'hang' ? { address: '127.0.0.1', port: blackhole.port } : target(s), timeoutMs }),
  }));

  checkerContract(`http (engine: ${engine})`, () => ({
    kind: 'http',
    make: (s, timeoutMs) => httpChecker(engine, { target: target(s), tls: false, path: '/', statusCodes: [[200, 299]], timeoutMs }),
  }));
}

checkerContract('https', () => ({
  kind: 'https',
  make: (s, timeoutMs) => createHttpChecker({ target: target(s, true), tls: true, path: '/', statusCodes: [[200, 299]], timeoutMs }),
}));

checkerContract('misc', () => ({
  kind: 'misc',
  make: (s, timeoutMs) => {
    const script = join(dir, `${s}.sh`);
    writeFileSync(script, s === 'up' ? 'exit 0\n' : s === 'down' ? 'exit 1\n' : 'sleep 30\n', { mode: 0o755 });
    return createScriptChecker({ command: script, timeoutMs, dynamic: false, killGraceMs: 200 });
  },
}));
