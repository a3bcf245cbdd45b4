import { describe, expect, it } from 'vitest';
import { applyOps, emptyState, parseOps, ValidationError, type DesiredState, type StateOp, type VsdError } from '@vsd/core';

const svc = { protocol: 'tcp', address: '10.0.0.1', port: 80 };
const ops = (list: unknown[]) => parseOps(list);
const base = (): DesiredState =>
  applyOps(
    emptyState(),
    ops([
      { op: 'add-service', service: { ...svc, scheduler: 'rr' } },
      { op: 'add-server', service: svc, server: { address: '10.0.1.1', port: 8080, forwarding: 'masq', weight: 2 } },
    ]),
  );

function thrown(fn: () => unknown): VsdError {
  try {
    fn();
  } catch (err) {
    return err as VsdError;
  }
  throw new Error('expected an error');
}

describe('parseOps: validation errors name the field and the value', () => {
  it('names a nested out-of-range value', () => {
    const e = thrown(() =>
      ops([
        { op: 'add-service', service: svc },
        { op: 'add-server', service: svc, server: { address: '10.0.1.1', port: 70000 } },
      ]),
    );
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.details).toMatchObject({ field: 'ops.1.server.port', value: 70000 });
    expect(e.message).toMatch(/^ops\.1\.server\.port: .*\(got 70000\)$/);
  });

  it('names an unknown field inside a service', () => {
    const e = thrown(() => ops([{ op: 'add-service', service: { ...svc, sheduler: 'rr' } }]));
    expect(e.details).toMatchObject({ field: 'ops.0.service.sheduler', value: 'rr', reason: 'unknown field' });
  });

  it('names an unknown field of the operation itself', () => {
    const e = thrown(() => ops([{ op: 'clear', service: svc }]));
    expect(e.details.field).toBe('ops.0.service');
  });

  it('refuses an unknown operation, a non-address and an empty list', () => {
    expect(thrown(() => ops([{ op: 'explode' }])).details.field).toBe('ops.0.op');
    expect(thrown(() => ops([{ op: 'add-service', service: { ...svc, address: '10.0.0.300' } }])).details).toMatchObject({
      field: 'ops.0.service.address',
      value: '10.0.0.300',
    });
    expect(thrown(() => ops([])).details.field).toBe('ops');
  });

  it('canonicalises addresses and forces the service port for direct routing', () => {
    const [, add] = ops([
      { op: 'add-service', service: { protocol: 'tcp', address: '2001:DB8:0:0::1', port: 80 } },
      {
        op: 'add-server',
        service: { protocol: 'tcp', address: '2001:db8::1', port: 80 },
        server: { address: '2001:db8::10', port: 9999, forwarding: 'route' },
      },
    ]);
    expect((add as Extract<StateOp, { op: 'add-server' }>).server.port).toBe(80);
    expect(
      (ops([{ op: 'add-service', service: { protocol: 'tcp', address: '2001:DB8:0:0::1', port: 80 } }])[0] as { service: { address: string } }).service.address,
    ).toBe('2001:db8::1');
  });

  it('refuses a lower threshold above the upper one with ERANGE', () => {
    const e = thrown(() => ops([{ op: 'add-server', service: svc, server: { address: '10.0.1.1', port: 80, upperThreshold: 5, lowerThreshold: 6 } }]));
    expect([e.code, e.errno]).toEqual(['VSD_ERR_THRESHOLD_RANGE', 'ERANGE']);
  });
});

describe('applyOps: transactions are all-or-nothing', () => {
  it('leaves the input state untouched when a later operation fails', () => {
    const before = base();
    const snapshot = structuredClone(before);
    const e = thrown(() =>
      applyOps(
        before,
        ops([
          { op: 'add-service', service: { ...svc, port: 443 } },
          { op: 'edit-server', service: svc, server: { address: '10.0.1.1', port: 8080, forwarding: 'masq', weight: 9 } },
          { op: 'add-server', service: svc, server: { address: '10.0.1.1', port: 8080, forwarding: 'masq' } },
        ]),
      ),
    );
    expect([e.code, e.errno]).toEqual(['VSD_ERR_REAL_SERVER_EXISTS', 'EEXIST']);
    expect(before).toEqual(snapshot);
  });

  it('never aliases the input: editing the result does not change the original', () => {
    const before = base();
    const after = applyOps(before, ops([{ op: 'zero' }]));
    after.services[0]!.realServers[0]!.weight = 100;
    expect(before.services[0]!.realServers[0]!.weight).toBe(2);
  });

  it('edit-service replaces every option but keeps the real servers', () => {
    const after = applyOps(base(), ops([{ op: 'edit-service', service: { ...svc, scheduler: 'wlc' } }]));
    expect(after.services[0]).toMatchObject({ scheduler: 'wlc', persistence: { timeout: 0 } });
    expect(after.services[0]!.realServers).toHaveLength(1);
  });

  it('reports the errno IPVS would for missing services, servers, schedulers and daemons', () => {
    const s = base();
    const cases: Array<[unknown, string, string]> = [
      [{ op: 'delete-service', service: { ...svc, port: 81 } }, 'VSD_ERR_SERVICE_NOT_FOUND', 'ESRCH'],
      [{ op: 'delete-server', service: svc, server: { address: '10.0.1.9', port: 8080 } }, 'VSD_ERR_REAL_SERVER_NOT_FOUND', 'ENOENT'],
      [{ op: 'add-service', service: { ...svc, port: 81, scheduler: 'nosuch' } }, 'VSD_ERR_SCHEDULER_NOT_FOUND', 'ENOENT'],
      [{ op: 'add-service', service: svc }, 'VSD_ERR_SERVICE_EXISTS', 'EEXIST'],
      [{ op: 'stop-daemon', state: 'master' }, 'VSD_ERR_NO_DAEMON', 'ESRCH'],
    ];
    for (const [op, code, errno] of cases) {
      const e = thrown(() => applyOps(s, ops([op])));
      expect([e.code, e.errno]).toEqual([code, errno]);
    }
    const running = applyOps(s, ops([{ op: 'start-daemon', daemon: { state: 'master' } }]));
    expect(thrown(() => applyOps(running, ops([{ op: 'start-daemon', daemon: { state: 'master' } }]))).code).toBe('VSD_ERR_DAEMON_RUNNING');
  });

  it('set-timeouts leaves a 0 timeout unchanged, as ipvsadm --set does', () => {
    const after = applyOps(base(), ops([{ op: 'set-timeouts', timeouts: { tcp: 100, tcpfin: 0, udp: 0 } }]));
    expect(after.timeouts).toEqual({ tcp: 100, tcpfin: 120, udp: 300 });
  });

  it('replace and clear install or empty the whole table', () => {
    const replaced = applyOps(base(), ops([{ op: 'replace', services: [{ ...svc, port: 8443 }] }]));
    expect(replaced.services.map((s) => ('port' in s ? s.port : 0))).toEqual([8443]);
    expect(applyOps(replaced, ops([{ op: 'clear' }])).services).toEqual([]);
  });
});
