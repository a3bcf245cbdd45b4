/**
 * Several VRRP instances per dispatcher, end to end in the seed topology (client, lvs1, lvs2, web1, web2):
 * (a) active/active: VI_1 (VIP1) mastered by lvs1 and VI_2 (VIP2) by lvs2 with crossed priorities; the client
 *     reaches both; `vsctl failover VI_1` moves VI_1 alone.
 * (b) SIGHUP on the MASTER changing VI_1's priority and adding a VIP: no VRRP transition, VIP1 never absent
 *     (sampled with `ip addr` in a loop), zero failed requests in a bounded client loop. Figures are printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, jsonLines, SEED_HOSTS, waitExit, waitFor, type Lab } from '../lib/netns.js';
import { REPO, requireBuild, startVsd, startWebServer, tempDir, waitReady, writeFile, type VsdProcess } from '../lib/vsd-proc.js';

const VIP1 = '10.77.0.100';
const VIP2 = '10.77.0.101';
const VIP3 = '10.77.0.102';
const PROBE = `${REPO}/test/lib/probe-client.mjs`;
const WEB = ['this is test 1 web', 'this is test 2 web'];

interface Status {
  instance: string;
  state: string;
  basePriority: number;
  vipsHeld: string[];
  counters: { transitions: number };
  lastTransition: { from: string; to: string; reason: string; atIso: string } | null;
}
interface HaDoc {
  vrrp: Status | null;
  primary: string | null;
  instances: Status[];
  sync: { connected: boolean; inSync: boolean } | null;
}

type Node = 'lvs1' | 'lvs2';

describe('several VRRP instances per dispatcher (active/active) and reload in place', () => {
  let lab: Lab;
  let dir: string;
  const vsd: Partial<Record<Node, VsdProcess>> = {};

  /** Crossed priorities: lvs1 is the preferred MASTER of VI_1, lvs2 of VI_2. */
  const config = (name: Node, vi1: { priority?: number; vips?: string[] } = {}) => {
    const mine = name === 'lvs1';
    return {
      dataplane: 'proxy',
      ha: {
        interface: 'eth0',
        advert_int: 0.05,
        instances: [
          { instance: 'VI_1', vrid: 51, priority: vi1.priority ?? (mine ? 150 : 100), vips: vi1.vips ?? [`${VIP1}/24`] },
          { instance: 'VI_2', vrid: 52, priority: mine ? 100 : 150, vips: [`${VIP2}/24`] },
        ],
      },
      peer: {
        listen: `${lab.host(name).ip}:9181`,
        address: `${lab.host(mine ? 'lvs2' : 'lvs1').ip}:9181`,
        key_file: `${dir}/peer.key`,
        id: name,
      },
    };
  };
  const ha = (name: Node, query = '') => vsd[name]!.api<HaDoc>(`/v1/ha${query}`);
  const states = async (name: Node) => Object.fromEntries((await ha(name)).instances.map((s) => [s.instance, s.state]));
  const curl = async (vip: string) => (await lab.host('client').exec('curl', ['-s', '--max-time', '2', `http://${vip}/`])).stdout.trim();
  const macFor = async (vip: string) => (await lab.host('client').exec('ip', ['neigh', 'show', vip])).stdout.toLowerCase();
  const transitionsLogged = (name: Node, from: number) =>
    vsd[name]!.logs.slice(from).filter((l) => l.msg === 'VRRP transition' || /^entering \w+ state$/.test(String(l.msg)));

  beforeAll(async () => {
    requireBuild();
    lab = await createLab(SEED_HOSTS);
    dir = tempDir('ha-instances');
    writeFile(dir, 'peer.key', 'a-pre-shared-key-for-the-pair\n');
    const w1 = startWebServer(lab.host('web1'), 80, WEB[0]!);
    const w2 = startWebServer(lab.host('web2'), 80, WEB[1]!);
    await Promise.all([waitReady(w1, 'web1'), waitReady(w2, 'web2')]);
    for (const name of ['lvs1', 'lvs2'] as const) vsd[name] = await startVsd(lab.host(name), { dir, name, config: config(name) });
    await waitFor(
      'lvs1 MASTER of VI_1, lvs2 of VI_2',
      async () => {
        const [a, b] = [await states('lvs1'), await states('lvs2')];
        return a.VI_1 === 'MASTER' && a.VI_2 === 'BACKUP' && b.VI_1 === 'BACKUP' && b.VI_2 === 'MASTER';
      },
      5000,
    );
    await waitFor('peer link', async () => (await ha('lvs2')).sync?.connected === true, 5000);
    // Changes go to the node that is MASTER of the primary instance (VI_1, the first listed): lvs1.
    for (const vip of [VIP1, VIP2, VIP3]) {
      expect((await vsd.lvs1!.vsadm('-A', '-t', `${vip}:80`, '-s', 'rr')).code).toBe(0);
      for (const web of ['web1', 'web2'] as const) expect((await vsd.lvs1!.vsadm('-a', '-t', `${vip}:80`, '-r', `${lab.host(web).ip}:80`, '-m')).code).toBe(0);
    }
    await waitFor('in sync', async () => (await ha('lvs1')).sync!.inSync && (await ha('lvs2')).sync!.inSync, 3000);
  }, 60_000);

  afterAll(async () => {
    for (const v of Object.values(vsd)) {
      v?.proc.kill('SIGTERM');
      if (v) await waitExit(v.proc, 5000).catch(() => undefined);
    }
    await lab?.destroy();
  });

  it('(a) each node is MASTER of one VIP; the client reaches both, each through its own MASTER', async () => {
    expect((await ha('lvs1')).instances.find((s) => s.instance === 'VI_1')!.vipsHeld).toEqual([`${VIP1}/24`]);
    expect((await ha('lvs2')).instances.find((s) => s.instance === 'VI_2')!.vipsHeld).toEqual([`${VIP2}/24`]);
    expect(WEB).toContain(await curl(VIP1));
    expect(WEB).toContain(await curl(VIP2));
    expect(await macFor(VIP1)).toContain(lab.host('lvs1').mac);
    expect(await macFor(VIP2)).toContain(lab.host('lvs2').mac);
    // lvs2 is MASTER of VI_2 but BACKUP of the primary: it refuses changes and names lvs1.
    const refused = await vsd.lvs2!.vsadm('-D', '-t', `${VIP3}:80`);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/BACKUP.*10\.77\.0\.11/);
    const text = (await vsd.lvs1!.vsctl('status')).stdout;
    expect(text).toMatch(/VI_1 on eth0: MASTER, VRID 51.*primary/);
    expect(text).toMatch(/VI_2 on eth0: BACKUP, VRID 52/);
    const one = await vsd.lvs2!.vsctl('status', 'VI_2', '--json');
    expect(JSON.parse(one.stdout).ha.instances.map((s: Status) => s.instance)).toEqual(['VI_2']);
    process.stdout.write(`active/active: ${VIP1} via lvs1 (${lab.host('lvs1').mac}), ${VIP2} via lvs2 (${lab.host('lvs2').mac})\n`);
  });

  it('(a) `vsctl failover VI_1` moves VI_1 alone; a missing or unknown instance name is refused and moves nothing', async () => {
    const mark = { lvs1: vsd.lvs1!.logs.length, lvs2: vsd.lvs2!.logs.length };
    const noName = await vsd.lvs1!.vsctl('failover');
    expect(noName.code).toBe(1);
    expect(noName.stderr).toMatch(/runs 2 VRRP instances \(VI_1, VI_2\): name one/);
    const unknown = await vsd.lvs1!.vsctl('failover', 'VI_3');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no VRRP instance "VI_3" on this dispatcher.*instances: VI_1, VI_2/);
    expect(await states('lvs1')).toEqual({ VI_1: 'MASTER', VI_2: 'BACKUP' });
    expect(transitionsLogged('lvs1', mark.lvs1)).toEqual([]);

    const r = await vsd.lvs1!.vsctl('failover', 'VI_1');
    expect(r.code).toBe(0);
    await waitFor('lvs2 MASTER of VI_1', async () => (await states('lvs2')).VI_1 === 'MASTER', 2000, 10);
    // From the two nodes' transition times (one clock: namespaces share it), not from polling.
    const vi1 = async (name: Node) => (await ha(name, '?instance=VI_1')).vrrp!.lastTransition!;
    const [resigned, took] = [await vi1('lvs1'), await vi1('lvs2')];
    expect(resigned).toMatchObject({ from: 'MASTER', to: 'BACKUP', reason: 'resign' });
    const ms = Date.parse(took.atIso) - Date.parse(resigned.atIso);
    expect(await states('lvs1')).toEqual({ VI_1: 'BACKUP', VI_2: 'BACKUP' });
    expect(await states('lvs2')).toEqual({ VI_1: 'MASTER', VI_2: 'MASTER' });
    // VI_2 did not move: no transition of VI_2 on either node.
    for (const name of ['lvs1', 'lvs2'] as const)
      expect(vsd[name]!.logs.slice(mark[name]).filter((l) => l.msg === 'VRRP transition' && l.instance === 'VI_2')).toEqual([]);
    expect(WEB).toContain(await curl(VIP1));
    expect(WEB).toContain(await curl(VIP2));
    process.stdout.write(`vsctl failover VI_1: lvs2 MASTER of VI_1 ${ms} ms after lvs1 resigned (transition times), VI_2 unmoved\n`);
    expect(ms).toBeLessThan(500);

    // release ends the resign hold: lvs1 (priority 150) preempts VI_1 back.
    const back = { lvs1: vsd.lvs1!.logs.length, lvs2: vsd.lvs2!.logs.length };
    expect((await vsd.lvs1!.vsctl('release', 'VI_1')).code).toBe(0);
    await waitFor('lvs1 MASTER of VI_1 again', async () => (await states('lvs1')).VI_1 === 'MASTER', 3000, 10);
    await waitFor('lvs2 BACKUP of VI_1', async () => (await states('lvs2')).VI_1 === 'BACKUP', 3000, 10);
    // The log lines of those transitions arrive through a pipe: wait for them so the next test starts after them.
    for (const [name, to] of [
      ['lvs1', 'MASTER'],
      ['lvs2', 'BACKUP'],
    ] as const)
      await waitFor(
        `${name} logged VI_1 -> ${to}`,
        () => vsd[name]!.logs.slice(back[name]).some((l) => l.msg === 'VRRP transition' && l.instance === 'VI_1' && l.to === to),
        3000,
        10,
      );
  });

  it('(b) SIGHUP on the MASTER: a new priority and an added VIP, no transition, VIP1 never absent, zero failed requests', async () => {
    const lvs1 = vsd.lvs1!;
    const mark = { lvs1: lvs1.logs.length, lvs2: vsd.lvs2!.logs.length };
    const transitionsBefore = (await ha('lvs1')).instances.find((s) => s.instance === 'VI_1')!.counters.transitions;
    // VIP sampler on lvs1 (bounded: 400 samples, ~10 ms apart) and a client load loop (bounded: 6 s).
    const sampler = lab.host('lvs1').spawn('sh', ['-c', `for i in $(seq 1 400); do ip -o -4 addr show dev eth0 | grep -c ' ${VIP1}/' ; sleep 0.01; done`]);
    let samples = '';
    sampler.stdout?.on('data', (c: Buffer) => (samples += c.toString()));
    const probe = lab.host('client').spawn(process.execPath, [PROBE, `http://${VIP1}/`, '10', '500', '6000']);
    const lines = jsonLines(probe);
    await waitFor('probe running', () => lines.some((l) => l.ok), 3000);

    // The MASTER first (priority 150 -> 200, VIP3 added), then the BACKUP (VIP3 added too).
    writeFile(dir, 'lvs1.yaml', JSON.stringify(config('lvs1', { priority: 200, vips: [`${VIP1}/24`, `${VIP3}/24`] }), null, 2));
    const t0 = Date.now();
    lvs1.proc.kill('SIGHUP');
    await waitFor(
      'lvs1 reconfigured',
      () => lvs1.logs.slice(mark.lvs1).find((l) => l.msg === 'VRRP instance reconfigured in place' && l.component === 'vrrp'),
      5000,
      10,
    );
    await waitFor('VIP3 on lvs1', async () => (await ha('lvs1', '?instance=VI_1')).vrrp!.vipsHeld.includes(`${VIP3}/24`), 3000, 10);
    const applyMs = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 1000)); // lvs2 still has the old VIP list: it must keep following lvs1
    writeFile(dir, 'lvs2.yaml', JSON.stringify(config('lvs2', { vips: [`${VIP1}/24`, `${VIP3}/24`] }), null, 2));
    vsd.lvs2!.proc.kill('SIGHUP');
    await waitFor(
      'lvs2 reconfigured',
      () => vsd.lvs2!.logs.slice(mark.lvs2).find((l) => l.msg === 'VRRP instance reconfigured in place' && l.component === 'vrrp'),
      5000,
      10,
    );
    await waitExit(probe, 10_000);
    await waitExit(sampler, 15_000);

    const counts = samples.trim().split('\n').map(Number);
    const absent = counts.filter((n) => n !== 1).length;
    const failed = lines.filter((l) => !l.ok);
    const transitions = [...transitionsLogged('lvs1', mark.lvs1), ...transitionsLogged('lvs2', mark.lvs2)];
    const after = (await ha('lvs1')).instances.find((s) => s.instance === 'VI_1')!;
    process.stdout.write(
      `reload on the MASTER (priority 150 -> 200, +${VIP3}): applied in ${applyMs} ms; requests ${lines.length}, failed ${failed.length}; ` +
        `VIP1 samples ${counts.length}, absent ${absent}; VRRP transitions logged ${transitions.length}\n`,
    );
    if (transitions.length) process.stdout.write(`transitions: ${JSON.stringify(transitions.map((l) => [l.time, l.instance, l.from, l.to, l.reason]))}\n`);
    expect(counts.length).toBeGreaterThan(100);
    expect(absent).toBe(0);
    expect(lines.length).toBeGreaterThan(50);
    expect(failed).toEqual([]);
    expect(transitions).toEqual([]);
    expect(after).toMatchObject({ state: 'MASTER', basePriority: 200 });
    expect(after.counters.transitions).toBe(transitionsBefore);
    expect(after.vipsHeld.sort()).toEqual([`${VIP1}/24`, `${VIP3}/24`]);
    expect((await states('lvs2')).VI_1).toBe('BACKUP');
    expect(WEB).toContain(await curl(VIP3));
    expect(await macFor(VIP3)).toContain(lab.host('lvs1').mac);
  });

  it('(b) a reload that would change a running instance VRID is refused; nothing changes', async () => {
    const before = await ha('lvs1');
    const bad = config('lvs1', { priority: 200, vips: [`${VIP1}/24`, `${VIP3}/24`] });
    bad.ha.instances[1]!.vrid = 53;
    writeFile(dir, 'lvs1.yaml', JSON.stringify(bad, null, 2));
    const r = await vsd.lvs1!.api<{ error: { code: string; message: string } }>('/v1/reload', 'POST', {});
    expect(r.error.code).toBe('VSD_ERR_HA_RELOAD');
    expect(r.error.message).toMatch(/VI_2: vrid 52 -> 53 cannot change on a running instance/);
    const after = await ha('lvs1');
    expect(after.instances.map((s) => [s.instance, s.state, s.basePriority])).toEqual(before.instances.map((s) => [s.instance, s.state, s.basePriority]));
    expect(WEB).toContain(await curl(VIP2));
  });
});
