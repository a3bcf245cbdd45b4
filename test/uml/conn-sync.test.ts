/**
 * Kernel connection sync between the two directors of an HA pair, with real traffic, inside user-mode-linux
 * (test/uml/guest/conn-sync.mjs). Two network namespaces are two directors (IPVS state is per namespace), each
 * programmed by vsd's ipvs dataplane: the same NAT virtual service, A running a master sync daemon and B a backup
 * with the same syncid over the back segment. A client's TCP connection through A must appear in B's table; after
 * the VIP and the real server's gateway move to B, the same connection must carry the next line through B. The
 * negative control repeats the move with the daemons stopped: B has no entry and the connection is reset.
 *
 * NAT rather than DR: both directions of the connection pass the director, so after the move B must translate the
 * client's packets to the real server and the real server's replies back to the VIP from the synced entry alone.
 * With DR only the inbound half depends on the entry.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { runInUml, type UmlResult } from '../lib/uml.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
let run: UmlResult;
let results: any;

beforeAll(async () => {
  execFileSync('pnpm', ['exec', 'tsc', '-b', 'packages/core'], { cwd: root, stdio: 'inherit' });
  run = await runInUml(`node ${root}test/uml/guest/conn-sync.mjs`, {
    modules: ['ip_vs', 'ip_vs_rr', 'veth', 'bridge'],
    timeoutMs: 240_000,
    env: { CONN_SYNC_WATCHDOG_MS: '180000' },
  });
  const r = run.files['results.json'];
  if (run.exitCode !== 0 || !r) {
    throw new Error(`conn-sync script failed (exit ${run.exitCode}), timeline:\n${run.files['timeline.txt']}\n${run.stderr.slice(-3000)}`);
  }
  results = JSON.parse(r);
  console.log(
    `UML conn-sync: ${run.elapsedMs} ms in all; B listed the connection ${results.sync.syncMs} ms after its first answer\n${run.files['timeline.txt']}`,
  );
}, 300_000);

const VIP = { address: '10.0.0.100', port: 80 };
const RIP = { address: '10.0.1.21', port: 80 };
const SAVE = '-A -t 10.0.0.100:80 -s rr\n-a -t 10.0.0.100:80 -r 10.0.1.21:80 -m -w 1\n';
const daemon = (state: string) => ({ state, mcastInterface: 'eth1', syncId: 9, group: '224.0.0.81', port: 8848, ttl: 1 });
const answer = (port: number, conn: number, line: string) => `rs conn=${conn} from=10.0.0.2:${port} line=${line}`;

describe('IPVS connection sync between two directors programmed by vsd (UML)', () => {
  it('both directors hold the same NAT table from vsd; A runs the master daemon, B the backup with the same syncid', () => {
    expect(results.reconcileOps).toEqual({ A: 2, B: 2 });
    expect(run.files['dirA-ipvsadm-Sn.txt']).toBe(SAVE);
    expect(run.files['dirB-ipvsadm-Sn.txt']).toBe(SAVE);
    expect(results.daemons.A).toEqual([expect.objectContaining(daemon('master'))]);
    expect(results.daemons.B).toEqual([expect.objectContaining(daemon('backup'))]);
    expect(run.files['dirA-daemon.txt']).toBe('master sync daemon (mcast=eth1, syncid=9, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n');
    expect(run.files['dirB-daemon.txt']).toMatch(/^backup sync daemon \(mcast=eth1, syncid=9, maxlen=\d+, group=224\.0\.0\.81, port=8848, ttl=1\)\n$/);
  });

  it("a connection opened through A appears ESTABLISHED in B's table within seconds (dataplane and ipvsadm -Lcn)", () => {
    const { clientPort, first, onA, onB, syncMs } = results.sync;
    expect(first.answer).toBe(answer(clientPort, 1, 'one'));
    const entry = { protocol: 'TCP', state: 'ESTABLISHED', client: { address: '10.0.0.2', port: clientPort }, virtual: VIP, destination: RIP };
    expect(onA).toEqual([expect.objectContaining(entry)]);
    expect(onB).toEqual([expect.objectContaining(entry)]);
    // The master sends a connection at its 3rd inbound packet and flushes its buffer within 2 s.
    expect(syncMs).toBeLessThan(8000);
    expect(run.files['sync-dirB-ipvsadm-Lcn.txt']).toMatch(
      new RegExp(`^TCP \\d\\d:\\d\\d  ESTABLISHED 10\\.0\\.0\\.2:${clientPort} +10\\.0\\.0\\.100:80 +10\\.0\\.1\\.21:80 *$`, 'm'),
    );
  });

  it('after the daemons switch roles as at a VRRP transition and the VIP moves to B, the same TCP connection gets its next answer through B', () => {
    const { clientPort, second, statusBBefore, statusBAfter, onBAfter, switched } = results.sync;
    expect(switched.B).toEqual([expect.objectContaining(daemon('master'))]);
    expect(switched.A).toEqual([expect.objectContaining(daemon('backup'))]);
    // Same real-server connection (conn=1), same client port: the connection survived the move.
    expect(second.answer).toBe(answer(clientPort, 1, 'two'));
    // B had forwarded nothing before the move, and forwarded this line and its answer after it.
    expect(statusBBefore[0].counters.inPkts).toBe(0);
    expect(statusBAfter[0].counters.inPkts).toBeGreaterThan(0);
    expect(statusBAfter[0].counters.outPkts).toBeGreaterThan(0);
    expect(onBAfter).toEqual([expect.objectContaining({ state: 'ESTABLISHED', client: { address: '10.0.0.2', port: clientPort } })]);
    expect(run.files['sync-dirB-ipvsadm-Lcn-after.txt']).toContain(`ESTABLISHED 10.0.0.2:${clientPort}`);
  });

  it('without the sync daemons the same move breaks the connection: B has no entry and resets it', () => {
    const { daemons, clientPort, first, waitedMs, onA, onB, second } = results.nosync;
    expect(daemons).toEqual({ A: [], B: [] });
    expect(run.files['nosync-dirA-daemon.txt']).toBe('');
    expect(run.files['nosync-dirB-daemon.txt']).toBe('');
    expect(clientPort).not.toBe(results.sync.clientPort);
    expect(first.answer).toBe(answer(clientPort, 2, 'three'));
    expect(waitedMs).toBeGreaterThan(results.sync.syncMs);
    expect(onA).toEqual([expect.objectContaining({ state: 'ESTABLISHED', client: { address: '10.0.0.2', port: clientPort } })]);
    expect(onB).toEqual([]);
    expect(run.files['nosync-dirB-ipvsadm-Lcn.txt']).not.toContain(`10.0.0.2:${clientPort}`);
    // B owns the VIP but has no IPVS entry: its own TCP stack answers the mid-stream segment with a reset.
    expect(second).toMatchObject({ failure: 'ECONNRESET' });
    expect(second.answer).toBeUndefined();
    expect(results.accepted).toBe(2);
  });
});
