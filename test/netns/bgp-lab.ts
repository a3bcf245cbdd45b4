/**
 * The BGP scale-out lab: an upstream router running BIRD with ECMP (merge paths, L4 multipath hash) peering over
 * BGP+BFD with N dispatchers, each running BIRD and vsd; real servers on the dispatchers' segment; a client on a
 * segment of its own behind the router. Used by the bgp-*.test.ts files.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLab, waitFor, type Host, type Lab } from '../lib/netns.js';
import { startVsd, waitReady, type VsdProcess } from '../lib/vsd-proc.js';

export const ROUTER_IP = '10.78.0.1';
export const CLIENT_NET = '10.79.0';
export const DISPATCHER_AS = 65001;
export const ROUTER_AS = 65000;

export interface BgpLab {
  lab: Lab;
  dir: string;
  router: Host;
  client: Host;
  dispatchers: Host[];
  realServers: Host[];
  birds: Map<string, ChildProcess>;
  /** Next hops of `prefix` in the router's kernel table (one per dispatcher announcing it). */
  paths(prefix: string): Promise<string[]>;
  destroy(): Promise<void>;
}

export async function createBgpLab(dir: string, dispatchers = 3, realServers = 2): Promise<BgpLab> {
  const specs = [
    { name: 'router', address: `${ROUTER_IP}/24` },
    { name: 'client', address: '10.78.0.2/24' },
    ...Array.from({ length: dispatchers }, (_, i) => ({ name: `d${i + 1}`, address: `10.78.0.${11 + i}/24` })),
    ...Array.from({ length: realServers }, (_, i) => ({ name: `web${i + 1}`, address: `10.78.0.${21 + i}/24` })),
  ];
  // Redirects off: the router forwards out the interface it received on, and a redirect would move the client
  // or a dispatcher off the path the test measures.
  const lab = await createLab(specs, {
    sysctls: { 'net.ipv4.conf.all.send_redirects': '0', 'net.ipv4.conf.eth0.send_redirects': '0', 'net.ipv4.conf.all.accept_redirects': '0' },
  });
  const router = lab.host('router');
  const client = lab.host('client');
  const ds = specs.filter((s) => /^d\d$/.test(s.name)).map((s) => lab.host(s.name));
  const birds = new Map<string, ChildProcess>();
  const must = async (h: Host, cmd: string, args: string[]) => {
    const r = await h.exec(cmd, args);
    if (r.code !== 0) throw new Error(`${h.name}: ${cmd} ${args.join(' ')}: ${r.stderr}`);
  };
  // The client's own segment: a veth between the router and the client, the client's default route via the router.
  await must(router, 'ip', ['link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1', 'netns', client.ns]);
  await must(router, 'ip', ['addr', 'add', `${CLIENT_NET}.1/24`, 'dev', 'eth1']);
  await must(router, 'ip', ['link', 'set', 'eth1', 'up']);
  await must(client, 'ip', ['addr', 'add', `${CLIENT_NET}.2/24`, 'dev', 'eth1']);
  await must(client, 'ip', ['link', 'set', 'eth1', 'up']);
  await must(client, 'ip', ['route', 'add', 'default', 'via', `${CLIENT_NET}.1`]);
  await must(router, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  // ECMP on the 5-tuple: connections from different source ports spread over the dispatchers.
  await must(router, 'sysctl', ['-qw', 'net.ipv4.fib_multipath_hash_policy=1']);
  for (const d of ds) await must(d, 'ip', ['route', 'add', `${CLIENT_NET}.0/24`, 'via', ROUTER_IP]);

  const bfd = `protocol bfd { interface "eth0" { interval 100 ms; multiplier 3; }; }`;
  const routerConf = [
    `router id ${ROUTER_IP};`,
    'protocol device {}',
    // merge paths: the equal BGP routes of the dispatchers become one multipath kernel route.
    'protocol kernel { ipv4 { export all; }; merge paths on; }',
    bfd,
    `template bgp dispatcher { local ${ROUTER_IP} as ${ROUTER_AS}; bfd on; connect delay time 1; error wait time 1, 4; ipv4 { import all; export none; }; }`,
    ...ds.map((d) => `protocol bgp ${d.name} from dispatcher { neighbor ${d.ip} as ${DISPATCHER_AS}; }`),
  ].join('\n');
  birds.set('router', await startBird(router, dir, routerConf));

  return {
    lab,
    dir,
    router,
    client,
    dispatchers: ds,
    realServers: specs.filter((s) => s.name.startsWith('web')).map((s) => lab.host(s.name)),
    birds,
    async paths(prefix) {
      const r = await router.exec('ip', ['route', 'show', prefix]);
      return [...r.stdout.matchAll(/via (\S+)/g)].map((m) => m[1]!).sort();
    },
    destroy: () => lab.destroy(),
  };
}

/** The dispatcher's BIRD config: a disabled static protocol per VIP (vsd enables it), exported over BGP with BFD. */
export function dispatcherBirdConf(d: Host, vips: readonly string[]): string {
  return [
    `router id ${d.ip};`,
    'protocol device {}',
    `protocol bfd { interface "eth0" { interval 100 ms; multiplier 3; }; }`,
    ...vips.map((v) => `protocol static vsd_${v.replace(/[.:]/g, '_')} { disabled; ipv4; route ${v}/32 blackhole; }`),
    `protocol bgp upstream { local ${d.ip} as ${DISPATCHER_AS}; neighbor ${ROUTER_IP} as ${ROUTER_AS}; bfd on; connect delay time 1; error wait time 1, 4;`,
    `  ipv4 { import none; export where proto ~ "vsd_*"; next hop self; }; }`,
  ].join('\n');
}

/** BIRD in the foreground (so the lab tracks and kills it), control socket in `dir`; resolves once the socket answers. */
export async function startBird(h: Host, dir: string, conf: string): Promise<ChildProcess> {
  const file = join(dir, `bird-${h.name}.conf`);
  writeFileSync(file, `log stderr all;\n${conf}\n`);
  const p = h.spawn('bird', ['-f', '-c', file, '-s', birdSocket(dir, h), '-P', join(dir, `bird-${h.name}.pid`)]);
  let err = '';
  p.stderr?.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
  await waitFor(
    `BIRD on ${h.name}`,
    async () => {
      if (p.exitCode !== null) throw new Error(`bird on ${h.name} exited ${p.exitCode}: ${err}`);
      return (await h.exec('birdc', ['-s', birdSocket(dir, h), 'show', 'status'])).code === 0;
    },
    10_000,
    50,
  );
  return p;
}

export function birdSocket(dir: string, h: Host): string {
  return join(dir, `bird-${h.name}.ctl`);
}

/** An HTTP server on a real server answering "NAME PEER" (PEER: the address the connection came from). */
export async function startEchoServer(h: Host, port: number, address = '0.0.0.0'): Promise<ChildProcess> {
  // Keep-alive for a minute: the survival test holds one connection across a dispatcher's death.
  const code = `const v=require('http').createServer((q,s)=>{s.end(${JSON.stringify(h.name)}+' '+q.socket.remoteAddress+'\\n')});v.keepAliveTimeout=60000;v.listen(${port},${JSON.stringify(address)},()=>console.log('ready'))`;
  const p = h.spawn(process.execPath, ['-e', code]);
  await waitReady(p, `web server on ${h.name}`);
  return p;
}

/**
 * The client's bounded load: `count` sequential HTTP requests to VIP:port, each on a new connection (a new source
 * port) with a timeout, stopping after `maxMs`; every attempt as [start ms since the epoch, answer or ERR:...].
 */
export const LOAD_SCRIPT = `
const http = require('http');
const [vip, port, count, timeoutMs, maxMs, gapMs] = process.argv.slice(1);
const once = () => new Promise((resolve) => {
  const req = http.get({ host: vip, port: Number(port), path: '/', agent: false, timeout: Number(timeoutMs) }, (res) => {
    let b = ''; res.on('data', (c) => (b += c)); res.on('end', () => resolve(b.trim())); res.on('error', (e) => resolve('ERR:' + e.code));
  });
  req.on('timeout', () => { req.destroy(); resolve('ERR:TIMEOUT'); });
  req.on('error', (e) => resolve('ERR:' + (e.code || e.message)));
});
(async () => {
  const out = []; const t0 = Date.now();
  for (let i = 0; i < Number(count) && Date.now() - t0 < Number(maxMs); i++) {
    const s = Date.now(); out.push([s, await once()]);
    if (Number(gapMs) > 0) await new Promise((r) => setTimeout(r, Number(gapMs)));
  }
  console.log(JSON.stringify(out));
})();
`;

export async function load(
  h: Host,
  vip: string,
  port: number,
  o: { count: number; timeoutMs: number; maxMs: number; gapMs?: number },
): Promise<Array<[number, string]>> {
  const r = await h.exec(
    process.execPath,
    ['-e', LOAD_SCRIPT, vip, String(port), String(o.count), String(o.timeoutMs), String(o.maxMs), String(o.gapMs ?? 0)],
    { timeoutMs: o.maxMs + o.timeoutMs + 10_000 },
  );
  if (r.code !== 0) throw new Error(`load on ${h.name} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Array<[number, string]>;
}

export async function startDispatcher(
  l: BgpLab,
  d: Host,
  o: { vip: string; config: Record<string, unknown>; dataplane?: 'proxy' | 'ipvs' | 'xdp' | 'none' },
): Promise<VsdProcess> {
  return startVsd(d, {
    dir: l.dir,
    name: d.name,
    // startVsd passes it through as --dataplane.
    dataplane: (o.dataplane ?? 'proxy') as 'proxy',
    freshState: true,
    config: {
      ...o.config,
      bgp: { socket: birdSocket(l.dir, d), announce_delay: 0, shutdown_delay: 0.5, check_interval: 0.5, bfd: true, ...(o.config.bgp as object | undefined) },
    },
  });
}

/** FRR's bgpd on a dispatcher without zebra (-Z): `network` statements need no route in a RIB (import-check off). */
export function dispatcherFrrConf(d: Host): string {
  return [
    'frr defaults traditional',
    `router bgp ${DISPATCHER_AS}`,
    ` bgp router-id ${d.ip}`,
    ' no bgp ebgp-requires-policy',
    ' no bgp network import-check',
    ` neighbor ${ROUTER_IP} remote-as ${ROUTER_AS}`,
    ` neighbor ${ROUTER_IP} timers connect 1`,
    ' address-family ipv4 unicast',
    ' exit-address-family',
  ].join('\n');
}

/** bgpd in the foreground, its vty socket in a directory of its own (`frrVtySocket`); resolves once it answers. */
export async function startFrr(h: Host, dir: string, conf: string): Promise<ChildProcess> {
  const vtyDir = join(dir, `frr-${h.name}`);
  mkdirSync(vtyDir, { recursive: true });
  const file = join(vtyDir, 'bgpd.conf');
  writeFileSync(file, `${conf}\n`);
  const p = h.spawn('/usr/lib/frr/bgpd', ['-Z', '-S', '-P', '0', '-f', file, '-i', join(vtyDir, 'bgpd.pid'), '--vty_socket', vtyDir]);
  let err = '';
  p.stderr?.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
  await waitFor(
    `bgpd on ${h.name}`,
    async () => {
      if (p.exitCode !== null) throw new Error(`bgpd on ${h.name} exited ${p.exitCode}: ${err}`);
      return (await h.exec('vtysh', ['--vty_socket', vtyDir, '-d', 'bgpd', '-c', 'show bgp summary'])).code === 0;
    },
    10_000,
    50,
  );
  return p;
}

export function frrVtySocket(dir: string, h: Host): string {
  return join(dir, `frr-${h.name}`, 'bgpd.vty');
}

/**
 * One keep-alive HTTP connection from the client, driven from the test: each `request()` sends a GET on the same
 * TCP connection and resolves with the answer and the connection's local port (the same port = the same connection).
 */
export interface HeldConnection {
  request(): Promise<{ body: string; localPort: number; reused: boolean }>;
  close(): void;
}

const HELD_SCRIPT = `
const http = require('http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const [vip, port] = process.argv.slice(1);
require('readline').createInterface({ input: process.stdin }).on('line', () => {
  const req = http.get({ host: vip, port: Number(port), path: '/', agent, timeout: 5000 }, (res) => {
    let b = ''; res.on('data', (c) => (b += c));
    res.on('end', () => console.log(JSON.stringify({ body: b.trim(), localPort: res.socket ? res.socket.localPort : req.socket.localPort, reused: req.reusedSocket })));
  });
  req.on('timeout', () => { req.destroy(); console.log(JSON.stringify({ error: 'timeout' })); });
  req.on('error', (e) => console.log(JSON.stringify({ error: e.code || e.message })));
});
`;

export function holdConnection(h: Host, vip: string, port: number): HeldConnection {
  const p = h.spawn(process.execPath, ['-e', HELD_SCRIPT, vip, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const waiting: Array<(line: string) => void> = [];
  let buf = '';
  p.stdout!.on('data', (c: Buffer) => {
    buf += c.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      waiting.shift()?.(line);
    }
  });
  return {
    request: () =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('held connection: no answer in 8 s')), 8000);
        waiting.push((line) => {
          clearTimeout(t);
          const r = JSON.parse(line) as { body: string; localPort: number; reused: boolean; error?: string };
          if (r.error) reject(new Error(`held connection: ${r.error}`));
          else resolve(r);
        });
        p.stdin!.write('go\n');
      }),
    close: () => p.kill('SIGTERM'),
  };
}
