import { describe, expect, it } from 'vitest';
import { VipLedger } from '../../src/io/vip-ledger.js';

describe('VipLedger (exit handlers take back what the process configured)', () => {
  it('releases recorded VIPs and links synchronously, once, and never throws', () => {
    const calls: string[] = [];
    const ledger = new VipLedger({
      removeAddresses: (entries) => {
        calls.push(...entries.map((e) => `del ${e.vip}@${e.ifindex}`));
        return { removed: entries.slice(0, 1).map((e) => e.vip), errors: entries.slice(1).map((e) => ({ vip: e.vip, errno: 1 })) };
      },
      deleteLink: (name) => {
        calls.push(`dellink ${name}`);
        if (name === 'bad') throw new Error('RTM_DELLINK(bad): boom');
        return true;
      },
    });
    ledger.addAddress('10.0.0.1/24', 2);
    ledger.addAddress('10.0.0.1/24', 2);
    ledger.addAddress('10.0.0.2/24', 2);
    ledger.addAddress('10.0.0.3/24', 2);
    ledger.removeAddress('10.0.0.3/24', 2);
    ledger.addLink('vsd.51');
    ledger.addLink('bad');
    expect(ledger.size).toBe(4);
    const r = ledger.releaseAllSync();
    expect(calls).toEqual(['del 10.0.0.1/24@2', 'del 10.0.0.2/24@2', 'dellink vsd.51', 'dellink bad']);
    expect(r).toEqual({
      removed: ['10.0.0.1/24'],
      links: ['vsd.51'],
      errors: ['RTM_DELADDR (vip 10.0.0.2/24): Operation not permitted (EPERM)', 'RTM_DELLINK(bad): boom'],
    });
    expect(ledger.size).toBe(0);
    expect(ledger.releaseAllSync()).toEqual({ removed: [], links: [], errors: [] });
    const throwing = new VipLedger({
      removeAddresses: () => {
        throw new Error('socket(AF_NETLINK): EPERM');
      },
      deleteLink: () => false,
    });
    throwing.addAddress('10.0.0.1/24', 2);
    expect(throwing.releaseAllSync().errors).toEqual(['socket(AF_NETLINK): EPERM']);
  });
});
