import { describe, expect, it } from 'vitest';
import { parseVirtualService, planReconcile, serviceKey, realServerKey, zeroCounters, type DataplaneService, type KernelEntry } from '@vsd/core';

function table(...inputs: unknown[]): DataplaneService[] {
  return inputs.map((input) => {
    const service = parseVirtualService(input);
    return {
      key: serviceKey(service),
      service,
      dests: service.realServers.map((rs) => ({ ...rs, key: realServerKey(rs), effectiveWeight: rs.weight, sorry: false })),
    };
  });
}

/** What the kernel would report after programming `t` exactly. */
function kernelOf(t: DataplaneService[]): KernelEntry[] {
  return t.map((s) => {
    const svc = s.service;
    const inet6 = 'fwmark' in svc ? svc.family === 'inet6' : svc.address.includes(':');
    const flags = (svc.persistence.timeout > 0 ? 1 : 0) | (svc.onePacket ? 4 : 0);
    const { realServers: _rs, ...rest } = svc;
    const id = 'fwmark' in svc ? { fwmark: svc.fwmark, family: svc.family } : { protocol: svc.protocol, address: svc.address, port: svc.port };
    void rest;
    return {
      service: {
        id,
        scheduler: svc.scheduler,
        schedFlags: [],
        persistence: { timeout: svc.persistence.timeout, netmask: svc.persistence.netmask ?? (inet6 ? 128 : 32) },
        pe: svc.pe,
        onePacket: svc.onePacket,
        flags,
        counters: zeroCounters(),
      },
      dests: s.dests.map((d) => ({
        address: d.address,
        port: d.port,
        family: d.address.includes(':') ? ('inet6' as const) : ('inet' as const),
        forwarding: d.forwarding,
        weight: d.effectiveWeight,
        upperThreshold: d.upperThreshold,
        lowerThreshold: d.lowerThreshold,
        tunnel: d.tunnel,
        activeConns: 0,
        inactiveConns: 0,
        persistConns: 0,
        counters: zeroCounters(),
      })),
    };
  });
}

const web = {
  protocol: 'tcp',
  address: '10.0.0.1',
  port: 80,
  scheduler: 'rr',
  realServers: [
    { address: '192.168.1.1', port: 80, forwarding: 'masq' },
    { address: '192.168.1.2', port: 80, forwarding: 'masq' },
  ],
};

describe('planReconcile', () => {
  it('from an empty kernel: one NEW_SERVICE then its dests in model order', () => {
    const ops = planReconcile(table(web), []);
    expect(ops.map((o) => o.op)).toEqual(['addService', 'addDest', 'addDest']);
    expect(ops.slice(1).map((o) => ('dest' in o ? o.dest.address : ''))).toEqual(['192.168.1.1', '192.168.1.2']);
  });

  it('does nothing when the kernel already equals the table', () => {
    const t = table(web, { fwmark: 3, scheduler: 'wlc', persistence: { timeout: 60 } });
    expect(planReconcile(t, kernelOf(t))).toEqual([]);
  });

  it('changes one weight with exactly one SET_DEST', () => {
    const t = table(web);
    const want = table({ ...web, realServers: [web.realServers[0], { ...web.realServers[1], weight: 5 }] });
    const ops = planReconcile(want, kernelOf(t));
    expect(ops).toHaveLength(1);
    expect(ops[0]).toMatchObject({ op: 'editDest', dest: { address: '192.168.1.2', weight: 5 } });
  });

  it('programs the effective weight (quiesce = 0), not the configured one', () => {
    const t = table(web);
    const want = table(web);
    want[0]!.dests[0]!.effectiveWeight = 0;
    expect(planReconcile(want, kernelOf(t))).toMatchObject([{ op: 'editDest', dest: { address: '192.168.1.1', weight: 0 } }]);
  });

  it('adopts an existing service in place: SET_SERVICE for a new scheduler, never delete + add', () => {
    const t = table(web);
    const ops = planReconcile(table({ ...web, scheduler: 'wlc' }), kernelOf(t));
    expect(ops.map((o) => o.op)).toEqual(['editService']);
  });

  it('removes unknown kernel services and dests, unless told to keep foreign services', () => {
    const foreign = table({ protocol: 'udp', address: '10.0.0.9', port: 53, scheduler: 'rr' });
    const kernel = [...kernelOf(table(web)), ...kernelOf(foreign)];
    const want = table({ ...web, realServers: [web.realServers[0]] });
    expect(planReconcile(want, kernel).map((o) => [o.op, serviceKey(o.service)])).toEqual([
      ['deleteService', 'udp 10.0.0.9:53'],
      ['deleteDest', 'tcp 10.0.0.1:80'],
    ]);
    expect(planReconcile(want, kernel, { removeUnknown: false }).map((o) => o.op)).toEqual(['deleteDest']);
  });

  it('notices a forwarding-method or tunnel change', () => {
    const tun = { ...web, realServers: [{ address: '192.168.1.1', port: 80, forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080 } }] };
    const t = table(tun);
    const changed = table({ ...tun, realServers: [{ ...tun.realServers[0], tunnel: { type: 'gue', port: 6081 } }] });
    expect(planReconcile(changed, kernelOf(t))).toMatchObject([{ op: 'editDest', dest: { tunnel: { type: 'gue', port: 6081 } } }]);
    const toDr = table({ ...web, realServers: [{ address: '192.168.1.1', port: 80, forwarding: 'route' }] });
    expect(planReconcile(toDr, kernelOf(t))).toMatchObject([{ op: 'editDest', dest: { forwarding: 'route', tunnel: null } }]);
  });

  it('sees persistence timeout and netmask changes', () => {
    const p = { ...web, persistence: { timeout: 300, netmask: 24 } };
    const t = table(p);
    expect(planReconcile(table({ ...p, persistence: { timeout: 300, netmask: 16 } }), kernelOf(t)).map((o) => o.op)).toEqual(['editService']);
    expect(planReconcile(table({ ...p, persistence: { timeout: 0 } }), kernelOf(t)).map((o) => o.op)).toEqual(['editService']);
  });
});
