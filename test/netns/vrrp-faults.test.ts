/**
 * The HA pair under faults operators meet (issue #15), in the seed topology (client, lvs1, lvs2, web1, web2):
 * a split brain made by dropping only VRRP (IP protocol 112) between the dispatchers, then healed under a client load
 * loop; the same with keepalived for a side-by-side figure. Figures are printed on every run.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLab, jsonLines, SEED_HOSTS, waitExit, waitFor, type Host, type Lab } from '../lib/netns.js';
import { BIN, REPO, requireBuild, startVsd, startWebServer, tempDir, waitReady, type VsdProcess } from '../lib/vsd-proc.js';
import { neighbourMac, startKeepalived, startRunner, workDir, type Keepalived } from '../../packages/ha/test/support/vrrp-lab.js';

const VIP = '10.77.0.100';
const PROBE = `${REPO}/test/lib/probe-client.mjs`;

interface HaStatus {
  vrrp: { state: string; vipsHeld: string[] } | null;
}

/** Drop VRRP from the other dispatcher on this one (both directions once applied on both): links stay up. */
async function cutVrrp(host: Host, peer: Host): Promise<void> {
  const script = `table inet vsdt_vrrp {
  chain in { type filter hook input priority 0; policy accept; ip saddr ${peer.ip} ip protocol vrrp drop; }
}
`;
  const r = await host.exec('nft', ['-f', '-'], { input: script });
  if (r.code !== 0) throw new Error(`nft on ${host.name}: ${r.stderr}`);
}

async function healVrrp(host: Host): Promise<void> {
  await host.exec('nft', ['delete', 'table', 'inet', 'vsdt_vrrp']);
}

/** One ping every 20 ms (bounded count), answered by whichever node holds the VIP and owns the client's entry for it. */
function pingLoop(client: Host, count: number) {
  return client.exec('ping', ['-n', '-i', '0.02', '-W', '0.2', '-c', String(count), VIP], { timeoutMs: 60_000 });
}

/** Sequence numbers answered, from ping's output. */
function pingAnswered(out: string): Set<number> {
  return new Set([...out.matchAll(/icmp_seq=(\d+)/g)].map((m) => Number(m[1])));
}

