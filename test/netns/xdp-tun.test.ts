/**
 * LVS TUN on this kernel, which has no ipip module: real servers prepared by `vsd-agent setup-tun` get the BPF
 * decapsulator (XDP on eth0). Topology on one lab bridge: client, dispatcher, rs1, rs2; the VIP on the real
 * servers' lo. First the dispatcher sends hand-made IPIP (and GUE) packets carrying the client's UDP datagram to the
 * VIP; each real server answers the client directly, from the VIP, naming the client address it saw. Then the
 * dispatcher runs the vsd daemon with `dataplane: xdp` and a TUN service: real HTTP requests from the client, rr
 * between the two real servers, a connection that keeps its real server across a weight change and weight 0.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLab, waitFor, type Host, type Lab } from '../lib/netns.js';
import { AGENT_BIN, startDispatcher, type Dispatcher } from './agent-helpers.js';

const SENDER = fileURLToPath(new URL('../lib/ipip-packets.mjs', import.meta.url));
const VSADM_BIN = fileURLToPath(new URL('../../packages/cli/bin/vsadm.js', import.meta.url));
const ETHTOOL = fileURLToPath(new URL('../lib/ethtool-ioctl.mjs', import.meta.url));
const DECAP_OBJECT = fileURLToPath(new URL('../../packages/agent/dist/bpf/rs_decap.o', import.meta.url));
const VIP = '10.77.0.100';
const PORT = 9000;
const GUE_PORT = 6080;

const ECHO = `
const dgram = require('node:dgram');
const s = dgram.createSocket('udp4');
s.on('message', (m, r) => s.send(process.argv[1] + ' saw ' + r.address + ':' + r.port + ' ' + m, r.port, r.address));
s.bind(${PORT}, process.argv[2], () => process.stdout.write('listening\\n'));
`;

const RECEIVE = `
const dgram = require('node:dgram');
const s = dgram.createSocket('udp4');
const t = setTimeout(() => { process.stdout.write(JSON.stringify({ timeout: true }) + '\\n'); process.exit(0); }, Number(process.argv[2]));
s.on('message', (m, r) => { clearTimeout(t); process.stdout.write(JSON.stringify({ from: r.address + ':' + r.port, text: String(m) }) + '\\n'); process.exit(0); });
s.bind(Number(process.argv[1]), () => process.stdout.write('ready\\n'));
`;

const HTTP = `
const s = require('node:http').createServer((q, r) => r.end(process.argv[1] + ' saw ' + q.socket.remoteAddress + ' port ' + q.socket.remotePort + '\\n'));
s.keepAliveTimeout = 120000;
s.listen(80, process.argv[2], () => process.stdout.write('listening\\n'));
`;

/** One TCP connection to VIP:80 kept open; each line on stdin sends a keep-alive GET, each answer is printed. */
const KEEPALIVE = `
const sock = require('node:net').connect(80, process.argv[1], () => process.stdout.write('connected\\n'));
let buf = '';
sock.on('data', (d) => { buf += d; let m; while ((m = /\\r\\n\\r\\n/.exec(buf)) && buf.length >= m.index + 4 + Number(/content-length: (\\d+)/i.exec(buf)[1])) { const end = m.index + 4 + Number(/content-length: (\\d+)/i.exec(buf)[1]); process.stdout.write('answer ' + buf.slice(m.index + 4, end).trim() + '\\n'); buf = buf.slice(end); } });
sock.on('close', () => process.stdout.write('closed\\n'));
process.stdin.on('data', () => sock.write('GET / HTTP/1.1\\r\\nHost: vip\\r\\n\\r\\n'));
`;

interface Reply {
  timeout?: boolean;
  from?: string;
  text?: string;
}

