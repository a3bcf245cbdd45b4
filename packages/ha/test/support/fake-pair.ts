/**
 * Two (or more) dispatchers on a fake segment and a fake clock, each running any number of VRRP instances, for
 * tests of multi-instance behaviour (sync groups, reconfigure). Packets reach every other end one tick later.
 */
import { parseHaConfig, type HaConfig, type HaConfigInput } from '../../src/config.js';
import { createVrrpInstance, type VrrpInstance } from '../../src/instance.js';
import type { netlink } from '@vsd/core';
import type { ReceivedPacket, VrrpTransport } from '../../src/io/vrrp-socket.js';
import type { Transition } from '../../src/vrrp/state-machine.js';
import { FakeTimers } from '../fake-timers.js';

export class FakeSegment {
  readonly ends: { src: string; handler: (p: ReceivedPacket) => void; up: boolean }[] = [];
  constructor(private readonly timers: FakeTimers) {}
  transport(src: string): VrrpTransport {
    const end = { src, handler: (_p: ReceivedPacket) => {}, up: true };
    this.ends.push(end);
    return {
      send: (payload, dst) => {
        if (!end.up) return;
        for (const other of this.ends) {
          if (other === end || !other.up || other.src === src) continue;
          if (dst !== '224.0.0.18' && dst !== other.src) continue;
          this.timers.setTimeout(() => other.up && other.handler({ ok: true, src, dst, ttl: 255, payload, checksumVerified: false }), 1);
        }
      },
      onPacket: (h) => (end.handler = h),
      close: async () => {
        end.up = false;
      },
    };
  }
}

/** The addresses of one node's interface, shared by its instances; `log` is every add/del in order. */
export class FakeAddresses implements netlink.AddressManager {
  readonly present = new Set<string>();
  readonly log: string[] = [];
  async add(vip: string): Promise<boolean> {
    this.log.push(`add ${vip}`);
    const had = this.present.has(vip);
    this.present.add(vip);
    return !had;
  }
  async remove(vip: string): Promise<boolean> {
    this.log.push(`del ${vip}`);
    return this.present.delete(vip);
  }
  async close(): Promise<void> {}
}

export interface FakeNode {
  ip: string;
  addresses: FakeAddresses;
  announced: string[];
  links: Map<string, boolean>;
  /** Exit code of each track script, by script path (default 0). */
  scripts: Map<string, number>;
  /** Every track script run, by script path. */
  runs: string[];
  instances: Map<string, VrrpInstance>;
  transitions: { instance: string; t: Transition }[];
  add(config: HaConfigInput): VrrpInstance;
}

export function config(input: HaConfigInput): HaConfig {
  return parseHaConfig({ interface: 'eth0', ...input });
}

export function fakeNode(seg: FakeSegment, timers: FakeTimers, ip: string): FakeNode {
  const node: FakeNode = {
    ip,
    addresses: new FakeAddresses(),
    announced: [],
    links: new Map([['eth0', true]]),
    scripts: new Map(),
    runs: [],
    instances: new Map(),
    transitions: [],
    add(input) {
      const c = config(input);
      const inst = createVrrpInstance(c, {
        timers,
        openTransport: () => seg.transport(ip),
        addresses: node.addresses,
        openAnnouncer: () => ({ announce: (vip) => node.announced.push(vip), close: () => {} }),
        interfaceInfo: () => ({ ifindex: 2, primary: ip }),
        linkUp: (name) => node.links.get(name) ?? false,
        runCommand: async (command) => (node.runs.push(command), node.scripts.get(command) ?? 0),
        notify: () => undefined,
      });
      inst.onStateChange((t) => node.transitions.push({ instance: c.instance, t }));
      node.instances.set(c.instance, inst);
      return inst;
    },
  };
  return node;
}

/** Advance in small steps so async VIP work and tracker samples interleave with timers as in real time. */
export async function run(timers: FakeTimers, ms: number, nodes: FakeNode[]): Promise<void> {
  for (let t = 0; t < ms; t += 5) {
    timers.advance(5);
    await Promise.resolve();
    for (const n of nodes) for (const i of n.instances.values()) await i.settled();
  }
}

export function states(node: FakeNode): Record<string, string> {
  return Object.fromEntries([...node.instances].map(([name, i]) => [name, i.status().state]));
}

export { FakeTimers };
