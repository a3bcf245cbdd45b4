import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLab, SEED_HOSTS, waitFor, type Lab } from '../lib/netns.js';
import { hasAddress, neighbourMac, startKeepalived, startRunner, workDir, type Keepalived, type Runner } from '../../packages/ha/test/support/vrrp-lab.js';

const VIP6 = 'fd00:77::100';

describe('VRRP unicast peers and IPv6', () => {
  let lab: Lab;
  let dir: string;
  const runners: Runner[] = [];
  const kas: Keepalived[] = [];
  const start = (host: string, config: Record<string, unknown>) => {
    const r = startRunner(lab.host(host), dir, config);
    runners.push(r);
    return r;
  };

  beforeAll(async () => {
    lab = await createLab(SEED_HOSTS);
    dir = workDir();
    await lab.host('client').exec('ip', ['-6', 'addr', 'add', 'fd00:77::2/64', 'dev', 'eth0', 'nodad']);
    for (const h of ['client', 'lvs1', 'lvs2']) {
      await waitFor(`${h} link-local ready`, async () => {
        const r = await lab.host(h).exec('ip', ['-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'link']);
        return r.stdout.includes('fe80::') && !r.stdout.includes('tentative');
      });
    }
  });
  afterAll(async () => {
    await lab?.destroy();
  });
  afterEach(async () => {
    await Promise.all([...runners.splice(0).map((r) => r.stop('SIGKILL')), ...kas.splice(0).map((k) => k.stop())]);
    for (const h of ['lvs1', 'lvs2']) {
      await lab.host(h).exec('ip', ['addr', 'flush', 'dev', 'eth0', 'to', '10.77.0.100/32']);
      await lab.host(h).exec('ip', ['-6', 'addr', 'del', `${VIP6}/64`, 'dev', 'eth0']);
    }
  });

  it('unicast peers: elects, hands over on SIGTERM, and ignores a host that is not a configured peer', async () => {
    const cfg = (priority: number, src: string, peer: string) => ({
      interface: 'eth0',
      vrid: 52,
      priority,
      unicast_src_ip: src,
      unicast_peers: [peer],
      vips: ['10.77.0.100/24'],
    });
    const lvs1 = start('lvs1', cfg(150, '10.77.0.11', '10.77.0.12'));
    const lvs2 = start('lvs2', cfg(100, '10.77.0.12', '10.77.0.11'));
    // web1 believes itself a peer of lvs2 only; lvs2 must drop its adverts.
    const rogue = start('web1', cfg(200, '10.77.0.21', '10.77.0.12'));
    await lvs1.waitState('MASTER');
    await rogue.waitState('MASTER');
    await lvs2.waitState('BACKUP');
    await waitFor('rogue adverts dropped', () => lvs2.lines.some((l) => l.msg === 'VRRP packet dropped' && l.reason === 'unknown_peer'));
    await new Promise((r) => setTimeout(r, 300));
    expect(lvs2.state()).toBe('BACKUP');
    await lvs1.stop('SIGTERM');
    await lvs2.waitState('MASTER', 2000);
    await waitFor('VIP on lvs2', () => hasAddress(lab.host('lvs2'), '10.77.0.100'));
  });

  it('unicast interop: keepalived master with unicast_peer, our unicast backup', async () => {
    const ka = startKeepalived(lab.host('lvs1'), dir, {
      version: 3,
      vrid: 53,
      priority: 150,
      advertInt: 0.1,
      vips: ['10.77.0.100/24'],
      unicast: { src: '10.77.0.11', peers: ['10.77.0.12'] },
    });
    kas.push(ka);
    const r = start('lvs2', {
      interface: 'eth0',
      vrid: 53,
      priority: 100,
      advert_int: 0.1,
      unicast_src_ip: '10.77.0.12',
      unicast_peers: ['10.77.0.11'],
      vips: ['10.77.0.100/24'],
    });
    await ka.waitState('MASTER');
    await r.waitState('BACKUP');
    await new Promise((res) => setTimeout(res, 500));
    expect(r.state()).toBe('BACKUP');
    expect(r.lines.filter((l) => l.msg === 'VRRP packet dropped')).toEqual([]);
    await ka.stop();
    await r.waitState('MASTER', 3000);
  });

  it('IPv6: elects over ff02::12, and a crash moves the VIP and the client neighbour entry (unsolicited NA)', async () => {
    const cfg = (priority: number) => ({ interface: 'eth0', vrid: 54, priority, vips: [`${VIP6}/64`] });
    const lvs1 = start('lvs1', cfg(150));
    const lvs2 = start('lvs2', cfg(100));
    await lvs1.waitState('MASTER');
    await lvs2.waitState('BACKUP');
    const heard = await waitFor('lvs2 names the master', () => lvs2.lines.find((l) => l.msg === 'new master'));
    expect(heard!.master).toMatch(/^fe80::/);
    const client = lab.host('client');
    await waitFor('VIP6 reachable', async () => (await client.exec('ping', ['-6', '-c', '1', '-W', '1', VIP6])).code === 0);
    expect(await neighbourMac(client, VIP6)).toBe(lab.host('lvs1').mac);
    await lab.host('lvs1').exec('ip', ['link', 'set', 'eth0', 'down']);
    await lvs1.stop('SIGKILL');
    try {
      await lvs2.waitState('MASTER', 2000);
      await waitFor('client neighbour entry -> lvs2 MAC', async () => (await neighbourMac(client, VIP6)) === lab.host('lvs2').mac, 2000);
      expect((await client.exec('ping', ['-6', '-c', '1', '-W', '1', VIP6])).code).toBe(0);
    } finally {
      await lab.host('lvs1').exec('ip', ['link', 'set', 'eth0', 'up']);
      // The link-local address goes through DAD again after the link comes up; the next test needs it usable.
      await waitFor('lvs1 link-local ready again', async () => {
        const r = await lab.host('lvs1').exec('ip', ['-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'link']);
        return r.stdout.includes('fe80::') && !r.stdout.includes('tentative');
      });
    }
  });

  it('IPv6: an instance started while its link-local address is tentative waits for DAD, says so, then runs', async () => {
    const lvs2 = lab.host('lvs2');
    const linkLocal = async () => (await lvs2.exec('ip', ['-6', '-o', 'addr', 'show', 'dev', 'eth0', 'scope', 'link'])).stdout;
    // DAD is made to outlast the runner's start-up (100 probes, a second apart) and ended by the test once the
    // runner said it waits: with the default single probe it ended within 1-2 s of the link coming up, before a
    // runner started on a loaded host had tried the address, and the test saw no wait at all.
    await lvs2.exec('sysctl', ['-qw', 'net.ipv6.conf.eth0.dad_transmits=100']);
    try {
      await lvs2.exec('ip', ['link', 'set', 'eth0', 'down']);
      await lvs2.exec('ip', ['link', 'set', 'eth0', 'up']);
      const address = await waitFor('a tentative link-local address', async () => /inet6 (fe80::[0-9a-f:]+\/64) .*tentative/.exec(await linkLocal())?.[1]);
      const r = start('lvs2', { interface: 'eth0', vrid: 57, priority: 150, advert_int: 0.1, vips: [`${VIP6}/64`] });
      await waitFor('the runner waits for DAD', () => r.lines.some((l) => l.msg === 'VRRP source address not usable yet; waiting'), 20_000);
      expect(r.state()).not.toBe('MASTER');
      // DAD ends: the same address, no longer tentative.
      await lvs2.exec('ip', ['-6', 'addr', 'del', address!, 'dev', 'eth0']);
      await lvs2.exec('ip', ['-6', 'addr', 'add', address!, 'dev', 'eth0', 'nodad']);
      expect(await linkLocal()).not.toContain('tentative');
      await r.waitState('MASTER', 8000);
      expect(r.lines.some((l) => l.msg === 'VRRP source address usable')).toBe(true);
    } finally {
      await lvs2.exec('sysctl', ['-qw', 'net.ipv6.conf.eth0.dad_transmits=1']);
    }
  });

  it('IPv6 interop: our master, keepalived backup, and back on priority 0', async () => {
    const r = start('lvs1', { interface: 'eth0', vrid: 55, priority: 150, advert_int: 0.1, vips: [`${VIP6}/64`] });
    await r.waitState('MASTER');
    const ka = startKeepalived(lab.host('lvs2'), dir, { version: 3, vrid: 55, priority: 100, advertInt: 0.1, vips: [`${VIP6}/64`] });
    kas.push(ka);
    await ka.waitState('BACKUP');
    await new Promise((res) => setTimeout(res, 800));
    expect(ka.count('MASTER')).toBe(0);
    await r.stop('SIGTERM');
    await ka.waitState('MASTER', 3000);
  });

  it('notify scripts get keepalived arguments; a failing track script (weight -100) hands mastership over', async () => {
    const notify = join(dir, 'notify.sh');
    const record = join(dir, 'notify.log');
    const healthy = join(dir, 'healthy');
    writeFileSync(notify, `#!/bin/sh\necho "$*" >> ${record}\n`);
    chmodSync(notify, 0o755);
    writeFileSync(healthy, '');
    const hooks = { master: notify, backup: notify, fault: notify, stop: notify };
    const lvs1 = start('lvs1', {
      interface: 'eth0',
      vrid: 56,
      priority: 150,
      vips: ['10.77.0.100/24'],
      notify: hooks,
      track_scripts: [{ script: `/usr/bin/test -f ${healthy}`, interval: 0.1, weight: -100, fall: 2, rise: 2 }],
    });
    const lvs2 = start('lvs2', { interface: 'eth0', vrid: 56, priority: 100, vips: ['10.77.0.100/24'], notify: hooks });
    await lvs1.waitState('MASTER');
    await lvs2.waitState('BACKUP');
    await waitFor('notify MASTER from lvs1', () => existsSync(record) && readFileSync(record, 'utf8').includes('INSTANCE VI_1 MASTER 150'));
    rmSync(healthy);
    await lvs2.waitState('MASTER', 3000);
    await lvs1.waitState('BACKUP', 3000);
    expect(lvs1.lines.some((l) => l.msg === 'effective priority changed' && l.to === 50)).toBe(true);
    await waitFor('notify BACKUP 50 and MASTER 100', () => {
      const text = readFileSync(record, 'utf8');
      return text.includes('INSTANCE VI_1 BACKUP 50') && text.includes('INSTANCE VI_1 MASTER 100');
    });
    writeFileSync(healthy, '');
    await lvs1.waitState('MASTER', 3000);
    await lvs2.stop('SIGTERM');
    await waitFor('notify STOP', () => readFileSync(record, 'utf8').includes('INSTANCE VI_1 STOP 100'));
  });

  it('v3_checksum_as_v2 puts the RFC 9568 IPv4 checksum on the wire: our backup accepts it, keepalived 2.2.7 does not', async () => {
    const cfg = (priority: number) => ({ interface: 'eth0', vrid: 58, priority, advert_int: 0.1, v3_checksum_as_v2: true, vips: ['10.77.0.100/24'] });
    const lvs1 = start('lvs1', cfg(150));
    await lvs1.waitState('MASTER');
    const lvs2 = start('lvs2', cfg(100));
    await lvs2.waitState('BACKUP');
    await new Promise((res) => setTimeout(res, 600));
    expect(lvs2.state()).toBe('BACKUP');
    expect(lvs2.lines.filter((l) => l.msg === 'VRRP packet dropped')).toEqual([]);
    await lvs2.stop('SIGKILL');
    const ka = startKeepalived(lab.host('lvs2'), dir, { version: 3, vrid: 58, priority: 100, advertInt: 0.1, vips: ['10.77.0.100/24'] });
    kas.push(ka);
    await waitFor('keepalived rejects the checksum', () => ka.output().includes('Invalid VRRPv3 checksum'));
  });
});
