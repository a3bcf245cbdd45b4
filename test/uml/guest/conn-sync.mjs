// Kernel connection sync between two directors, inside the UML guest (run by test/uml/conn-sync.test.ts).
// The guest's root namespace is only a switch: two bridges and no addresses.
//   front brf 10.0.0.0/24: client 10.0.0.2, dirA 10.0.0.11, dirB 10.0.0.12, VIP 10.0.0.100 on the active director
//   back  brb 10.0.1.0/24: dirA 10.0.1.11, dirB 10.0.1.12, rs 10.0.1.21 (default route via 10.0.1.1, the gateway
//         address that moves with the VIP, as in an LVS-NAT pair); the sync daemons' multicast runs here too.
// Each director is a node process with vsd's ipvs dataplane in its own namespace (conn-sync.director.mjs):
// the same NAT service on both, A a master sync daemon, B a backup with the same syncid.
// Phase "sync": a client connection through A shows up in B's table; the daemons switch roles as vsd's HA component
// switches them at a VRRP transition and the VIP and gateway move to B; the same TCP connection gets its next
// answer through B. Phase "nosync": the daemons are stopped, the addresses move back to A,
// a new connection through A, the same move to B: B knows nothing of it and resets it.
// Facts go to $VSD_OUT/results.json, kernel views as text files, a timeline to timeline.txt.
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const out = process.env.VSD_OUT;
const here = fileURLToPath(new URL('.', import.meta.url));
const t0 = Date.now();
const timeline = [];
const results = {};
const save = (name, data) => writeFileSync(`${out}/${name}`, typeof data === 'string' ? data : JSON.stringify(data, null, 1));
const mark = (what) => {
  timeline.push(`${((Date.now() - t0) / 1000).toFixed(2)} ${what}`);
  save('timeline.txt', `${timeline.join('\n')}\n`);
};
const run = (cmd, ...args) => execFileSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
const ip = (...args) => run('ip', ...args);
const inNs = (ns, ...args) => run('ip', 'netns', 'exec', ns, ...args);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const children = [];
const watchdog = setTimeout(
  () => {
    mark('watchdog fired');
    save('results.json', { ...results, watchdog: true });
    for (const c of children) c.proc.kill('SIGKILL');
    process.exit(3);
  },
  Number(process.env.CONN_SYNC_WATCHDOG_MS ?? 150_000),
);

/** A node program in a namespace, driven one JSON line per command; call() rejects on { ok: false } or no answer. */
function spawnIn(name, ns, script, ...args) {
  const proc = spawn('ip', ['netns', 'exec', ns, 'node', `${here}${script}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  const waiting = [];
  createInterface({ input: proc.stdout }).on('line', (line) => {
    const w = waiting.shift();
    if (w) w(JSON.parse(line));
  });
  proc.on('exit', (code) => {
    for (const w of waiting.splice(0)) w({ ok: false, error: `${name} exited (${code}): ${stderr.slice(-2000)}` });
  });
  const call = (msg, timeoutMs = 30_000) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: no answer to ${JSON.stringify(msg)} within ${timeoutMs} ms`)), timeoutMs);
      waiting.push((r) => {
        clearTimeout(timer);
        if (r.ok) resolve(r);
        else reject(new Error(`${name} ${msg.op}: ${r.error}`));
      });
      proc.stdin.write(`${JSON.stringify(msg)}\n`);
    });
  const child = { name, proc, call, stderr: () => stderr };
  children.push(child);
  return child;
}

