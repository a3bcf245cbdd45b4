// vsd with `dataplane: xdp` forwarding DR in native XDP on a veth: client -> dispatcher (the program on eth0 rewrites
// the destination MAC, XDP_TX) -> two real servers on the same bridge, VIP on lo with the ARP sysctls (vsd-agent
// setup-dr), answering the client directly. Real HTTP requests; the real servers answering follow vsd's rr.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScheduler, createSchedDest } from '@vsd/core';
import { createLab, requireRoot, type Lab } from '../lib/netns.js';
import { BIN, requireBuild, startVsd, startWebServer, tempDir, waitReady, type VsdProcess } from '../lib/vsd-proc.js';

const VIP = '10.77.0.100';
let lab: Lab;
let dir: string;
let vsd: VsdProcess | undefined;

beforeAll(async () => {
  requireRoot();
  requireBuild();
  dir = tempDir('xdp-dr');
  lab = await createLab([
    { name: 'client', address: '10.77.0.2/24' },
    { name: 'lb', address: '10.77.0.11/24' },
    { name: 'web1', address: '10.77.0.21/24' },
    { name: 'web2', address: '10.77.0.22/24' },
  ]);
  // XDP_TX on a veth hands the frame to the peer's NAPI queue, which exists only while the peer has an XDP program
  // (or GRO on): give the dispatcher's bridge port a pass-everything program.
  writeFileSync(
    join(dir, 'pass.c'),
    '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int pass(struct xdp_md *ctx) { return XDP_PASS; }\nchar LICENSE[] SEC("license") = "GPL";\n',
  );
  execFileSync('clang', ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', join(dir, 'pass.c'), '-o', join(dir, 'pass.o')]);
  execFileSync('ip', ['-n', `${lab.prefix}-sw`, 'link', 'set', 'dev', 'p2', 'xdpdrv', 'obj', join(dir, 'pass.o'), 'sec', 'xdp']);

  // The client's TCP leaves its veth with CHECKSUM_PARTIAL (the "hardware" would finish it); native XDP on the
  // dispatcher's veth turns the skb into a bare frame, and the real server then sees an unfinished checksum. A wire
  // never carries such packets: make the client finish its checksums itself.
  execFileSync('ip', ['netns', 'exec', lab.host('client').ns, 'ethtool', '-K', 'eth0', 'tx', 'off']);
  // The dispatcher holds the VIP (it answers ARP for it); the real servers hold it on lo and stay silent about it.
  await lab.host('lb').exec('ip', ['addr', 'add', `${VIP}/32`, 'dev', 'eth0']);
  for (const name of ['web1', 'web2']) {
    const r = await lab.host(name).exec(process.execPath, [BIN.agent, 'setup-dr', '--vip', VIP, '--state', join(dir, `${name}.agent.json`)]);
    expect(r.code, r.stderr).toBe(0);
    const web = startWebServer(lab.host(name), 80, name);
    await waitReady(web, name);
  }
  vsd = await startVsd(lab.host('lb'), {
    dir,
    name: 'lb',
    dataplane: 'xdp',
    config: {
      dataplane: 'xdp',
      xdp: { interface: 'eth0', mode: 'native' },
      virtual_servers: [
        {
          address: `${VIP}:80`,
          lb_algo: 'rr',
          lb_kind: 'DR',
          real_servers: [{ address: '10.77.0.21:80' }, { address: '10.77.0.22:80' }],
        },
      ],
    },
  });
});

afterAll(async () => {
  if (vsd) {
    vsd.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
  }
  await lab?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function get(): Promise<string> {
  const r = await lab.host('client').exec('curl', ['-s', '--max-time', '3', `http://${VIP}/`]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

describe('xdp dataplane, DR in native XDP on a veth', () => {
  it('attaches natively and says so', async () => {
    const link = await lab.host('lb').exec('ip', ['-d', 'link', 'show', 'eth0']);
    expect(link.stdout).toMatch(/xdp/);
    expect(vsd!.logs.some((l) => l.msg === 'xdp program loaded' && l.mode === 'native')).toBe(true);
  });

  it('answers real HTTP requests from both real servers, in the order vsd rr picks them', async () => {
    const answers: string[] = [];
    for (let i = 0; i < 8; i++) answers.push(await get());
    // The reference: vsd's rr over the same list in the kernel's order (newest first).
    const rr = createScheduler('rr');
    const hosts = { '10.77.0.21': 'web1', '10.77.0.22': 'web2' } as Record<string, string>;
    rr.update(['10.77.0.22', '10.77.0.21'].map((address) => createSchedDest({ address, port: 80 })));
    const packet = { saddr: 0, sport: 0, daddr: 0, dport: 80 };
    const want = answers.map(() => hosts[rr.pick(packet)!.address]);
    expect(answers).toEqual(want);
  });

  it('shows the forwarded connections and packets in vsadm -L -n --stats', async () => {
    const r = await vsd!.vsadm('-L', '-n', '--stats');
    expect(r.code, r.stderr).toBe(0);
    const line = (addr: string) => r.stdout.split('\n').find((l) => l.includes(addr))!;
    const conns = (addr: string) => Number(line(addr).trim().split(/\s+/)[2]);
    expect(conns(`${VIP}:80`)).toBeGreaterThanOrEqual(8);
    expect(conns('10.77.0.21:80')).toBeGreaterThanOrEqual(4);
    expect(conns('10.77.0.22:80')).toBeGreaterThanOrEqual(4);
    const list = await vsd!.vsadm('-L', '-n');
    const active = (addr: string) =>
      Number(
        list.stdout
          .split('\n')
          .find((l) => l.includes(addr))!
          .trim()
          .split(/\s+/)[4],
      );
    expect(active('10.77.0.21:80')).toBeGreaterThanOrEqual(4);
    expect(active('10.77.0.22:80')).toBeGreaterThanOrEqual(4);
    const status = await vsd!.api<{ dataplane: string; info: { engine?: string } }>('/v1/status');
    expect(status.dataplane).toBe('xdp');
    expect(status.info.engine).toBe('xdp native on eth0');
    const { connections } = await vsd!.api<{ connections: Array<{ client: { address: string }; destination: { address: string } }> }>('/v1/connections');
    expect(connections.filter((c) => c.client.address === '10.77.0.2').length).toBeGreaterThanOrEqual(8);
    expect(new Set(connections.map((c) => c.destination.address))).toEqual(new Set(['10.77.0.21', '10.77.0.22']));
  });

  it('detaches the program when vsd stops', async () => {
    const exited = new Promise((r) => vsd!.proc.once('exit', r));
    vsd!.proc.kill('SIGTERM');
    await exited;
    vsd = undefined;
    const link = await lab.host('lb').exec('ip', ['-d', 'link', 'show', 'eth0']);
    expect(link.stdout).not.toMatch(/prog\/xdp/);
  });
});