describe('TUN real servers with the BPF decapsulator (no ipip module)', () => {
  let lab: Lab;
  let dir: string;
  let client: Host;
  let dispatcher: Host;
  let rs: Host[];
  let sport = 41000;
  const state = (h: Host) => join(dir, `${h.name}.json`);
  const agent = (h: Host, ...args: string[]) => h.exec(process.execPath, [AGENT_BIN, ...args, '--state', state(h)]);
  const status = async (h: Host) =>
    JSON.parse((await agent(h, 'decap-status', '--json')).stdout) as Array<{ attached: boolean; vips: string[]; stats: Record<string, number> | null }>;

  /** One UDP datagram client -> VIP, tunnelled by the dispatcher to `to`; the client's view of the answer. */
  async function request(to: Host, o: { encap?: 'ipip' | 'gue0' | 'gue1'; innerDst?: string; waitMs?: number } = {}): Promise<Reply> {
    const port = sport++;
    const rx = client.spawn(process.execPath, ['-e', RECEIVE, String(port), String(o.waitMs ?? 5000)]);
    let out = '';
    rx.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor('receiver ready', () => out.includes('ready'), 10_000);
    const spec = {
      outerSrc: dispatcher.ip,
      outerDst: to.ip,
      innerSrc: client.ip,
      innerDst: o.innerDst ?? VIP,
      sport: port,
      dport: PORT,
      payload: 'hello',
      encap: o.encap ?? 'ipip',
      guePort: GUE_PORT,
    };
    const sent = await dispatcher.exec(process.execPath, [SENDER, 'send', JSON.stringify(spec)]);
    expect(sent.code, sent.stderr).toBe(0);
    const line = await waitFor('receiver verdict', () => out.split('\n').find((l) => l.startsWith('{')), (o.waitMs ?? 5000) + 5000);
    return JSON.parse(line) as Reply;
  }

  beforeAll(async () => {
    lab = await createLab([
      { name: 'client', address: '10.77.0.10/24' },
      { name: 'dispatcher', address: '10.77.0.2/24' },
      { name: 'rs1', address: '10.77.0.21/24' },
      { name: 'rs2', address: '10.77.0.22/24' },
    ]);
    dir = mkdtempSync(join(tmpdir(), 'vsdt-xdp-tun-'));
    client = lab.host('client');
    dispatcher = lab.host('dispatcher');
    rs = [lab.host('rs1'), lab.host('rs2')];
  });

  afterAll(async () => {
    await lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('this kernel has no ipip device, so --decap ipip refuses clearly and auto attaches the BPF decapsulator', async () => {
    const ipip = await rs[0]!.exec('ip', ['link', 'add', 'vsdtipip', 'type', 'ipip']);
    if (ipip.code === 0) {
      await rs[0]!.exec('ip', ['link', 'del', 'vsdtipip']);
      return; // a kernel with ipip: auto takes tunl0, the agent-setup test covers it
    }
    const refused = await agent(rs[0]!, 'setup-tun', '--vip', VIP, '--decap', 'ipip');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/TUN needs the ipip kernel module .*use --decap bpf, DR or a kernel with ipip \[VSD_ERR_RS_SETUP\]/);
    for (const h of rs) {
      const r = await agent(h, 'setup-tun', '--vip', VIP, '--dev', 'eth0', ...(h.name === 'rs2' ? ['--gue-port', String(GUE_PORT)] : []));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`changed: address ${VIP}/32 on lo`);
      expect(r.stdout).toMatch(/changed: BPF decapsulator on eth0 \(XDP native, program id \d+\)/);
      expect(r.stdout).toContain(`changed: VIP ${VIP} decapsulated on eth0`);
      expect((await h.exec('ip', ['-o', 'link', 'show', 'dev', 'eth0'])).stdout).toMatch(/xdp/);
      expect((await agent(h, 'setup-tun', '--vip', VIP, '--dev', 'eth0')).stdout).toBe('nothing to change\n');
    }
    const [st] = await status(rs[0]!);
    expect(st).toMatchObject({ attached: true, vips: [VIP] });
  });

  it('each real server answers the client directly from the VIP and sees the client address', async () => {
    for (const h of rs) {
      const echo = h.spawn(process.execPath, ['-e', ECHO, h.name, VIP]);
      let out = '';
      echo.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor(`${h.name} echo listening`, () => out.includes('listening'), 10_000);
    }
    for (const h of rs) {
      const before = (await status(h))[0]!.stats!.decapIpip!;
      const r = await request(h);
      expect(r.from).toBe(`${VIP}:${PORT}`);
      expect(r.text).toMatch(new RegExp(`^${h.name} saw ${client.ip.replace(/\./g, '\\.')}:\\d+ hello$`));
      expect((await status(h))[0]!.stats!.decapIpip).toBe(before + 1);
    }
  });

  it('strips GUE where --gue-port asked for it, and leaves tunnelled packets for another VIP alone', async () => {
    for (const encap of ['gue0', 'gue1'] as const) expect((await request(rs[1]!, { encap })).text).toMatch(/^rs2 saw 10\.77\.0\.10:/);
    expect((await status(rs[1]!))[0]!.stats).toMatchObject({ decapGue: 2 });
    const before = (await status(rs[0]!))[0]!.stats!.notOurs!;
    const r = await request(rs[0]!, { innerDst: '10.77.0.101', waitMs: 1000 });
    expect(r.timeout).toBe(true);
    expect((await status(rs[0]!))[0]!.stats!.notOurs).toBe(before + 1);
  });

  it('names a missing interface and refuses when BPF is not permitted, changing nothing', async () => {
    const h = rs[0]!;
    const other = join(dir, 'other.json');
    const missing = await h.exec(process.execPath, [AGENT_BIN, 'setup-tun', '--vip', '10.77.0.102', '--decap', 'bpf', '--dev', 'nope0', '--state', other]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('interface nope0 does not exist [VSD_ERR_RS_DECAP]');
    // root without CAP_BPF/CAP_SYS_ADMIN/CAP_PERFMON: the address and sysctl steps work, the BPF step is refused
    const denied = await h.exec('setpriv', [
      '--bounding-set',
      '-bpf,-sys_admin,-perfmon',
      '--inh-caps',
      '-bpf,-sys_admin,-perfmon',
      '--',
      process.execPath,
      AGENT_BIN,
      'setup-tun',
      '--vip',
      '10.77.0.102',
      '--decap',
      'bpf',
      '--dev',
      'lo',
      '--state',
      other,
    ]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(
      /BPF is not permitted here \(.*: EPERM\); attaching the decapsulator to lo needs root, or CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON \[VSD_ERR_RS_DECAP\]/,
    );
    expect((await h.exec('ip', ['-o', '-4', 'addr', 'show', 'dev', 'lo'])).stdout).not.toContain('10.77.0.102');
  });

  it('setup-tun --remove detaches the decapsulator and removes the VIP; the tunnel stops answering', async () => {
    const h = rs[0]!;
    const r = await agent(h, 'setup-tun', '--remove');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/reverted: BPF decapsulator on eth0/);
    expect((await h.exec('ip', ['-o', 'link', 'show', 'dev', 'eth0'])).stdout).not.toMatch(/xdp/);
    expect((await h.exec('ip', ['-o', '-4', 'addr', 'show', 'dev', 'lo'])).stdout).not.toContain(VIP);
    expect((await request(h, { waitMs: 1000 })).timeout).toBe(true);
    expect((await agent(h, 'decap-status')).stdout).toBe('no BPF decapsulator recorded\n');
  });

  describe('through the vsd daemon with dataplane: xdp (TUN, rr)', () => {
    let vsd: Dispatcher;
    const reals = () => rs.map((h) => `      - { address: ${h.ip}:80, weight: WEIGHT_${h.name} }`).join('\n');
    const yaml = (w: Record<string, number>) =>
      `
dataplane: xdp
xdp: { interface: eth0 }
virtual_servers:
  - address: ${VIP}:80
    protocol: tcp
    lb_algo: rr
    lb_kind: TUN
    real_servers:
${reals().replace(/WEIGHT_(\w+)/g, (_, n: string) => String(w[n]))}
`;
    const get = async (): Promise<string> => {
      const r = await client.exec('curl', ['-s', '-m', '5', `http://${VIP}/`]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    const reload = async (w: Record<string, number>) => {
      writeFileSync(join(dir, 'vsd.yaml'), yaml(w));
      await vsd.client.post('/v1/reload');
    };

    beforeAll(async () => {
      // rs1 was torn down above: prepare it again (a setup after --remove attaches a new decapsulator)
      const again = await agent(rs[0]!, 'setup-tun', '--vip', VIP, '--dev', 'eth0');
      expect(again.code, again.stderr).toBe(0);
      for (const h of rs) {
        const web = h.spawn(process.execPath, ['-e', HTTP, h.name, VIP]);
        let out = '';
        web.stdout!.on('data', (d: Buffer) => (out += d.toString()));
        await waitFor(`${h.name} http listening`, () => out.includes('listening'), 10_000);
      }
      expect((await client.exec('ip', ['route', 'add', `${VIP}/32`, 'via', dispatcher.ip])).code).toBe(0);
      // The veth lab's two needs (see test/lib/ethtool-ioctl.mjs): complete TCP checksums from the client, and NAPI
      // on the switch port behind the dispatcher so the XDP_TX'd frames are received there: an XDP program on it
      // (the decapsulator with empty maps passes every frame).
      const tx = await client.exec(process.execPath, [ETHTOOL, 'eth0', 'tx', 'off']);
      expect(tx.code, tx.stderr).toBe(0);
      execFileSync('ip', ['-n', `${lab.prefix}-sw`, 'link', 'set', 'dev', 'p2', 'xdp', 'obj', DECAP_OBJECT, 'sec', 'xdp']);
      vsd = await startDispatcher(dispatcher, dir, yaml({ rs1: 1, rs2: 1 }), 'xdp');
    });

    afterAll(() => {
      vsd?.proc.kill('SIGTERM');
    });

    it('answers real HTTP requests from both real servers in rr order, each seeing the client address', async () => {
      const answers: string[] = [];
      for (let i = 0; i < 6; i++) answers.push(await get());
      for (const a of answers) expect(a).toMatch(new RegExp(`^rs[12] saw ${client.ip.replace(/\./g, '\\.')} port \\d+$`));
      const names = answers.map((a) => a.split(' ')[0]);
      // rr alternates whichever comes first
      expect(names).toEqual([0, 1, 2, 3, 4, 5].map((i) => (i % 2 === 0 ? names[0] : names[1])));
      expect(new Set(names)).toEqual(new Set(['rs1', 'rs2']));
      for (const h of rs) expect((await status(h))[0]!.stats!.decapIpip).toBeGreaterThan(0);
    });

    it('keeps an established connection on its real server across a weight change and weight 0; new ones avoid the quiesced one', async () => {
      const conn: ChildProcess = client.spawn(process.execPath, ['-e', KEEPALIVE, VIP], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      conn.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      await waitFor('keep-alive connection', () => out.includes('connected'), 10_000);
      const ask = async (n: number): Promise<string> => {
        conn.stdin!.write('\n');
        const line = await waitFor(`answer ${n}`, () => out.split('\n').filter((l) => l.startsWith('answer '))[n - 1], 10_000);
        return line.slice('answer '.length);
      };
      const first = await ask(1);
      const [held, port] = [first.split(' ')[0]!, first.split(' port ')[1]];
      const other = held === 'rs1' ? 'rs2' : 'rs1';
      await reload({ [held]: 1, [other]: 3 });
      expect(await ask(2)).toBe(first);
      await reload({ [held]: 0, [other]: 3 });
      expect(await ask(3)).toBe(`${held} saw ${client.ip} port ${port}`);
      for (let i = 0; i < 4; i++) expect((await get()).split(' ')[0]).toBe(other);
      expect(await ask(4)).toBe(first);
      expect(out).not.toContain('closed');
      conn.kill();
    });

    it('reaches a real server through GUE when its tunnel says gue (vsadm --tun-type gue), decapsulated by setup-tun --gue-port', async () => {
      await reload({ rs1: 1, rs2: 1 });
      const edit = await dispatcher.exec(process.execPath, [
        VSADM_BIN,
        '--socket',
        join(dir, 'vsd.sock'),
        '-e',
        '-t',
        `${VIP}:80`,
        '-r',
        `${rs[1]!.ip}:80`,
        '-i',
        '--tun-type',
        'gue',
        '--tun-port',
        String(GUE_PORT),
        '-w',
        '1',
      ]);
      expect(edit.code, edit.stderr).toBe(0);
      const before = (await status(rs[1]!))[0]!.stats!;
      const names: string[] = [];
      for (let i = 0; i < 4; i++) names.push((await get()).split(' ')[0]!);
      expect(names.filter((n) => n === 'rs2')).toHaveLength(2);
      const after = (await status(rs[1]!))[0]!.stats!;
      expect(after.decapGue! - before.decapGue!).toBeGreaterThanOrEqual(6); // 2 connections: SYN, ACK, request, ACK, FIN, ACK at least
      expect(after.decapIpip).toBe(before.decapIpip);
    });
  });
});
