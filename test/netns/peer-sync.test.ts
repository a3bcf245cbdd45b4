/**
 * Peer sync between two real vsd processes in namespaces: a partition (nftables) that makes both dispatchers MASTER,
 * changes on both sides, and after the heal the losing side's non-conflicting change on both nodes, the conflicting
 * one listed by `vsctl sync --divergence` and replayed by `vsctl sync --replay-divergence`; and a peer with the wrong
 * key refused and logged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, SEED_HOSTS, waitFor, type Lab } from '../lib/netns.js';
import { requireBuild, startVsd, tempDir, writeFile, type VsdProcess } from '../lib/vsd-proc.js';

const VIP = '10.77.0.100';

interface HaDoc {
  vrrp: { state: string } | null;
  sync: { inSync: boolean; connected: boolean; generation: number; authFailures: number; divergences: number } | null;
}

describe('peer sync between two vsd processes', () => {
  let lab: Lab;
  let dir: string;
  const vsd: Record<string, VsdProcess> = {};

  const config = (name: 'lvs1' | 'lvs2', keyFile: string) => ({
    dataplane: 'none',
    ha: { instance: 'VI_1', interface: 'eth0', vrid: 52, priority: name === 'lvs1' ? 150 : 100, advert_int: 0.05, vips: [`${VIP}/24`] },
    peer: {
      listen: `${lab.host(name).ip}:9181`,
      address: `${lab.host(name === 'lvs1' ? 'lvs2' : 'lvs1').ip}:9181`,
      key_file: keyFile,
      id: name,
    },
  });
  const ha = (name: string) => vsd[name]!.api<HaDoc>('/v1/ha');
  const nft = (host: string, script: string) => lab.host(host).exec('nft', ['-f', '-'], { input: script });

  beforeAll(async () => {
    requireBuild();
    lab = await createLab(SEED_HOSTS.filter((h) => h.name.startsWith('lvs')));
    dir = tempDir('peer');
    const key = writeFile(dir, 'peer.key', 'the-pair-shares-this-key\n');
    vsd.lvs1 = await startVsd(lab.host('lvs1'), { dir, name: 'lvs1', config: config('lvs1', key), dataplane: 'none' });
    vsd.lvs2 = await startVsd(lab.host('lvs2'), { dir, name: 'lvs2', config: config('lvs2', key), dataplane: 'none' });
    await waitFor(
      'lvs1 MASTER and the pair in sync',
      async () => {
        const [a, b] = await Promise.all([ha('lvs1'), ha('lvs2')]);
        return a.vrrp?.state === 'MASTER' && b.vrrp?.state === 'BACKUP' && a.sync?.inSync && b.sync?.inSync;
      },
      10_000,
      50,
    );
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it("heals a partition: the losing side's change that does not conflict reaches both, the conflicting one is kept for vsctl sync --divergence and replayed with one command", async () => {
    const r = await vsd.lvs1!.vsadm('-A', '-t', `${VIP}:80`, '-s', 'rr');
    expect(r.code).toBe(0);
    await waitFor('replicated', async () => (await ha('lvs2')).sync!.inSync && (await ha('lvs1')).sync!.inSync, 5000);

    // Partition: lvs2 hears nothing from lvs1 and sends it nothing (VRRP and the peer channel alike).
    const cut = await nft(
      'lvs2',
      `table inet partition {
  chain in { type filter hook input priority 0; ip saddr 10.77.0.11 drop; }
  chain out { type filter hook output priority 0; ip daddr 10.77.0.11 drop; ip protocol vrrp drop; }
}`,
    );
    expect(cut.code).toBe(0);
    await waitFor('split brain: both MASTER', async () => (await ha('lvs2')).vrrp?.state === 'MASTER', 5000, 20);
    expect((await ha('lvs1')).vrrp?.state).toBe('MASTER');

    // Both sides take changes: three on lvs1 (its generation wins), two on lvs2, one of which edits what lvs1 edited.
    expect((await vsd.lvs1!.vsadm('-E', '-t', `${VIP}:80`, '-s', 'wlc')).code).toBe(0);
    expect((await vsd.lvs1!.vsadm('-A', '-t', `${VIP}:443`, '-s', 'wlc')).code).toBe(0);
    expect((await vsd.lvs1!.vsadm('-a', '-t', `${VIP}:443`, '-r', '10.77.0.21:443', '-m')).code).toBe(0);
    expect((await vsd.lvs2!.vsadm('-A', '-t', `${VIP}:8080`, '-s', 'sh')).code).toBe(0);
    expect((await vsd.lvs2!.vsadm('-E', '-t', `${VIP}:80`, '-s', 'lc')).code).toBe(0);

    // Heal.
    const healed = Date.now();
    expect((await lab.host('lvs2').exec('nft', ['delete', 'table', 'inet', 'partition'])).code).toBe(0);
    await waitFor('lvs2 BACKUP again', async () => (await ha('lvs2')).vrrp?.state === 'BACKUP', 10_000, 50);
    await waitFor(
      'converged with the merge',
      async () => {
        const [a, b] = await Promise.all([ha('lvs1'), ha('lvs2')]);
        return a.sync!.inSync && b.sync!.inSync && a.sync!.generation === 5 && b.sync!.generation === 5;
      },
      20_000,
      100,
    );
    process.stdout.write(`peer sync (netns): partition healed and merged ${Date.now() - healed} ms after the nft rule went\n`);

    const s1 = await vsd.lvs1!.vsadm('-S', '-n');
    const s2 = await vsd.lvs2!.vsadm('-S', '-n');
    expect(s2.stdout).toBe(s1.stdout);
    expect(s1.stdout).toContain(`-A -t ${VIP}:443 -s wlc`);
    expect(s1.stdout).toContain(`-A -t ${VIP}:8080 -s sh`); // lvs2's change, re-applied on top of lvs1's document
    expect(s1.stdout).toContain(`-A -t ${VIP}:80 -s wlc`); // lvs1's edit won the conflict
    const div = vsd.lvs2!.logs.find((l) => l.code === 'VSD_DIVERGENCE');
    expect(div, 'lvs2 logs the merge').toBeDefined();
    expect(JSON.stringify(div!.reapplied)).toContain('8080');
    expect(JSON.stringify(div!.kept)).toContain(`service|tcp ${VIP}:80`);
    expect(vsd.lvs1!.logs.find((l) => l.code === 'VSD_DIVERGENCE')).toBeUndefined();

    // The conflicting change is listed, with both values...
    const listed = await vsd.lvs2!.vsctl('sync', '--divergence');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`service|tcp ${VIP}:80`);
    expect(listed.stdout).toMatch(/ours: .*"scheduler":"lc"/);
    expect(listed.stdout).toMatch(/theirs: .*"scheduler":"wlc"/);
    expect((await vsd.lvs1!.vsctl('sync', '--divergence')).stdout).toContain('no divergence kept');

    // ...and one command on the BACKUP that kept it replays it; it reaches the MASTER.
    const replay = await vsd.lvs2!.vsctl('sync', '--replay-divergence');
    expect(replay.code, replay.stdout + replay.stderr).toBe(0);
    await waitFor(
      'replayed on both',
      async () => {
        const [a, b] = await Promise.all([ha('lvs1'), ha('lvs2')]);
        return a.sync!.inSync && b.sync!.inSync && a.sync!.generation === 6;
      },
      10_000,
      50,
    );
    expect((await vsd.lvs1!.vsadm('-S', '-n')).stdout).toContain(`-A -t ${VIP}:80 -s lc`);
    expect((await vsd.lvs2!.vsctl('sync', '--divergence')).stdout).toContain('no divergence kept');
  });

  it('refuses a peer with the wrong key and logs it', async () => {
    const wrong = writeFile(dir, 'wrong.key', 'not-the-key-of-this-pair\n');
    vsd.lvs2!.proc.kill('SIGTERM');
    await waitFor('lvs2 stopped', () => vsd.lvs2!.proc.exitCode !== null || vsd.lvs2!.proc.signalCode !== null, 5000);
    vsd.lvs2 = await startVsd(lab.host('lvs2'), { dir, name: 'lvs2', config: config('lvs2', wrong), dataplane: 'none' });
    await waitFor('refusal counted on lvs1', async () => (await ha('lvs1')).sync!.authFailures > 0, 10_000, 100);
    expect((await ha('lvs1')).sync!.connected).toBe(false);
    expect(vsd.lvs1!.logs.some((l) => l.msg === 'peer authentication failed')).toBe(true);
  });
});
