// Records which real server the Linux kernel's IPVS schedulers pick, for kernel-picks.test.ts.
//
//   node packages/core/test/scheduler/record-kernel.mjs      (needs the user-mode-linux lab, test/uml/runner.mjs)
//
// One UML boot runs every scenario: a VIP on lo, real servers on a dummy link (direct routing, so SYNs just
// leave), one local client address per connection, connections opened one after another with a non-blocking
// connect (the SYN, hence the scheduling, happens inside connect()). `ipvsadm -Lnc` then shows each client's
// real server, and `ipvsadm -Ln` the counters at the end. The result is written to
// kernel-recordings.json next to this file, with the kernel release.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runInUml, umlKernelRelease } from '../../../../test/uml/runner.mjs';

const VIP = '10.9.9.9';

/**
 * A scenario: scheduler (+flags), real servers added in this order ([last octet, weight]), optional edits
 * ([last octet, new weight]) after adding, and the clients: [last octet of 10.7.k.c, source port], where k is
 * the scenario's number: `ipvsadm -C` leaves connection entries behind, and a reused client address:port would
 * match an old entry instead of being scheduled.
 */
const clients = (n, port = (i) => 20000 + i) => Array.from({ length: n }, (_, i) => [i + 1, port(i + 1)]);
/** n connections cycling over `distinct` destination addresses (distinct = 1: every one different). */
const targets = (n, distinct) =>
  Array.from({ length: n }, (_, i) => {
    const t = distinct === 1 ? i : i % distinct;
    return [i + 1, 30000 + i, `10.6.${t % 7}.${((t * 37) % 250) + 1}`];
  });
const SCENARIOS = [
  {
    name: 'mh-weights',
    sched: 'mh',
    rs: [
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
      [5, 5],
    ],
    clients: clients(200),
  },
  {
    name: 'mh-port',
    sched: 'mh',
    flags: 'mh-port',
    rs: [
      [1, 1],
      [2, 1],
      [3, 1],
    ],
    clients: clients(100, (i) => 20000 + 7 * i),
  },
  {
    name: 'mh-fallback-quiesced',
    sched: 'mh',
    flags: 'mh-fallback',
    rs: [
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 1],
    ],
    edits: [[3, 0]],
    clients: clients(150),
  },
  {
    name: 'mh-big-weights',
    sched: 'mh',
    rs: [
      [1, 1],
      [2, 1000],
      [3, 250],
    ],
    clients: clients(150),
  },
  {
    name: 'sh-weights',
    sched: 'sh',
    rs: [
      [1, 2],
      [2, 1],
      [3, 3],
      [4, 1],
    ],
    clients: clients(150),
  },
  {
    name: 'sh-port-fallback',
    sched: 'sh',
    flags: 'sh-port,sh-fallback',
    rs: [
      [1, 1],
      [2, 2],
      [3, 1],
    ],
    edits: [[2, 0]],
    clients: clients(150),
  },
  {
    name: 'rr',
    sched: 'rr',
    rs: [
      [1, 1],
      [2, 1],
      [3, 1],
    ],
    clients: clients(7),
  },
  {
    name: 'wrr-432',
    sched: 'wrr',
    rs: [
      [3, 2],
      [2, 3],
      [1, 4],
    ],
    clients: clients(18),
  },
  {
    name: 'wrr-gcd',
    sched: 'wrr',
    rs: [
      [1, 6],
      [2, 4],
      [3, 2],
    ],
    clients: clients(12),
  },
  {
    name: 'lc',
    sched: 'lc',
    rs: [
      [1, 1],
      [2, 5],
      [3, 1],
    ],
    clients: clients(9),
  },
  {
    name: 'wlc',
    sched: 'wlc',
    rs: [
      [1, 3],
      [2, 1],
      [3, 2],
    ],
    clients: clients(18),
  },
  {
    name: 'sed',
    sched: 'sed',
    rs: [
      [1, 1],
      [2, 3],
      [3, 2],
    ],
    clients: clients(4),
  },
  {
    name: 'nq',
    sched: 'nq',
    rs: [
      [1, 1],
      [2, 3],
      [3, 2],
    ],
    clients: clients(4),
  },
  {
    name: 'fo',
    sched: 'fo',
    rs: [
      [1, 2],
      [2, 5],
      [3, 5],
    ],
    clients: clients(3),
  },
  {
    name: 'ovf',
    sched: 'ovf',
    rs: [
      [1, 2],
      [2, 5],
      [3, 5],
    ],
    clients: clients(3),
  },
  // Firewall-mark services (the client sockets set SO_MARK 1, so no netfilter is needed): the destination address
  // varies, which is what dh, lblc and lblcr key on. Clients: [n, port, destination address in 10.6.0.0/16].
  {
    name: 'dh',
    sched: 'dh',
    fwmark: true,
    rs: [
      [1, 1],
      [2, 5],
      [3, 0],
      [4, 2],
    ],
    clients: targets(120, 1),
  },
  {
    name: 'lblc',
    sched: 'lblc',
    fwmark: true,
    rs: [
      [1, 1],
      [2, 2],
      [3, 3],
    ],
    clients: targets(60, 20),
  },
  {
    name: 'lblcr',
    sched: 'lblcr',
    fwmark: true,
    rs: [
      [1, 1],
      [2, 2],
      [3, 3],
    ],
    clients: targets(60, 20),
  },
];

