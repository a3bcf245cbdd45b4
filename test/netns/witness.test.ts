/**
 * The split-brain guard in namespaces (seed topology: client, lvs1, lvs2, web1, web2): real vsd dispatchers with
 * `ha.witness: { agents: [web1, web2] }`, real vsd-agents on the webs voting over their ws links, real VRRP, and
 * partitions made with nft in the dispatchers' namespaces. Prints the figures on every run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, jsonLines, SEED_HOSTS, waitExit, waitFor, type Lab } from '../lib/netns.js';
import { BIN, REPO, requireBuild, startVsd, startWebServer, tempDir, waitReady, writeFile, type VsdProcess } from '../lib/vsd-proc.js';
import { AGENT_NODE_FLAGS } from './agent-helpers.js';

const VIP = '10.77.0.100';
const PROBE = `${REPO}/test/lib/probe-client.mjs`;
type Name = 'lvs1' | 'lvs2';

interface HaDoc {
  vrrp: { state: string; contending: boolean; vipsHeld: string[] };
  witness: {
    enabled: boolean;
    instances: Array<{ vrid: number; quorum: string; votesHeld: string[]; votesNeeded: number }>;
    agents: Array<{ agent: string; connected: boolean }>;
    gateways: Array<{ address: string; reached: boolean }>;
  };
}

describe('split-brain guard (quorum witness) in namespaces', () => {
  let lab: Lab;
  let dir: string;
  const vsd: Partial<Record<Name, VsdProcess>> = {};

  const config = (name: Name, witnessOn = true) => ({
    dataplane: 'proxy',
    agents: { listen: `${lab.host(name).ip}:9182`, key_file: `${dir}/agent.key`, silent_after: 5 },
    ha: {
      instance: 'VI_1',
      interface: 'eth0',
      vrid: 51,
      priority: name === 'lvs1' ? 150 : 100,
      advert_int: 0.05,
      vips: [`${VIP}/24`],
      // The client stands in for the segment's gateway: the ICMP probes are real packets on the lab's wire.
      witness: { enabled: witnessOn, agents: ['web1', 'web2'], gateways: ['10.77.0.2'], lease: 0.5 },
    },
    virtual_servers: [
      {
        address: `${VIP}:80`,
        lb_algo: 'rr',
        real_servers: [{ address: '10.77.0.21:80' }, { address: '10.77.0.22:80' }],
      },
    ],
  });
  const start = async (name: Name, witnessOn = true) => (vsd[name] = await startVsd(lab.host(name), { dir, name, config: config(name, witnessOn) }));
  const ha = (name: Name) => vsd[name]!.api<HaDoc>('/v1/ha');
  const masters = async () => {
    const [a, b] = await Promise.all([ha('lvs1'), ha('lvs2')]);
    return (['lvs1', 'lvs2'] as const).filter((_, i) => [a, b][i]!.vrrp.state === 'MASTER');
  };
  /** nft in a dispatcher's namespace: drop everything from/to `peer`, or everything on eth0. */
  const cut = async (name: Name, what: { peer: string } | 'all') => {
    const h = lab.host(name);
    const match = what === 'all' ? ['iifname', 'eth0'] : ['ip', 'saddr', what.peer];
    const out = what === 'all' ? ['oifname', 'eth0'] : ['ip', 'daddr', what.peer];
    for (const args of [
      ['add', 'table', 'inet', 'vsdcut'],
      ['add', 'chain', 'inet', 'vsdcut', 'in', '{ type filter hook input priority -10 ; }'],
      ['add', 'chain', 'inet', 'vsdcut', 'out', '{ type filter hook output priority -10 ; }'],
      ['add', 'rule', 'inet', 'vsdcut', 'in', ...match, 'drop'],
      ['add', 'rule', 'inet', 'vsdcut', 'out', ...out, 'drop'],
    ]) {
      const r = await h.exec('nft', args);
      if (r.code !== 0) throw new Error(`nft ${args.join(' ')}: ${r.stderr}`);
    }
  };
  const heal = async (name: Name) => {
    await lab.host(name).exec('nft', ['delete', 'table', 'inet', 'vsdcut']);
  };
  /** Samples both dispatchers every 50 ms for `ms` and returns the MASTER sets seen. */
  const sample = async (ms: number) => {
    const seen: string[][] = [];
    const end = Date.now() + ms;
    while (Date.now() < end) {
      seen.push(await masters());
      await new Promise((r) => setTimeout(r, 50));
    }
    return seen;
  };
  const transitionAt = (name: Name, to: string, after: number) =>
    vsd[name]!.logs.find((l) => l.msg === `entering ${to} state` && (l.time as number) >= after)?.time as number | undefined;

  beforeAll(async () => {
    requireBuild();
    lab = await createLab(SEED_HOSTS);
    dir = tempDir('witness');
    const keyFile = writeFile(dir, 'agent.key', 'a-shared-agent-key-for-the-witness-test\n');
    await lab.host('client').exec('ip', ['addr', 'add', '10.77.0.3/24', 'dev', 'eth0']);
    const webs = (['web1', 'web2'] as const).map((w, i) => startWebServer(lab.host(w), 80, `this is test ${i + 1} web`));
    await Promise.all(webs.map((w, i) => waitReady(w, `web${i + 1}`)));
    await start('lvs1');
    await start('lvs2');
    for (const w of ['web1', 'web2']) {
      const cfg = writeFile(
        dir,
        `${w}.yaml`,
        JSON.stringify({ name: w, dispatchers: ['10.77.0.11:9182', '10.77.0.12:9182'], key_file: keyFile, report_interval: 0.2, load: { enabled: false } }),
      );
      const p = lab.host(w).spawn(process.execPath, [...AGENT_NODE_FLAGS, BIN.agent, '--config', cfg]);
      jsonLines(p);
    }
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('elects lvs1 with the votes of both agents; lvs2 holds none', async () => {
    await waitFor(
      'lvs1 MASTER with both votes',
      async () => {
        const h = await ha('lvs1');
        return h.vrrp.state === 'MASTER' && h.witness.instances[0]?.votesHeld.length === 2;
      },
      15_000,
    );
    const h2 = await ha('lvs2');
    expect(h2.vrrp.state).toBe('BACKUP');
    expect(h2.witness.agents.every((a) => a.connected)).toBe(true);
    expect(h2.witness.gateways).toEqual([{ address: '10.77.0.2', reached: true, lastReplyAgoMs: expect.any(Number) }]);
    const status = await vsd.lvs1!.vsctl('status');
    expect(status.stdout).toMatch(/witness VRID 51: allowed, votes 2\/2 needed \(web1 web2\)/);
    expect(status.stdout).toMatch(/witness gateways \(1 needed\): 10\.77\.0\.2 reached/);
    const r = await lab.host('client').exec('curl', ['-s', '--max-time', '2', `http://${VIP}/`]);
    expect(r.stdout).toMatch(/this is test [12] web/);
  });

  it('(a) VRRP link cut, both reach the agents: exactly one MASTER at every sample over 4 s', async () => {
    await cut('lvs1', { peer: '10.77.0.12' });
    await cut('lvs2', { peer: '10.77.0.11' });
    await new Promise((r) => setTimeout(r, 500)); // several Master_Down_Intervals: lvs2 has stopped hearing lvs1
    const t0 = Date.now();
    const seen = await sample(4000);
    // Between the samples too: no transition at all on either side while cut (no flapping the polls could miss).
    expect(transitionAt('lvs1', 'BACKUP', t0)).toBeUndefined();
    expect(transitionAt('lvs2', 'MASTER', t0)).toBeUndefined();
    const bad = seen.filter((m) => m.length !== 1);
    process.stdout.write(
      `witness (a): ${seen.length} samples with the VRRP link cut, MASTER sets: ${JSON.stringify([...new Set(seen.map((m) => m.join('+')))])}\n`,
    );
    expect(bad).toEqual([]);
    expect(seen.every((m) => m[0] === 'lvs1')).toBe(true);
    const h2 = await ha('lvs2');
    expect(h2.vrrp.contending).toBe(true);
    expect(h2.witness.instances[0]!.quorum).toBe('contending');
    const a2 = await lab.host('lvs2').exec('ip', ['-o', 'addr', 'show', 'dev', 'eth0']);
    expect(a2.stdout).not.toContain(VIP);
    await heal('lvs1');
    await heal('lvs2');
    await waitFor('lvs2 hears lvs1 again', async () => !(await ha('lvs2')).vrrp.contending, 3000);
    expect(await masters()).toEqual(['lvs1']);
  });

  it('(b) lvs1 cut from everything: lvs2 becomes MASTER, lvs1 leaves MASTER (and the VIP) first', async () => {
    const cutAt = Date.now();
    await cut('lvs1', 'all');
    await waitFor('lvs2 MASTER', async () => (await ha('lvs2')).vrrp.state === 'MASTER', 5000, 10);
    const seen = await sample(2000);
    expect(seen.filter((m) => m.join() !== 'lvs2')).toEqual([]);
    const h1 = await ha('lvs1');
    expect(h1.vrrp.state).toBe('BACKUP');
    expect(h1.vrrp.vipsHeld).toEqual([]);
    const w1 = (await ha('lvs1')).witness;
    expect(w1.gateways[0]!.reached).toBe(false);
    expect(w1.instances[0]!.quorum).toBe('no-quorum');
    const left = transitionAt('lvs1', 'BACKUP', cutAt)!;
    const took = transitionAt('lvs2', 'MASTER', cutAt)!;
    process.stdout.write(
      `witness (b): lvs1 cut from everything; it left MASTER after ${left - cutAt} ms, lvs2 became MASTER after ${took - cutAt} ms (lease 500 ms)\n`,
    );
    expect(left).toBeLessThan(took);
    expect(took - cutAt).toBeLessThan(1500);
  });

  it('(c) heal: one MASTER (lvs1 preempts back through the votes); crash of the MASTER: the client is answered again fast', async () => {
    await heal('lvs1');
    await waitFor('lvs1 MASTER again', async () => (await masters()).join() === 'lvs1', 8000);
    const seen = await sample(2000);
    expect(seen.filter((m) => m.length !== 1)).toEqual([]);

    const probe = lab.host('client').spawn(process.execPath, [PROBE, `http://${VIP}/`, '10', '100', '4000']);
    const lines = jsonLines(probe);
    await waitFor('probe running', () => lines.some((l) => l.ok), 3000);
    const killedAt = Date.now();
    vsd.lvs1!.proc.kill('SIGKILL');
    await waitExit(vsd.lvs1!.proc, 2000);
    await waitFor('lvs2 MASTER', async () => (await ha('lvs2')).vrrp.state === 'MASTER', 3000, 10);
    const firstOk = await waitFor('an answer through the VIP after the kill', () => lines.find((l) => l.ok && (l.start as number) >= killedAt), 3000);
    const ms = (firstOk.end as number) - killedAt;
    process.stdout.write(`witness (c): with the witness on, the client was answered through the VIP ${ms} ms after SIGKILL of the master\n`);
    expect(ms).toBeLessThanOrEqual(600);
    expect((await ha('lvs2')).witness.instances[0]!.votesHeld).toEqual(['web1', 'web2']);
    await waitExit(probe, 5000);
  });

  it('(d) the killed node restarts: it rejoins through the votes (never two MASTERs), and one MAC answers ARP for the VIP', async () => {
    const restartAt = Date.now();
    await start('lvs1');
    // lvs1 (150) preempts: it contends, lvs2 hears it, yields and releases its votes, lvs1 gets them.
    await waitFor('lvs1 MASTER after its restart', async () => (await ha('lvs1')).vrrp.state === 'MASTER', 8000);
    const took = transitionAt('lvs1', 'MASTER', restartAt)!;
    const left = transitionAt('lvs2', 'BACKUP', restartAt)!;
    process.stdout.write(`witness (d): restarted lvs1 became MASTER ${took - restartAt} ms after its start, ${took - left} ms after lvs2 left MASTER\n`);
    expect(left).toBeLessThanOrEqual(took);
    expect(await masters()).toEqual(['lvs1']);
    const arp = await lab.host('client').exec('arping', ['-c', '3', '-w', '1', '-I', 'eth0', VIP], { timeoutMs: 10_000 });
    const macs = new Set((arp.stdout.match(/([0-9a-f]{2}:){5}[0-9a-f]{2}/gi) ?? []).map((m) => m.toLowerCase()));
    expect([...macs]).toEqual([lab.host('lvs1').mac]);
  });

  it('control: with the witness off, the same VRRP cut makes both MASTER (what the guard prevents)', async () => {
    for (const n of ['lvs1', 'lvs2'] as const) {
      vsd[n]!.proc.kill('SIGTERM');
      await waitExit(vsd[n]!.proc, 8000);
    }
    await start('lvs1', false);
    await start('lvs2', false);
    await waitFor('lvs1 MASTER', async () => (await masters()).join() === 'lvs1', 8000);
    expect((await ha('lvs1')).witness.enabled).toBe(false);
    await cut('lvs1', { peer: '10.77.0.12' });
    await cut('lvs2', { peer: '10.77.0.11' });
    await waitFor('both MASTER', async () => (await masters()).length === 2, 3000);
    process.stdout.write('witness (control): without the witness the VRRP cut left both dispatchers MASTER\n');
    await heal('lvs1');
    await heal('lvs2');
    await waitFor('one MASTER after the heal', async () => (await masters()).length === 1, 3000);
  });
});