describe('split brain and heal in namespaces', () => {
  let lab: Lab;
  let dir: string;
  const vsd: Record<string, VsdProcess> = {};
  const kas: Keepalived[] = [];

  const config = (priority: number, ha: Record<string, unknown> = {}) => ({
    dataplane: 'proxy',
    ha: { instance: 'VI_1', interface: 'eth0', vrid: 51, priority, advert_int: 0.05, vips: [`${VIP}/24`], ...ha },
    virtual_servers: [
      {
        address: `${VIP}:80`,
        protocol: 'tcp',
        lb_algo: 'rr',
        lb_kind: 'NAT',
        real_servers: [
          { address: `${lab.host('web1').ip}:80`, weight: 1 },
          { address: `${lab.host('web2').ip}:80`, weight: 1 },
        ],
      },
    ],
  });
  const state = async (name: string) => (await vsd[name]!.api<HaStatus>('/v1/ha')).vrrp?.state;

  beforeAll(async () => {
    requireBuild();
    lab = await createLab(SEED_HOSTS);
    dir = tempDir('faults');
    const w1 = startWebServer(lab.host('web1'), 80, 'this is test 1 web');
    const w2 = startWebServer(lab.host('web2'), 80, 'this is test 2 web');
    await Promise.all([waitReady(w1, 'web1'), waitReady(w2, 'web2')]);
  });
  afterAll(async () => {
    await lab?.destroy();
  });
  afterEach(async () => {
    for (const h of ['lvs1', 'lvs2']) await healVrrp(lab.host(h));
    await Promise.all(kas.splice(0).map((k) => k.stop()));
    for (const [name, v] of Object.entries(vsd)) {
      v.proc.kill('SIGTERM');
      await waitExit(v.proc, 8000);
      delete vsd[name];
    }
    for (const h of ['lvs1', 'lvs2']) await lab.host(h).exec('ip', ['addr', 'flush', 'dev', 'eth0', 'to', `${VIP}/32`]);
  });

  /**
   * Both MASTER, the client pulled to lvs2 (its gratuitous ARP came last). Returns once the client's entry for the
   * VIP holds lvs2's MAC.
   */
  async function splitBrain(isMaster: (name: string) => Promise<boolean>): Promise<void> {
    const client = lab.host('client');
    await waitFor('VIP answers ping', async () => (await client.exec('ping', ['-c', '1', '-W', '1', VIP])).code === 0, 5000);
    expect(await neighbourMac(client, VIP)).toBe(lab.host('lvs1').mac);
    await cutVrrp(lab.host('lvs1'), lab.host('lvs2'));
    await cutVrrp(lab.host('lvs2'), lab.host('lvs1'));
    await waitFor('lvs2 MASTER too (split brain)', () => isMaster('lvs2'), 5000, 10);
    expect(await isMaster('lvs1')).toBe(true);
    await waitFor('client pulled to lvs2', async () => (await neighbourMac(client, VIP)) === lab.host('lvs2').mac, 3000);
  }

  /**
   * After a heal the client loses traffic only between lvs2 dropping the VIP (it yields on hearing lvs1, sending one
   * last advert of its own) and lvs1's re-announcement (on hearing a lower advert, that one included) reaching it.
   * Whether lvs1 re-announced before lvs2 yielded depends on where the 50 ms advert timers stood at the heal; when it
   * did not, the gap is lvs1's reaction time, on a loaded host what the scheduler gives it. Read from both daemons'
   * logs (one clock: the namespaces share the host's); 0 when lvs1 re-announced first.
   */
  function reannounceGapMs(healedAt: number): number {
    const reannounced = vsd.lvs1!.logs.find(
      (l) => l.msg === 'received advert with lower priority, forcing new election' && (l.sent as number) > 0 && (l.time as number) >= healedAt,
    );
    const yielded = vsd.lvs2!.logs.find((l) => l.msg === 'entering BACKUP state' && (l.time as number) >= healedAt);
    expect(reannounced, 'lvs1 re-announced the VIP after the heal').toBeDefined();
    expect(yielded, 'lvs2 yielded after the heal').toBeDefined();
    const gap = (reannounced!.time as number) - (yielded!.time as number);
    process.stdout.write(`split-brain heal (vsd): lvs1 re-announced ${gap} ms after lvs2 yielded\n`);
    // Measured -54 to -1 ms (idle, and next to two busy loops); a second late is a lost advert, not a slow loop.
    expect(gap).toBeLessThan(1000);
    return Math.max(0, gap);
  }

  it('vsd: after the heal the client loses at most 1 request (lower_prio GARP burst), and ends on lvs1', async () => {
    vsd.lvs1 = await startVsd(lab.host('lvs1'), { dir, name: 'lvs1', config: config(150) });
    vsd.lvs2 = await startVsd(lab.host('lvs2'), { dir, name: 'lvs2', config: config(100) });
    await waitFor('lvs1 MASTER', async () => (await state('lvs1')) === 'MASTER', 5000);
    await waitFor('lvs2 BACKUP', async () => (await state('lvs2')) === 'BACKUP', 5000);
    await splitBrain(async (n) => (await state(n)) === 'MASTER');

    // HTTP through the VIP every 20 ms, 200 ms timeout, for at most 4 s (<= 200 requests); the heal comes 1 s in.
    const probe = lab.host('client').spawn(process.execPath, [PROBE, `http://${VIP}/`, '20', '200', '4000']);
    const lines = jsonLines(probe);
    await waitFor('load loop answered through lvs2', () => lines.filter((l) => l.ok).length >= 10, 3000);
    await new Promise((r) => setTimeout(r, 500));
    const healedAt = Date.now();
    await healVrrp(lab.host('lvs1'));
    await healVrrp(lab.host('lvs2'));
    await waitExit(probe, 10_000);
    const after = lines.filter((l) => typeof l.start === 'number' && (l.end as number) >= healedAt);
    const failed = after.filter((l) => !l.ok);
    process.stdout.write(
      `split-brain heal (vsd): ${failed.length} of ${after.length} HTTP requests failed after the heal ${JSON.stringify(failed.map((f) => f.error ?? f.body))}\n`,
    );
    expect(after.length).toBeGreaterThan(50);
    // 1, plus one per 20 ms that lvs1 took to re-announce after lvs2 yielded (0 on an idle host).
    expect(failed.length).toBeLessThanOrEqual(1 + Math.ceil(reannounceGapMs(healedAt) / 20));
    expect(await state('lvs1')).toBe('MASTER');
    expect(await state('lvs2')).toBe('BACKUP');
    expect(await neighbourMac(lab.host('client'), VIP)).toBe(lab.host('lvs1').mac);
    expect(vsd.lvs1!.logs.some((l) => l.msg === 'received advert with lower priority, forcing new election' && (l.sent as number) > 0)).toBe(true);
    const a2 = await lab.host('lvs2').exec('ip', ['-o', 'addr', 'show', 'dev', 'eth0']);
    expect(a2.stdout).not.toContain(VIP);
  });

  it('a one-sided heal (the lower node hears the higher first, its advert still dropped): master_refresh puts the client right within 10 s', async () => {
    vsd.lvs1 = await startVsd(lab.host('lvs1'), { dir, name: 'lvs1', config: config(150) });
    vsd.lvs2 = await startVsd(lab.host('lvs2'), { dir, name: 'lvs2', config: config(100) });
    await waitFor('lvs1 MASTER', async () => (await state('lvs1')) === 'MASTER', 5000);
    await waitFor('lvs2 BACKUP', async () => (await state('lvs2')) === 'BACKUP', 5000);
    await splitBrain(async (n) => (await state(n)) === 'MASTER');
    await healVrrp(lab.host('lvs2'));
    await waitFor('lvs2 yields', async () => (await state('lvs2')) === 'BACKUP', 3000, 10);
    const yieldedAt = Date.now();
    await new Promise((r) => setTimeout(r, 300));
    await healVrrp(lab.host('lvs1'));
    // One ping every 50 ms, up to 13 s: the first answer after the yield is when the client's entry was corrected.
    const client = lab.host('client');
    const out = (await client.exec('ping', ['-n', '-D', '-i', '0.05', '-W', '0.2', '-w', '13', VIP], { timeoutMs: 20_000 })).stdout;
    const firstAnswer = [...out.matchAll(/^\[(\d+\.\d+)\].*icmp_seq=/gm)].map((m) => Number(m[1]) * 1000)[0];
    expect(firstAnswer, out.slice(0, 500)).toBeDefined();
    const blackHoleMs = Math.round(Math.max(0, firstAnswer! - yieldedAt));
    process.stdout.write(
      `one-sided heal: client answered again ${blackHoleMs} ms after lvs2 yielded (garp.master_refresh 10 s; without it, until the client's ARP entry expires)\n`,
    );
    expect(blackHoleMs).toBeLessThanOrEqual(10_500);
    expect(await neighbourMac(client, VIP)).toBe(lab.host('lvs1').mac);
  });

  it('side by side: ICMP lost after the heal, vsd and keepalived (same cut, same client)', async () => {
    const results: Record<string, { lost: number; sent: number; healedAt: number }> = {};
    const measure = async (who: string, isMaster: (n: string) => Promise<boolean>) => {
      await splitBrain(isMaster);
      const pingStart = Date.now();
      const ping = pingLoop(lab.host('client'), 150);
      await new Promise((r) => setTimeout(r, 1000));
      const healedAt = Date.now();
      await healVrrp(lab.host('lvs1'));
      await healVrrp(lab.host('lvs2'));
      const out = (await ping).stdout;
      // Requests sent from the heal on (one every 20 ms from the start; seq 1 first).
      const firstAfter = Math.floor((healedAt - pingStart) / 20) + 1;
      const answered = pingAnswered(out);
      let lost = 0;
      for (let s = firstAfter; s <= 150; s++) if (!answered.has(s)) lost++;
      results[who] = { lost, sent: 151 - firstAfter, healedAt };
      process.stdout.write(`split-brain heal (${who}): ${lost} of ${151 - firstAfter} pings lost after the heal\n`);
    };

    vsd.lvs1 = await startVsd(lab.host('lvs1'), { dir, name: 'lvs1', config: config(150) });
    vsd.lvs2 = await startVsd(lab.host('lvs2'), { dir, name: 'lvs2', config: config(100) });
    await waitFor('lvs1 MASTER', async () => (await state('lvs1')) === 'MASTER', 5000);
    await waitFor('lvs2 BACKUP', async () => (await state('lvs2')) === 'BACKUP', 5000);
    await measure('vsd', async (n) => (await state(n)) === 'MASTER');
    // One ping lost, plus one per 20 ms that lvs1 took to re-announce after lvs2 yielded (see reannounceGapMs).
    expect(results.vsd!.lost).toBeLessThanOrEqual(1 + Math.ceil(reannounceGapMs(results.vsd!.healedAt) / 20));
    for (const [name, v] of Object.entries(vsd)) {
      v.proc.kill('SIGTERM');
      await waitExit(v.proc, 8000);
      delete vsd[name];
    }
    await lab.host('client').exec('ip', ['neigh', 'flush', 'dev', 'eth0']);

    // keepalived 2.2.7 with its defaults (garp_lower_prio_repeat = garp_master_repeat 5, higher_prio_send_advert off).
    const k1 = startKeepalived(lab.host('lvs1'), dir, { version: 3, vrid: 51, priority: 150, advertInt: 0.05, vips: [`${VIP}/24`] });
    const k2 = startKeepalived(lab.host('lvs2'), dir, { version: 3, vrid: 51, priority: 100, advertInt: 0.05, vips: [`${VIP}/24`] });
    kas.push(k1, k2);
    await k1.waitState('MASTER', 10_000);
    await k2.waitState('BACKUP', 10_000);
    const kaMaster = (k: Keepalived) => async () =>
      /Entering (MASTER|BACKUP|FAULT) STATE/g.test(k.output()) && [...k.output().matchAll(/Entering (MASTER|BACKUP|FAULT) STATE/g)].at(-1)?.[1] === 'MASTER';
    await measure('keepalived', (n) => (n === 'lvs1' ? kaMaster(k1) : kaMaster(k2))());
  });

  /** The MACs answering ARP for the VIP, as the client sees them (3 requests, replies from every host that answers). */
  async function arpMacs(): Promise<string[]> {
    const r = await lab.host('client').exec('arping', ['-c', '3', '-i', 'eth0', VIP], { timeoutMs: 10_000 });
    return [...new Set([...r.stdout.matchAll(/from ([0-9a-f:]{17})/gi)].map((m) => m[1]!.toLowerCase()))].sort();
  }
  const holdsVip = async (host: string) => (await lab.host(host).exec('ip', ['-o', 'addr', 'show'])).stdout.includes(` ${VIP}/`);
  /** Polls every 10 ms until the host no longer holds the VIP; resolves with that time. */
  async function vipGoneAt(host: string, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!(await holdsVip(host))) return Date.now();
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`${host} still holds ${VIP} after ${timeoutMs} ms`);
  }

  it('kill -9 of the MASTER vsd (link up): the stale VIP is removed by the restart before it joins, or at once by cleanup-vips', async () => {
    vsd.lvs1 = await startVsd(lab.host('lvs1'), { dir, name: 'lvs1', config: config(150) });
    vsd.lvs2 = await startVsd(lab.host('lvs2'), { dir, name: 'lvs2', config: config(100) });
    await waitFor('lvs1 MASTER', async () => (await state('lvs1')) === 'MASTER', 5000);
    await waitFor('lvs2 BACKUP', async () => (await state('lvs2')) === 'BACKUP', 5000);
    const [mac1, mac2] = [lab.host('lvs1').mac, lab.host('lvs2').mac];
    expect(await arpMacs()).toEqual([mac1]);

    // 1. SIGKILL, nothing else: the window. Both hosts answer ARP until vsd starts again.
    let killedAt = Date.now();
    vsd.lvs1!.proc.kill('SIGKILL');
    await waitExit(vsd.lvs1!.proc, 2000);
    await waitFor('lvs2 MASTER', async () => (await state('lvs2')) === 'MASTER', 3000, 10);
    expect(await holdsVip('lvs1')).toBe(true);
    expect(await arpMacs()).toEqual([mac1, mac2].sort());
    const restartAt = Date.now();
    const gone = vipGoneAt('lvs1', 20_000);
    vsd.lvs1 = await startVsd(lab.host('lvs1'), { dir, name: 'lvs1', config: config(150) });
    const goneAt = await gone;
    expect(vsd.lvs1.logs.some((l) => l.msg === 'removed leftover VIPs of an earlier run before joining the election')).toBe(true);
    await waitFor('lvs1 MASTER again (preempts)', async () => (await state('lvs1')) === 'MASTER', 5000);
    await waitFor('lvs2 BACKUP', async () => (await state('lvs2')) === 'BACKUP', 5000);
    expect(await arpMacs()).toEqual([mac1]);
    process.stdout.write(
      `stale VIP after kill -9 (no ExecStopPost): held ${goneAt - killedAt} ms, until the restarted vsd removed it ${goneAt - restartAt} ms after its start (restart came ${restartAt - killedAt} ms after the kill)\n`,
    );

    // 2. SIGKILL followed by what ExecStopPost runs: the VIP goes at once, one MAC answers.
    killedAt = Date.now();
    vsd.lvs1!.proc.kill('SIGKILL');
    await waitExit(vsd.lvs1!.proc, 2000);
    const r = await lab.host('lvs1').exec(process.execPath, [BIN.vsd, 'cleanup-vips', '--config', vsd.lvs1!.configPath]);
    const cleanedAt = Date.now();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`removed ${VIP}/24`);
    expect(await holdsVip('lvs1')).toBe(false);
    await waitFor('lvs2 MASTER', async () => (await state('lvs2')) === 'MASTER', 3000, 10);
    expect(await arpMacs()).toEqual([mac2]);
    process.stdout.write(`stale VIP after kill -9 with ExecStopPost (vsd cleanup-vips): held ${cleanedAt - killedAt} ms (the command's run time)\n`);
    expect(cleanedAt - killedAt).toBeLessThan(5000);
    // Idempotent: a second run finds nothing.
    const again = await lab.host('lvs1').exec(process.execPath, [BIN.vsd, 'cleanup-vips', '--config', vsd.lvs1!.configPath]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('no VIP present');
    delete vsd.lvs1;
  });

  it('an uncaught exception in a process holding VIPs removes them synchronously on the way out', async () => {
    // The real exit guard and ledger from the build, in a process that adds a VIP over rtnetlink and then throws.
    const code = `
      const { installExitGuard } = await import(${JSON.stringify(`${REPO}/packages/daemon/dist/exit-guard.js`)});
      const ha = await import(${JSON.stringify(`${REPO}/packages/ha/dist/index.js`)});
      const core = await import(${JSON.stringify(`${REPO}/packages/core/dist/index.js`)});
      const { createLogger } = core;
      installExitGuard(createLogger({ level: 'info' }));
      const idx = Number((await import('node:fs')).readFileSync('/sys/class/net/eth0/ifindex', 'utf8'));
      const nl = core.netlink.openRtnetlink();
      ha.processVipLedger.addAddress('${VIP}/24', idx);
      await nl.add('${VIP}/24', idx);
      console.log(JSON.stringify({ msg: 'added' }));
      setTimeout(() => { throw new Error('a bug'); }, 200);
      setInterval(() => {}, 1000);
    `;
    const child = lab.host('lvs1').spawn(process.execPath, ['--input-type=module', '-e', code]);
    const lines = jsonLines(child);
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    await waitFor(`VIP added (${stderr})`, () => lines.some((l) => l.msg === 'added'), 5000);
    expect(await holdsVip('lvs1')).toBe(true);
    await waitExit(child, 5000);
    expect(child.exitCode).toBe(1);
    expect(await holdsVip('lvs1')).toBe(false);
    expect(lines.find((l) => l.msg === 'removed VIPs on the way out')).toMatchObject({ why: 'uncaught exception', vips: [`${VIP}/24`] });
  });

  it('use_vmac: the client resolves the VIP to the virtual MAC 00:00:5e:00:01:33, before and after a failover', async () => {
    const VMAC = '00:00:5e:00:01:33';
    const client = lab.host('client');
    await client.exec('ip', ['neigh', 'flush', 'dev', 'eth0']);
    vsd.lvs1 = await startVsd(lab.host('lvs1'), { dir, name: 'lvs1', config: config(150, { use_vmac: true }) });
    vsd.lvs2 = await startVsd(lab.host('lvs2'), { dir, name: 'lvs2', config: config(100, { use_vmac: true }) });
    await waitFor('lvs1 MASTER', async () => (await state('lvs1')) === 'MASTER', 5000);
    await waitFor('lvs2 BACKUP', async () => (await state('lvs2')) === 'BACKUP', 5000);
    const link = async (host: string) => (await lab.host(host).exec('ip', ['-o', 'addr', 'show', 'dev', 'vsd.51'])).stdout;
    expect(await link('lvs1')).toContain(` ${VIP}/24`);
    expect(await link('lvs2')).not.toContain(VIP);
    expect((await lab.host('lvs1').exec('ip', ['-o', 'addr', 'show', 'dev', 'eth0'])).stdout).not.toContain(VIP);
    const sysctl = async (host: string, key: string) => (await lab.host(host).exec('sysctl', ['-n', key])).stdout.trim();
    expect([
      await sysctl('lvs1', 'net.ipv4.conf.vsd/51.arp_ignore'),
      await sysctl('lvs1', 'net.ipv4.conf.eth0.arp_ignore'),
      await sysctl('lvs1', 'net.ipv4.conf.eth0.arp_filter'),
    ]).toEqual(['1', '1', '1']);
    const curl = async () => (await client.exec('curl', ['-s', '--max-time', '2', `http://${VIP}/`])).stdout.trim();
    expect(['this is test 1 web', 'this is test 2 web']).toContain(await curl());
    expect(await neighbourMac(client, VIP)).toBe(VMAC);
    // Only the virtual MAC answers ARP: lvs1's own MAC does not (arp_ignore/arp_filter on eth0), the BACKUP's vmac neither.
    expect(await arpMacs()).toEqual([VMAC]);

    vsd.lvs1!.proc.kill('SIGTERM');
    await waitExit(vsd.lvs1!.proc, 10_000);
    delete vsd.lvs1;
    expect((await lab.host('lvs1').exec('ip', ['link', 'show', 'vsd.51'])).code).not.toBe(0);
    expect(await sysctl('lvs1', 'net.ipv4.conf.eth0.arp_ignore')).toBe('0');
    await waitFor('lvs2 MASTER', async () => (await state('lvs2')) === 'MASTER', 3000, 10);
    await waitFor('VIP answered through lvs2', async () => (await client.exec('ping', ['-c', '1', '-W', '1', VIP])).code === 0, 3000);
    expect(['this is test 1 web', 'this is test 2 web']).toContain(await curl());
    expect(await neighbourMac(client, VIP)).toBe(VMAC);
    expect(await link('lvs2')).toContain(` ${VIP}/24`);
    process.stdout.write(`use_vmac: client neighbour entry ${VMAC} before and after the failover; answered through lvs2\n`);

    // kill -9 then ExecStopPost's command: the vmac interface (and the VIP on it) goes too.
    vsd.lvs2!.proc.kill('SIGKILL');
    await waitExit(vsd.lvs2!.proc, 2000);
    const r = await lab.host('lvs2').exec(process.execPath, [BIN.vsd, 'cleanup-vips', '--config', vsd.lvs2!.configPath]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('deleted vsd.51');
    expect((await lab.host('lvs2').exec('ip', ['link', 'show', 'vsd.51'])).code).not.toBe(0);
    delete vsd.lvs2;
  });

  it('use_vmac over IPv6: the client resolves the VIP to 00:00:5e:00:02:36 (unsolicited NA from the vmac), before and after a failover', async () => {
    const VIP6 = 'fd00:77::100';
    const VMAC6 = '00:00:5e:00:02:36';
    const client = lab.host('client');
    await client.exec('ip', ['-6', 'addr', 'add', 'fd00:77::2/64', 'dev', 'eth0', 'nodad']);
    const wd = workDir();
    const cfg = (priority: number) => ({ interface: 'eth0', vrid: 54, priority, vips: [`${VIP6}/64`], use_vmac: true });
    const r1 = startRunner(lab.host('lvs1'), wd, cfg(150));
    const r2 = startRunner(lab.host('lvs2'), wd, cfg(100));
    try {
      await r1.waitState('MASTER', 10_000);
      await r2.waitState('BACKUP', 10_000);
      const ping6 = async () => (await client.exec('ping', ['-6', '-c', '1', '-W', '1', VIP6])).code === 0;
      await waitFor('VIP6 reachable', ping6, 5000);
      expect(await neighbourMac(client, VIP6)).toBe(VMAC6);
      // No link-local on the vmac (addr_gen_mode none): the shared MAC would make it a duplicate on the segment.
      const ll = await lab.host('lvs2').exec('ip', ['-6', 'addr', 'show', 'dev', 'vsd6.54']);
      expect(ll.stdout).not.toContain('fe80::');
      await r1.stop('SIGTERM');
      expect((await lab.host('lvs1').exec('ip', ['link', 'show', 'vsd6.54'])).code).not.toBe(0);
      await r2.waitState('MASTER', 3000);
      await waitFor('VIP6 answered through lvs2', ping6, 3000);
      expect(await neighbourMac(client, VIP6)).toBe(VMAC6);
      process.stdout.write(`use_vmac IPv6: client neighbour entry ${VMAC6} before and after the failover\n`);
    } finally {
      await Promise.all([r1.stop('SIGKILL'), r2.stop('SIGTERM')]);
    }
    expect((await lab.host('lvs2').exec('ip', ['link', 'show', 'vsd6.54'])).code).not.toBe(0);
  });
});
