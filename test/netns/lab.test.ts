import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, SEED_HOSTS, type Lab } from '../lib/netns.js';

describe('netns lab harness', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await createLab(SEED_HOSTS);
  });
  afterAll(async () => {
    await lab?.destroy();
  });

  it('connects every host on one segment', async () => {
    const r = await lab.host('client').exec('ping', ['-c', '1', '-W', '2', lab.host('web2').ip]);
    expect(r.code).toBe(0);
  });

  it('isolates hosts from the host namespace addresses', async () => {
    const r = await lab.host('web1').exec('ip', ['-o', '-4', 'addr', 'show']);
    expect(r.stdout).toContain('10.77.0.21/24');
    expect(r.stdout.split('\n').filter((l) => l.includes('inet ')).length).toBe(2);
  });

  it('removes every namespace on destroy', async () => {
    const extra = await createLab([{ name: 'a', address: '10.78.0.1/24' }]);
    const ns = extra.host('a').ns;
    const child = extra.host('a').spawn('sleep', ['30']);
    await extra.destroy();
    const { execFileSync } = await import('node:child_process');
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(ns);
    expect(child.exitCode !== null || child.signalCode !== null).toBe(true);
  });
});