// --- Topology ---
for (const br of ['brf', 'brb']) {
  ip('link', 'add', br, 'type', 'bridge');
  ip('link', 'set', br, 'up');
}
const link = (ns, hostEnd, nsEnd, br, cidr) => {
  ip('link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', nsEnd, 'netns', ns);
  ip('link', 'set', hostEnd, 'master', br, 'up');
  ip('-n', ns, 'addr', 'add', cidr, 'dev', nsEnd);
  ip('-n', ns, 'link', 'set', nsEnd, 'up');
};
for (const ns of ['client', 'dirA', 'dirB', 'rs']) {
  ip('netns', 'add', ns);
  ip('-n', ns, 'link', 'set', 'lo', 'up');
}
link('client', 'v-client', 'eth0', 'brf', '10.0.0.2/24');
link('dirA', 'fa', 'eth0', 'brf', '10.0.0.11/24');
link('dirA', 'ba', 'eth1', 'brb', '10.0.1.11/24');
link('dirB', 'fb', 'eth0', 'brf', '10.0.0.12/24');
link('dirB', 'bb', 'eth1', 'brb', '10.0.1.12/24');
link('rs', 'v-rs', 'eth0', 'brb', '10.0.1.21/24');
ip('-n', 'rs', 'route', 'add', 'default', 'via', '10.0.1.1');
for (const ns of ['dirA', 'dirB']) inNs(ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
mark('topology');

const VIP = '10.0.0.100';
/** The VIP (front) and the real server's gateway (back) on one director, off the other; stale ARP entries go. */
const activate = (to, from) => {
  ip('-n', from, 'addr', 'del', `${VIP}/32`, 'dev', 'eth0');
  ip('-n', from, 'addr', 'del', '10.0.1.1/32', 'dev', 'eth1');
  ip('-n', to, 'addr', 'add', `${VIP}/32`, 'dev', 'eth0');
  ip('-n', to, 'addr', 'add', '10.0.1.1/32', 'dev', 'eth1');
  ip('-n', 'client', 'neigh', 'flush', 'dev', 'eth0');
  ip('-n', 'rs', 'neigh', 'flush', 'dev', 'eth0');
};
const kernelConns = (ns) => inNs(ns, 'timeout', '15', 'ipvsadm', '-Lcn');

// --- Programs (node starts are slow in the guest: all at once) ---
const A = spawnIn('dirA', 'dirA', 'conn-sync.director.mjs');
const B = spawnIn('dirB', 'dirB', 'conn-sync.director.mjs');
const server = spawnIn('rs', 'rs', 'conn-sync.peer.mjs', 'server');
const client = spawnIn('client', 'client', 'conn-sync.peer.mjs', 'client');
await Promise.all(children.map((c) => c.call({ op: 'ping' }, 90_000)));
mark('programs up');

try {
  const services = [{ protocol: 'tcp', address: VIP, port: 80, scheduler: 'rr', realServers: [{ address: '10.0.1.21', port: 80, forwarding: 'masq' }] }];
  results.reconcileOps = { A: (await A.call({ op: 'reconcile', services })).ops, B: (await B.call({ op: 'reconcile', services })).ops };
  const SYNC_ID = 9;
  results.daemons = {
    A: (await A.call({ op: 'daemons', daemons: [{ state: 'master', mcastInterface: 'eth1', syncId: SYNC_ID }] })).daemons,
    B: (await B.call({ op: 'daemons', daemons: [{ state: 'backup', mcastInterface: 'eth1', syncId: SYNC_ID }] })).daemons,
  };
  for (const d of ['A', 'B']) {
    save(`dir${d}-ipvsadm-Sn.txt`, inNs(`dir${d}`, 'ipvsadm', '-S', '-n'));
    save(`dir${d}-daemon.txt`, inNs(`dir${d}`, 'ipvsadm', '-L', '--daemon'));
  }
  ip('-n', 'dirA', 'addr', 'add', `${VIP}/32`, 'dev', 'eth0');
  ip('-n', 'dirA', 'addr', 'add', '10.0.1.1/32', 'dev', 'eth1');
  mark('directors programmed, A active');

  // --- Phase sync ---
  const conn1 = await client.call({ op: 'open', host: VIP, port: 80, timeoutMs: 10_000 });
  results.sync = { clientPort: conn1.localPort, first: await client.call({ op: 'send', line: 'one', timeoutMs: 10_000 }) };
  mark(`sync: connection ${conn1.localPort} open through A`);
  const seen = await B.call({ op: 'waitConn', clientPort: conn1.localPort, timeoutMs: 15_000 }, 30_000);
  results.sync.onB = seen.found;
  results.sync.syncMs = seen.ms;
  save('sync-dirB-ipvsadm-Lcn.txt', kernelConns('dirB'));
  results.sync.onA = (await A.call({ op: 'connections' })).connections.filter((c) => c.client.port === conn1.localPort);
  mark(`sync: B lists it after ${seen.ms} ms`);
  results.sync.statusBBefore = (await B.call({ op: 'status' })).status;
  // What vsd's HA component does at the VRRP transitions (component-ha.ts): the new MASTER switches to a master
  // daemon, the new BACKUP to a backup daemon, both through the dataplane's syncDaemons().
  results.sync.switched = {
    B: (await B.call({ op: 'daemons', daemons: [{ state: 'master', mcastInterface: 'eth1', syncId: SYNC_ID }] })).daemons,
    A: (await A.call({ op: 'daemons', daemons: [{ state: 'backup', mcastInterface: 'eth1', syncId: SYNC_ID }] })).daemons,
  };
  activate('dirB', 'dirA');
  mark('sync: daemons switched as at a VRRP transition, VIP moved to B');
  results.sync.second = await client.call({ op: 'send', line: 'two', timeoutMs: 10_000 }, 20_000);
  mark(`sync: second line ${JSON.stringify(results.sync.second)}`);
  results.sync.statusBAfter = (await B.call({ op: 'waitInPkts', minInPkts: 1, timeoutMs: 8000 }, 20_000)).status;
  results.sync.onBAfter = (await B.call({ op: 'connections' })).connections.filter((c) => c.client.port === conn1.localPort);
  save('sync-dirB-ipvsadm-Lcn-after.txt', kernelConns('dirB'));
  await client.call({ op: 'close' });

  // --- Phase nosync: the same move without the daemons ---
  results.nosync = {
    daemons: { A: (await A.call({ op: 'daemons', daemons: [] })).daemons, B: (await B.call({ op: 'daemons', daemons: [] })).daemons },
  };
  for (const d of ['A', 'B']) save(`nosync-dir${d}-daemon.txt`, inNs(`dir${d}`, 'ipvsadm', '-L', '--daemon'));
  activate('dirA', 'dirB');
  mark('nosync: daemons stopped, VIP back on A');
  const conn2 = await client.call({ op: 'open', host: VIP, port: 80, timeoutMs: 10_000 });
  results.nosync.clientPort = conn2.localPort;
  results.nosync.first = await client.call({ op: 'send', line: 'three', timeoutMs: 10_000 });
  mark(`nosync: connection ${conn2.localPort} open through A`);
  // At least as long as the sync took, and longer than the kernel's 2 s sync-buffer flush.
  results.nosync.waitedMs = Math.max(3000, results.sync.syncMs + 2000);
  await sleep(results.nosync.waitedMs);
  results.nosync.onA = (await A.call({ op: 'connections' })).connections.filter((c) => c.client.port === conn2.localPort);
  results.nosync.onB = (await B.call({ op: 'connections' })).connections.filter((c) => c.client.port === conn2.localPort);
  save('nosync-dirB-ipvsadm-Lcn.txt', kernelConns('dirB'));
  activate('dirB', 'dirA');
  mark('nosync: VIP moved to B');
  results.nosync.second = await client.call({ op: 'send', line: 'four', timeoutMs: 10_000 }, 20_000);
  mark(`nosync: second line ${JSON.stringify(results.nosync.second)}`);
  await client.call({ op: 'close' });
  results.accepted = (await server.call({ op: 'accepted' })).accepted;
} finally {
  save('results.json', results);
  for (const c of children) c.proc.stdin.end();
  const exited = (c) => new Promise((r) => (c.proc.exitCode !== null ? r() : c.proc.once('exit', r)));
  await Promise.race([Promise.all(children.map(exited)), sleep(15_000)]);
  for (const c of children) {
    if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
    save(`${c.name}.stderr.txt`, c.stderr());
  }
  for (const ns of ['client', 'dirA', 'dirB', 'rs']) ip('netns', 'del', ns);
  clearTimeout(watchdog);
  mark('done');
}