const clientAddr = (k, c) => `10.7.${k + 1}.${c}`;
// Real servers get fresh addresses per scenario as well: a deleted dest waits in the kernel's trash and a new
// one with the same address:port in the same service is revived from it, counters and all.
const rsPrefix = (k) => `10.8.${k + 1}.`;

function scenarioScript(sc, k) {
  const svc = sc.fwmark ? '-f 1' : `-t ${VIP}:80`;
  const lines = ['ipvsadm -C', `ipvsadm -A ${svc} -s ${sc.sched}${sc.flags ? ` -b ${sc.flags}` : ''}`];
  for (const [o, w] of sc.rs) lines.push(`ipvsadm -a ${svc} -r ${rsPrefix(k)}${o}:80 -g -w ${w}`);
  for (const [o, w] of sc.edits ?? []) lines.push(`ipvsadm -e ${svc} -r ${rsPrefix(k)}${o}:80 -g -w ${w}`);
  const pairs = sc.clients.map(([c, p, d]) => `("${clientAddr(k, c)}",${p},"${d ?? VIP}")`).join(',');
  lines.push(`python3 -c '
import socket, time
for a, p, d in [${pairs}]:
    s = socket.socket(); s.setblocking(False); s.bind((a, p))
    if ${sc.fwmark ? 'True' : 'False'}: s.setsockopt(socket.SOL_SOCKET, 36, 1)
    try: s.connect((d, 80))
    except BlockingIOError: pass
    socks = globals().setdefault("keep", []); socks.append(s)
    time.sleep(0.002)
time.sleep(0.3)
'`);
  lines.push(`ipvsadm -Lnc > "$VSD_OUT/${sc.name}.txt"`, `ipvsadm -Ln > "$VSD_OUT/${sc.name}.counters"`, `echo ${sc.name} done >&2`);
  return lines.join('\n');
}

const script = [
  'set -e',
  'ip link set lo up',
  'ip link add d0 type dummy && ip link set d0 up',
  `ip addr add ${VIP}/32 dev lo`,
  'ip addr add 10.8.0.254/16 dev d0',
  // AnyIP: the whole client range is local, so sockets can bind any of it without one `ip addr` per address.
  'ip route add local 10.7.0.0/16 dev lo',
  'ip route add 10.6.0.0/16 dev d0',
  'echo recording >&2',
  ...SCENARIOS.map((sc, k) => scenarioScript(sc, k)),
].join('\n');

const result = await runInUml(script, {
  modules: ['ip_vs', ...new Set(SCENARIOS.map((s) => `ip_vs_${s.sched}`))],
  timeoutMs: 900_000,
});
if (result.exitCode !== 0) {
  process.stderr.write(`${result.stdout}\n${result.stderr}\n`);
  process.exit(1);
}

/** `ipvsadm -Lnc` lines -> client address -> real server address. */
function parse(text) {
  const map = {};
  for (const line of text.split('\n')) {
    const m = /^TCP\s+\S+\s+\S+\s+(\d+\.\d+\.\d+\.\d+):(\d+)\s+\S+\s+(\d+\.\d+\.\d+\.\d+):\d+/.exec(line);
    if (m) map[`${m[1]}:${m[2]}`] = m[3];
  }
  return map;
}

const out = {
  kernel: umlKernelRelease(),
  note: 'Recorded by record-kernel.mjs in user-mode-linux; clients connected in the listed order.',
  scenarios: SCENARIOS.map((sc, k) => {
    const picks = parse(result.files[`${sc.name}.txt`] ?? '');
    return {
      ...sc,
      rsPrefix: rsPrefix(k),
      counters: (result.files[`${sc.name}.counters`] ?? '')
        .split('\n')
        .filter((l) => l.includes('->') && !l.includes('RemoteAddress'))
        .map((l) => l.trim().replace(/\s+/g, ' ')),
      clients: undefined,
      picks: sc.clients.map(([c, p, d]) => {
        const addr = clientAddr(k, c);
        return d === undefined ? [addr, p, picks[`${addr}:${p}`] ?? null] : [addr, p, picks[`${addr}:${p}`] ?? null, d];
      }),
    };
  }),
};
const file = fileURLToPath(new URL('./kernel-recordings.json', import.meta.url));
writeFileSync(file, `${JSON.stringify(out, null, 1)}\n`);
process.stdout.write(`wrote ${file} (${out.scenarios.length} scenarios, kernel ${out.kernel})\n`);
