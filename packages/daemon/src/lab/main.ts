/**
 * `sudo pnpm lab`: the seed's NAT cluster, live, in network namespaces: a client, two dispatchers (lvs1 primary,
 * lvs2 standby) sharing the VIP with VRRP and peer sync, two web nodes with vsd-agent, and a scripted failover.
 * Everything runs as real processes; everything is torn down at the end (or on Ctrl-C). `--keep` leaves the lab up
 * until Ctrl-C so you can `ip netns exec` into it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLab, SEED_HOSTS, waitFor, type Host, type Lab } from './netns.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const BIN = {
  vsd: join(here, '../../bin/vsd.js'),
  vsadm: join(here, '../../../cli/bin/vsadm.js'),
  vsctl: join(here, '../../../cli/bin/vsctl.js'),
  agent: join(here, '../../../agent/bin/vsd-agent.js'),
};
const VIP = '10.77.0.100';

const say = (s: string): boolean => process.stdout.write(`${s}\n`);

async function main(): Promise<void> {
  const keep = process.argv.includes('--keep');
  say(`vsd lab: the seed's NAT cluster in namespaces — client 10.77.0.2, lvs1 .11, lvs2 .12, web1 .21, web2 .22, VIP ${VIP}`);
  const lab = await createLab(SEED_HOSTS);
  const dir = mkdtempSync(join(tmpdir(), 'vsd-lab-'));
  try {
    await run(lab, dir);
    if (keep) {
      say(`\nthe lab stays up until Ctrl-C; enter a host with: ip netns exec ${lab.host('client').ns} bash`);
      await new Promise(() => undefined);
    }
  } finally {
    await lab.destroy();
    say('lab torn down');
  }
}

function file(dir: string, name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content, { mode: 0o600 });
  return p;
}

async function run(lab: Lab, dir: string): Promise<void> {
  const key = file(dir, 'cluster.key', 'lab-shared-key-0123456789\n');
  for (const [i, web] of (['web1', 'web2'] as const).entries()) {
    const page = `this is test ${i + 1} web`;
    lab.host(web).spawn(process.execPath, ['-e', `require('http').createServer((q,s)=>s.end(${JSON.stringify(`${page}\n`)})).listen(80)`]);
    const agentConfig = file(
      dir,
      `${web}-agent.yaml`,
      JSON.stringify({
        name: web,
        dispatchers: ['10.77.0.11:9182', '10.77.0.12:9182'],
        key_file: key,
        report_interval: 1,
        probe: { http_get: { url: 'http://127.0.0.1:80/' } },
      }),
    );
    lab.host(web).spawn(process.execPath, [BIN.agent, '--config', agentConfig]);
  }
  const vsd: Record<string, string> = {};
  for (const [name, priority, peer] of [
    ['lvs1', 150, '10.77.0.12'],
    ['lvs2', 100, '10.77.0.11'],
  ] as const) {
    const config = {
      dataplane: 'proxy',
      ha: { instance: 'VI_1', interface: 'eth0', vrid: 51, priority, advert_int: 0.05, vips: [`${VIP}/24`] },
      peer: { listen: `${lab.host(name).ip}:9181`, address: `${peer}:9181`, key_file: key, id: name },
      agents: { listen: '0.0.0.0:9182', key_file: key, silent_after: 3 },
      virtual_servers: [
        {
          address: `${VIP}:80`,
          protocol: 'tcp',
          lb_algo: 'rr',
          lb_kind: 'NAT',
          delay_loop: 1,
          real_servers: ['10.77.0.21', '10.77.0.22'].map((ip) => ({
            address: `${ip}:80`,
            weight: 1,
            checks: [{ http_get: { path: '/', status_code: 200 }, connect_timeout: 1 }],
          })),
        },
      ],
    };
    const cfg = file(dir, `${name}.yaml`, JSON.stringify(config, null, 2));
    vsd[name] = join(dir, `${name}.sock`);
    const p = lab.host(name).spawn(process.execPath, [BIN.vsd, '--config', cfg, '--socket', vsd[name]!, '--state', join(dir, `${name}.state.json`)]);
    p.stdout?.resume();
  }
  const vsctl = (host: string, ...args: string[]) => lab.host(host).exec(process.execPath, [BIN.vsctl, '--socket', vsd[host]!, ...args]);
  const haState = async (host: string): Promise<string | undefined> => {
    const r = await vsctl(host, 'status', '--json');
    return r.code === 0 ? (JSON.parse(r.stdout) as { ha?: { vrrp?: { state: string } } }).ha?.vrrp?.state : undefined;
  };
  const curl = async (): Promise<string> => (await lab.host('client').exec('curl', ['-s', '--max-time', '2', `http://${VIP}/`])).stdout.trim() || '(no answer)';
  const step = (s: string) => say(`\n== ${s}`);

  step('waiting for lvs1 to become MASTER and the agents to report');
  await waitFor('lvs1 MASTER', async () => (await haState('lvs1')) === 'MASTER', 15_000, 100);
  await waitFor('agents', async () => (await vsctl('lvs1', 'agents')).stdout.includes('up'), 15_000, 200);
  say((await vsctl('lvs1', 'status')).stdout);
  say((await vsctl('lvs1', 'agents')).stdout);

  step(`client: curl http://${VIP}/ four times (rr)`);
  for (let i = 0; i < 4; i++) say(`  ${await curl()}`);

  step('vsctl failover on lvs1: the MASTER resigns, lvs2 takes the VIP');
  say((await vsctl('lvs1', 'failover')).stdout);
  await waitFor('lvs2 MASTER', async () => (await haState('lvs2')) === 'MASTER', 15_000, 20);
  for (let i = 0; i < 2; i++) say(`  ${await curl()}`);
  say((await lab.host('client').exec('ip', ['neigh', 'show', VIP])).stdout.trim());

  step('vsctl takeover on lvs1: back to the primary');
  say((await vsctl('lvs1', 'takeover')).stdout);
  await waitFor('lvs1 MASTER', async () => (await haState('lvs1')) === 'MASTER', 15_000, 20);
  say(`  ${await curl()}`);
  say((await vsctl('lvs2', 'sync')).stdout);
}

function isMain(): boolean {
  return process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
}

if (isMain()) {
  if (process.getuid?.() !== 0) {
    process.stderr.write('vsd lab: needs root for network namespaces: sudo pnpm lab\n');
    process.exit(2);
  }
  main().catch((err: Error) => {
    process.stderr.write(`vsd lab: ${err.message}\n`);
    process.exit(1);
  });
}

export type { Host };
