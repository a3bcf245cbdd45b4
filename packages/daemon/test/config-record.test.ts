/**
 * Issue 16: a damaged `<state>.config.json` (the record of the config file last applied) was read as "never
 * applied", so a restart let the config file replace the table and silently dropped every runtime change.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createControlClient, type DesiredState } from '@vsd/core';
import { sidecarPath } from '../src/config-apply.js';
import { ONE_SERVICE, startVsd, TempDir, type VsdProcess } from './harness.js';

let dir: TempDir;
let running: VsdProcess | null = null;
afterEach(async () => {
  await running?.stop();
  running = null;
  dir?.remove();
});

const svc = { protocol: 'tcp', address: '10.0.0.1', port: 80 };
const weights = (s: DesiredState) => s.services.flatMap((x) => x.realServers.map((r) => `${r.address}:${r.port}/${r.weight}`));

describe('damaged config record (issue 16)', () => {
  for (const [what, damage] of [
    ['truncated', (text: string) => text.slice(0, 20)],
    ['empty', () => ''],
    ['without a hash', () => '{"generation": 3}\n'],
  ] as const) {
    it(`keeps runtime changes across a restart when the record is ${what}, says so, and writes it again`, async () => {
      dir = new TempDir();
      let { vsd, socket, state } = await startVsd(dir, ONE_SERVICE);
      running = vsd;
      await createControlClient({ socket }).post('/v1/transactions', {
        ops: [{ op: 'edit-server', service: svc, server: { address: '10.0.1.1', port: 8080, forwarding: 'masq', weight: 7 } }],
      });
      expect((await vsd.stop()).code).toBe(0);
      const record = sidecarPath(state);
      const good = readFileSync(record, 'utf8');
      writeFileSync(record, damage(good));

      ({ vsd, socket } = await startVsd(dir, ONE_SERVICE));
      running = vsd;
      const warn = vsd.logs.find((l) => /^config record damaged/.test(l.msg));
      expect(warn).toMatchObject({ level: 40, record });
      expect(weights(await createControlClient({ socket }).get<DesiredState>('/v1/state'))).toEqual(['10.0.1.1:8080/7', '10.0.1.2:8080/3']);
      // Re-recorded for the current file: the next restart is an ordinary "unchanged".
      expect(JSON.parse(readFileSync(record, 'utf8')).servicesHash).toBe(JSON.parse(good).servicesHash);
      expect((await vsd.stop()).code).toBe(0);
      ({ vsd } = await startVsd(dir, ONE_SERVICE));
      running = vsd;
      expect(vsd.logs.some((l) => /^config file unchanged since it was last applied/.test(l.msg))).toBe(true);
    });
  }
});
