import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLab, SEED_HOSTS, waitFor, type Lab } from '../lib/netns.js';
import { hasAddress, neighbourMac, startRunner, workDir, type Runner } from '../../packages/ha/test/support/vrrp-lab.js';

const VIP = '10.77.0.100';
const ha = (priority: number, extra: Record<string, unknown> = {}) => ({
  instance: 'VI_1',
  interface: 'eth0',
  vrid: 51,
  priority,
  vips: [`${VIP}/24`],
  ...extra,
});

describe('VRRP between two vrrp-run processes (lvs1, lvs2)', () => {
  let lab: Lab;
  let dir: string;
  const runners: Runner[] = [];
  const start = (host: string, config: Record<string, unknown>) => {
    const r = startRunner(lab.host(host), dir, config);
    runners.push(r);
    return r;
  };

  beforeAll(async () => {
    lab = await createLab(SEED_HOSTS);
    dir = workDir();
  });
  afterAll(async () => {
    await lab?.destroy();
  });
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop('SIGKILL')));
    for (const h of ['lvs1', 'lvs2']) await lab.host(h).exec('ip', ['addr', 'flush', 'dev', 'eth0', 'to', `${VIP}/32`]);
  });

  it('elects the higher priority; the backup holds no VIP; crash of the master moves the VIP and the client neighbour entry (GARP)', async () => {
    const lvs1 = start('lvs1', ha(150));
    const lvs2 = start('lvs2', ha(100));
    await lvs1.waitState('MASTER');
    await lvs2.waitState('BACKUP');
    await waitFor('VIP on lvs1', () => hasAddress(lab.host('lvs1'), VIP));
    expect(await hasAddress(lab.host('lvs2'), VIP)).toBe(false);
    const client = lab.host('client');
    expect((await client.exec('ping', ['-c', '1', '-W', '1', VIP])).code).toBe(0);
    expect(await neighbourMac(client, VIP)).toBe(lab.host('lvs1').mac);

    // A crash: the process dies and the host drops off the segment, so only lvs2 can answer for the VIP.
    await lvs1.stop('SIGKILL');
    await lab.host('lvs1').exec('ip', ['link', 'set', 'eth0', 'down']);
    try {
      const m = await lvs2.waitState('MASTER', 2000);
      expect(m.reason).toBe('master-down');
      await waitFor('VIP on lvs2', () => hasAddress(lab.host('lvs2'), VIP), 2000);
      // The client sent nothing: only lvs2's gratuitous ARP can have changed its entry.
      await waitFor('client neighbour entry -> lvs2 MAC', async () => (await neighbourMac(client, VIP)) === lab.host('lvs2').mac, 2000);
      expect((await client.exec('ping', ['-c', '1', '-W', '1', VIP])).code).toBe(0);
      expect(lvs2.lines.find((l) => l.msg === 'sent gratuitous ARPs / unsolicited NAs')?.sent).toBe(5);
    } finally {
      await lab.host('lvs1').exec('ip', ['link', 'set', 'eth0', 'up']);
    }
  });

  it('failover as the client sees it stays under 300 ms with the default advert_int (0.05 s)', async () => {
    const lvs1 = start('lvs1', ha(150));
    const lvs2 = start('lvs2', ha(100));
    await lvs1.waitState('MASTER');
    await lvs2.waitState('BACKUP');
    const client = lab.host('client');
    await waitFor('VIP reachable', async () => (await client.exec('ping', ['-c', '1', '-W', '1', VIP])).code === 0);
    // 10 ms pings for 1.5 s; the master crashes 300 ms in. The longest gap between replies is the outage.
    const ping = client.exec('ping', ['-D', '-i', '0.01', '-W', '1', '-w', '2', '-c', '150', VIP], { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    // The host drops off the segment first (a crash as the network sees it), then its process dies.
    await lab.host('lvs1').exec('ip', ['link', 'set', 'eth0', 'down']);
    await lvs1.stop('SIGKILL');
    try {
      const out = (await ping).stdout;
      const times = [...out.matchAll(/^\[(\d+\.\d+)\].*icmp_seq=\d+/gm)].map((m) => Number(m[1]) * 1000);
      expect(times.length).toBeGreaterThan(50);
      let gap = 0;
      for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i] - times[i - 1]);
      process.stderr.write(`client-seen failover gap: ${gap.toFixed(1)} ms\n`);
      expect(gap).toBeGreaterThan(50);
      expect(gap).toBeLessThan(300);
      await lvs2.waitState('MASTER');
    } finally {
      await lab.host('lvs1').exec('ip', ['link', 'set', 'eth0', 'up']);
    }
  });

  it('SIGTERM on the master sends priority 0: the backup takes over after Skew_Time, not Master_Down_Interval', async () => {
    // advert_int 0.2 s: Master_Down_Interval = 0.6 + 0.12 s, Skew_Time = 0.12 s for priority 100.
    const lvs1 = start('lvs1', ha(150, { advert_int: 0.2 }));
    const lvs2 = start('lvs2', ha(100, { advert_int: 0.2 }));
    await lvs1.waitState('MASTER');
    await lvs2.waitState('BACKUP');
    await waitFor('lvs2 hears adverts', () => !!lvs2.lastStatus());
    const t0 = Date.now();
    await lvs1.stop('SIGTERM');
    const m = await lvs2.waitState('MASTER', 3000);
    const stopLine = lvs1.lines.find((l) => l.msg === 'shutting down');
    const took = Number(m.time) - Number(stopLine?.time ?? t0);
    process.stderr.write(`priority-0 takeover: ${took} ms\n`);
    expect(took).toBeLessThan(450);
    expect(lvs1.lines.find((l) => l.msg === 'exit')?.status).toMatchObject({ counters: { priorityZeroSent: 1 }, vipsHeld: [] });
    await waitFor('VIP on lvs2', () => hasAddress(lab.host('lvs2'), VIP));
    expect(await hasAddress(lab.host('lvs1'), VIP)).toBe(false);
  });

  it('preempts when the higher-priority node returns, and does not with nopreempt', async () => {
    const lvs2 = start('lvs2', ha(100));
    await lvs2.waitState('MASTER');
    const lvs1 = start('lvs1', ha(150));
    await lvs1.waitState('MASTER');
    await lvs2.waitState('BACKUP');
    expect(lvs2.entered('BACKUP')?.reason).toBe('higher-priority');
    await waitFor('VIP moved to lvs1', async () => (await hasAddress(lab.host('lvs1'), VIP)) && !(await hasAddress(lab.host('lvs2'), VIP)));

    await lvs1.stop('SIGTERM');
    await lvs2.waitState('MASTER');
    const quiet = start('lvs1', ha(150, { preempt: false }));
    await quiet.waitState('BACKUP');
    // Several Master_Down_Intervals (~0.18 s each) without preempting.
    await new Promise((r) => setTimeout(r, 1000));
    expect(quiet.state()).toBe('BACKUP');
    expect(lvs2.state()).toBe('MASTER');
  });

  it('resign (SIGUSR1) and takeover (SIGUSR2) move mastership against a running peer and hold it', async () => {
    const lvs1 = start('lvs1', ha(150));
    const lvs2 = start('lvs2', ha(100));
    await lvs1.waitState('MASTER');
    await lvs2.waitState('BACKUP');
    lvs1.child.kill('SIGUSR1');
    await lvs2.waitState('MASTER');
    await lvs1.waitState('BACKUP');
    expect(lvs1.entered('BACKUP')?.reason).toBe('resign');
    await new Promise((r) => setTimeout(r, 500));
    expect(lvs1.state()).toBe('BACKUP');
    expect(lvs2.state()).toBe('MASTER');

    lvs1.child.kill('SIGUSR2');
    await lvs1.waitState('MASTER');
    await lvs2.waitState('BACKUP');
    // lvs2 takes over from the higher-priority lvs1 by advertising 151 and keeps it.
    lvs2.child.kill('SIGUSR2');
    await lvs2.waitState('MASTER');
    await lvs1.waitState('BACKUP');
    await new Promise((r) => setTimeout(r, 500));
    expect(lvs2.state()).toBe('MASTER');
    await waitFor('VIP on lvs2 only', async () => (await hasAddress(lab.host('lvs2'), VIP)) && !(await hasAddress(lab.host('lvs1'), VIP)));
  });

  it('goes FAULT when its interface loses carrier and rejoins when it returns', async () => {
    const lvs1 = start('lvs1', ha(150));
    const lvs2 = start('lvs2', ha(100));
    await lvs1.waitState('MASTER');
    await lvs2.waitState('BACKUP');
    await lab.host('lvs1').exec('ip', ['link', 'set', 'eth0', 'down']);
    try {
      await lvs1.waitState('FAULT', 2000);
      await lvs2.waitState('MASTER', 2000);
    } finally {
      await lab.host('lvs1').exec('ip', ['link', 'set', 'eth0', 'up']);
    }
    await lvs1.waitState('MASTER', 5000);
    await lvs2.waitState('BACKUP', 5000);
  });

  it('a flood of malformed and spoofed adverts is dropped, counted per reason, and does not disturb the election', async () => {
    // advert_int 0.2 s (Master_Down_Interval 0.72 s): the point is the receive path, not scheduling under CPU load.
    const lvs1 = start('lvs1', ha(150, { advert_int: 0.2 }));
    const lvs2 = start('lvs2', ha(100, { advert_int: 0.2 }));
    await lvs1.waitState('MASTER');
    await lvs2.waitState('BACKUP');
    await waitFor('lvs2 follows lvs1', () => lvs2.lines.some((l) => l.msg === 'new master' && l.master === lab.host('lvs1').ip));
    await new Promise((res) => setTimeout(res, 300));
    const before = lvs2.lines.filter((l) => l.event === 'state').length;
    const spray = fileURLToPath(new URL('../../packages/ha/test/support/spray.mjs', import.meta.url));
    const r = await lab.host('web1').exec(process.execPath, [spray, 'eth0', lab.host('web1').ip, '20000'], { timeoutMs: 60_000 });
    expect(JSON.parse(r.stdout).sent).toBeGreaterThan(15_000);
    await new Promise((res) => setTimeout(res, 300));
    // A stalled receive loop would have missed the master's adverts and taken over.
    expect(lvs2.state()).toBe('BACKUP');
    expect(lvs2.lines.filter((l) => l.event === 'state').length).toBe(before);
    expect(lvs1.state()).toBe('MASTER');
    await lvs2.stop('SIGTERM');
    const exit = lvs2.lines.find((l) => l.msg === 'exit')?.status as { counters: { dropped: Record<string, number>; errors: number } };
    process.stderr.write(`drops on lvs2: ${JSON.stringify(exit.counters.dropped)}\n`);
    expect(exit.counters.errors).toBe(0);
    for (const reason of ['truncated', 'addr_list', 'bad_checksum', 'bad_version']) expect(exit.counters.dropped[reason]).toBeGreaterThan(1000);
  });
});
