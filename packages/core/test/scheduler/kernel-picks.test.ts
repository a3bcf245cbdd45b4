/**
 * Golden test against the Linux kernel itself: kernel-recordings.json holds, per scenario, the real server the
 * kernel's IPVS scheduler chose for each client connection (recorded in user-mode-linux by record-kernel.mjs).
 * Each scenario is replayed here the way the kernel saw it: real servers added one by one (each add goes to the
 * head of the list and triggers the scheduler's update), then the edits, then the connections in order. The
 * kernel counted these half-open direct-routing connections as active (ipvsadm -Ln after each scenario, kept in
 * `counters`, shows them under ActiveConn), so each pick is bound as active, and the final counters must agree.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { foldAddress } from '../../src/model/address.js';
import { createSchedDest, createSchedPacket } from '../../src/scheduler/dest.js';
import { bindConnection } from '../../src/scheduler/overload.js';
import { createScheduler } from '../../src/scheduler/registry.js';
import type { SchedDest, SchedFlag } from '../../src/scheduler/types.js';

interface Scenario {
  name: string;
  sched: string;
  flags?: string;
  rsPrefix: string;
  rs: [number, number][];
  edits?: [number, number][];
  /** `ipvsadm -Ln` destination lines at the end: "-> ADDR:PORT Route WEIGHT ACTIVE INACTIVE" */
  counters: string[];
  /** [client address, client port, real server chosen (null: none), destination address if not the VIP] */
  picks: [string, number, string | null, string?][];
}

const recordings = JSON.parse(readFileSync(new URL('./kernel-recordings.json', import.meta.url), 'utf8')) as {
  kernel: string;
  scenarios: Scenario[];
};
const VIP = foldAddress('10.9.9.9');

function replay(sc: Scenario): { picks: (string | null)[]; counters: string[] } {
  const flags = (sc.flags ? sc.flags.split(',') : []) as SchedFlag[];
  const s = createScheduler(sc.sched, { flags, now: () => 0 });
  const list: SchedDest[] = [];
  for (const [octet, weight] of sc.rs) {
    list.unshift(createSchedDest({ address: `${sc.rsPrefix}${octet}`, port: 80, weight }));
    s.update([...list]);
  }
  for (const [octet, weight] of sc.edits ?? []) {
    list.find((d) => d.address === `${sc.rsPrefix}${octet}`)!.weight = weight;
    s.update([...list]);
  }
  const picks = sc.picks.map(([addr, port, , daddr]) => {
    const d = s.pick(createSchedPacket(foldAddress(addr), port, daddr ? foldAddress(daddr) : VIP, 80));
    if (d) bindConnection(d, 'active');
    return d ? d.address : null;
  });
  const counters = [...list]
    .sort((a, b) => foldAddress(a.address) - foldAddress(b.address))
    .map((d) => `-> ${d.key} Route ${d.weight} ${d.activeConns} ${d.inactiveConns}`);
  return { picks, counters };
}

describe(`schedulers agree with the kernel's IPVS (recorded on Linux ${recordings.kernel})`, () => {
  for (const sc of recordings.scenarios) {
    it(`ip_vs_${sc.sched}.c: ${sc.name} — ${sc.picks.length} connections pick the same real servers`, () => {
      expect(sc.picks.filter((p) => p[2] !== null).length).toBeGreaterThan(0);
      const got = replay(sc);
      expect(got.picks).toEqual(sc.picks.map((p) => p[2]));
      expect(got.counters).toEqual(sc.counters);
    });
  }
});
