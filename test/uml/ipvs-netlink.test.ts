/**
 * Kernel tier for the IPVS generic netlink client and the ipvs dataplane: one user-mode-linux boot
 * runs test/uml/guest/ipvs-netlink.mjs (programs services with our code, records what the real ipvsadm
 * sees) and test/uml/guest/ipvs-scale.mjs (1,000 services x 10 dests), then the checks below read
 * the recorded files. packages/core/dist is rebuilt first because the guest imports the built package.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runInUml, type UmlResult } from '../lib/uml.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const MODULES = ['ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_lc', 'ip_vs_wlc', 'ip_vs_sed', 'ip_vs_sh', 'ip_vs_mh', 'ip_vs_pe_sip'];

let run: UmlResult;
let results: Record<string, any>;
let scale: Record<string, any>;

beforeAll(async () => {
  execFileSync('pnpm', ['exec', 'tsc', '-b', 'packages/core'], { cwd: root, stdio: 'inherit' });
  run = await runInUml(
    `set -e
     cd ${root}
     node test/uml/guest/ipvs-netlink.mjs
     node test/uml/guest/ipvs-scale.mjs 1000 10 --vsd-only > "$VSD_OUT/scale.json"`,
    { modules: MODULES, timeoutMs: 540_000, memMb: 768 },
  );
  if (run.exitCode !== 0) throw new Error(`guest scripts failed (exit ${run.exitCode}):\n${run.stdout}\n${run.stderr}`);
  results = JSON.parse(run.files['results.json']!);
  scale = JSON.parse(run.files['scale.json']!);
});

const SAVE_1 = `-A -t 10.0.0.1:80 -s rr
-a -t 10.0.0.1:80 -r 192.168.1.1:8080 -m -w 3
-a -t 10.0.0.1:80 -r 192.168.1.2:80 -g -w 1
-a -t 10.0.0.1:80 -r 192.168.1.3:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum
-a -t 10.0.0.1:80 -r 192.168.1.4:80 -i -w 1 --tun-type gre --tun-csum
-a -t 10.0.0.1:80 -r 192.168.1.5:80 -i -w 1 --tun-type ipip
-A -t 10.0.0.2:443 -s wlc -p 360 -M 255.255.255.0
-a -t 10.0.0.2:443 -r 192.168.2.1:443 -m -w 0
-A -u 10.0.0.1:53 -s sh -o -b sh-fallback,sh-port
-a -u 10.0.0.1:53 -r 192.168.1.1:53 -m -w 1
-A -u 10.0.0.4:5060 -s rr -p 60 --pe sip
-A --sctp-service 10.0.0.3:5000 -s mh -b mh-port
-A -t [2001:db8::1]:80 -s lc -p 60 -M 64
-a -t [2001:db8::1]:80 -r [2001:db8::10]:8080 -m -w 2
-A -f 7 -s wrr
-a -f 7 -r 192.168.3.1:0 -g -w 5
-A -f 8 -6 -s sed -p 100
`;

/** Our own dump rendered the way `ipvsadm -S -n` writes it (sorted the same way for these addresses). */
function renderSave(dump: { service: any; dests: any[] }[]): string {
  const proto: Record<string, string> = { tcp: '-t', udp: '-u', sctp: '--sctp-service' };
  const hp = (a: string, p: number) => (a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`);
  // ipvsadm's order: fwmark, then family, protocol, address, port.
  const key = (s: any) =>
    'fwmark' in s.id
      ? `2 ${String(s.id.fwmark).padStart(10, '0')}`
      : `${s.id.address.includes(':') ? 1 : 0} ${s.id.protocol === 'tcp' ? 0 : s.id.protocol === 'udp' ? 1 : 2} ${s.id.address
          .split('.')
          .map((o: string) => o.padStart(3, '0'))
          .join('.')} ${String(s.id.port).padStart(5, '0')}`;
  const lines: string[] = [];
  for (const { service: s, dests } of [...dump].sort((a, b) => key(a.service).localeCompare(key(b.service)))) {
    const svc = 'fwmark' in s.id ? `-f ${s.id.fwmark}${s.id.family === 'inet6' ? ' -6' : ''}` : `${proto[s.id.protocol]} ${hp(s.id.address, s.id.port)}`;
    let line = `-A ${svc} -s ${s.scheduler}`;
    const inet6 = 'fwmark' in s.id ? s.id.family === 'inet6' : s.id.address.includes(':');
    if (s.persistence.timeout) {
      line += ` -p ${s.persistence.timeout}`;
      const full = inet6 ? 128 : 32;
      if (s.persistence.netmask !== full) line += ` -M ${inet6 ? s.persistence.netmask : '255.255.255.0'}`;
    }
    if (s.pe) line += ` --pe ${s.pe}`;
    if (s.onePacket) line += ' -o';
    if (s.schedFlags.length) line += ` -b ${s.schedFlags.join(',')}`;
    lines.push(line);
    for (const d of [...dests].sort((a, b) => a.address.localeCompare(b.address))) {
      const m = d.forwarding === 'masq' ? '-m' : d.forwarding === 'tunnel' ? '-i' : '-g';
      let dl = `-a ${svc} -r ${hp(d.address, d.port)} ${m} -w ${d.weight}`;
      if (d.tunnel) {
        dl += ` --tun-type ${d.tunnel.type}`;
        if (d.tunnel.type === 'gue') dl += ` --tun-port ${d.tunnel.port}`;
        if (d.tunnel.type !== 'ipip') dl += ` --tun-${d.tunnel.csum}`;
      }
      lines.push(dl);
    }
  }
  return `${lines.join('\n')}\n`;
}

describe('IPVS netlink client and ipvs dataplane in a real kernel (UML)', () => {
  it('programs every service kind, forwarding method and option exactly as ipvsadm would have', () => {
    expect(run.files['save-1.txt']).toBe(SAVE_1);
    expect(results.firstPlan).toBe(17);
  });

  it('dumps the same table ipvsadm sees', () => {
    expect(renderSave(JSON.parse(run.files['dump-1.json']!))).toBe(run.files['save-1.txt']);
    const status = JSON.parse(run.files['status-1.json']!);
    expect(status.map((s: any) => s.key).sort()).toEqual([
      'fwmark 7',
      'fwmark 8 inet6',
      'sctp 10.0.0.3:5000',
      'tcp 10.0.0.1:80',
      'tcp 10.0.0.2:443',
      'tcp [2001:db8::1]:80',
      'udp 10.0.0.1:53',
      'udp 10.0.0.4:5060',
    ]);
    expect(
      status
        .find((s: any) => s.key === 'tcp 10.0.0.1:80')
        .dests.map((d: any) => d.key)
        .sort(),
    ).toEqual(['192.168.1.1:8080', '192.168.1.2:80', '192.168.1.3:80', '192.168.1.4:80', '192.168.1.5:80']);
  });

  it('reconciles with the fewest operations: none when equal, one SET_DEST for one weight', () => {
    expect(results.secondPlan).toBe(0);
    expect(results.weightPlan).toEqual(['editDest']);
    expect(run.files['list-3.txt']).toContain('  -> 192.168.1.2:80               Route   7      0          0         \n');
  });

  it('after a resync, removes foreign entries and adopts an edited service in place', () => {
    expect(results.cachedPlan).toBe(0);
    expect(results.adoptPlan).toEqual(['deleteService tcp 10.9.9.9:80', 'deleteDest tcp 10.0.0.1:80 192.168.1.99:80', 'editService tcp 10.0.0.2:443']);
    expect(run.files['save-4.txt']).toBe(SAVE_1.replace('192.168.1.2:80 -g -w 1', '192.168.1.2:80 -g -w 7'));
  });

  it('maps kernel errnos to typed errors', () => {
    expect(results.errors).toEqual({
      serviceExists: 'VSD_ERR_SERVICE_EXISTS EEXIST',
      schedulerMissing: 'VSD_ERR_SCHEDULER_NOT_FOUND ENOENT',
      peMissing: 'VSD_ERR_SCHEDULER_NOT_FOUND ENOENT',
      noSuchService: 'VSD_ERR_SERVICE_NOT_FOUND ESRCH',
      serviceNotDefined: 'VSD_ERR_SERVICE_NOT_FOUND ESRCH',
      destExists: 'VSD_ERR_REAL_SERVER_EXISTS EEXIST',
      noSuchDest: 'VSD_ERR_REAL_SERVER_NOT_FOUND ENOENT',
      erange: 'VSD_ERR_THRESHOLD_RANGE ERANGE',
      noDaemon: 'VSD_ERR_NO_DAEMON ESRCH',
      noDevice: 'VSD_ERR_IPVS_KERNEL ENODEV',
      getMissing: 'VSD_ERR_SERVICE_NOT_FOUND ESRCH',
    });
  });

  it('sets timeouts (0 keeps a value) and runs sync daemons as ipvsadm reports them', () => {
    expect(results.timeouts).toEqual({ tcp: 3600, tcpfin: 120, udp: 60 });
    expect(run.files['timeouts.txt']).toBe('Timeout (tcp tcpfin udp): 3600 120 60\n');
    expect(run.files['daemon-1.txt']).toBe(
      // The master caps maxlen at 1472 (a 1500-byte MTU) whatever the interface's MTU; the backup does not.
      'master sync daemon (mcast=lo, syncid=4, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n' +
        'backup sync daemon (mcast=lo, syncid=5, maxlen=65507, group=224.0.0.81, port=8850, ttl=2)\n',
    );
    expect(run.files['daemon-2.txt']).toBe('master sync daemon (mcast=lo, syncid=6, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n');
    expect(run.files['daemon-3.txt']).toBe('');
  });

  it('reports info and an empty connection table, and removes its services on close', () => {
    expect(results.info).toEqual({ version: '1.2.1', connTableSize: 4096 });
    expect(results.connections).toEqual([]);
    expect(run.files['list-9.txt']).toBe(
      'IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n',
    );
  });

  it('reconciles 1,000 services x 10 dests from empty, then one change with one operation', () => {
    expect(scale).toMatchObject({
      services: 1000,
      dests: 10,
      vsdFromEmptyOps: 11000,
      vsdNoChangeOps: 0,
      vsdOneChangeOps: 1,
      savedLines: 11000,
      sameTable: true,
    });
    // Generous bound: UML on a loaded CI host is slow; natively this is well under a second.
    expect(scale.vsdFromEmptyMs).toBeLessThan(120_000);
    console.log(`UML 1000x10: from empty ${scale.vsdFromEmptyMs} ms, no change ${scale.vsdNoChangeMs} ms, one change ${scale.vsdOneChangeMs} ms`);
  });
});
