import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ControlRequestError, typedClient, type ControlClient } from '@vsd/core';
import type { VrrpStatus } from '@vsd/ha';
import { failoverCommand, instanceArg, renderHa } from '../../src/vsctl/ha.js';
import { statusCommand } from '../../src/vsctl/status.js';

const vrrp = (instance: string, state: string, extra: Partial<VrrpStatus> = {}) =>
  ({
    instance,
    interface: 'eth0',
    vrid: instance === 'VI_1' ? 51 : 52,
    version: 3,
    state,
    priority: 100,
    basePriority: 100,
    masterAddress: null,
    vipsHeld: [],
    lastTransition: null,
    holds: { resign: false, takeover: false },
    externalFaults: [],
    ...extra,
  }) as unknown as VrrpStatus;

function client(answers: Record<string, unknown>, calls: unknown[][]): ControlClient {
  return typedClient({
    where: 'test',
    get: async (p: string) => {
      calls.push(['GET', p]);
      if (!(p in answers)) throw new ControlRequestError(404, { code: 'VSD_ERR_NO_ROUTE', message: 'no such endpoint' });
      return answers[p];
    },
    post: async (p: string, b?: unknown) => (calls.push(['POST', p, b]), { operation: 'failover', before: 'MASTER', status: vrrp('VI_2', 'BACKUP') }),
  } as unknown as ControlClient);
}

describe('vsctl with several VRRP instances', () => {
  it('takes an optional instance name and refuses options or two names', () => {
    expect(instanceArg('failover', [])).toBeUndefined();
    expect(instanceArg('failover', ['VI_2', '--json'])).toBe('VI_2');
    expect(() => instanceArg('failover', ['VI_1', 'VI_2'])).toThrow(/one VRRP instance at a time/);
    expect(() => instanceArg('failover', ['--instance'])).toThrow(/unknown option --instance/);
  });

  it('`vsctl failover VI_2` posts the name; without one the body is empty (the daemon picks the only instance)', async () => {
    const calls: unknown[][] = [];
    const out = new PassThrough();
    await failoverCommand.run({ client: client({}, calls), json: false, args: ['VI_2'], out });
    await failoverCommand.run({ client: client({}, calls), json: false, args: [], out });
    expect(calls).toEqual([
      ['POST', '/v1/ha/failover', { instance: 'VI_2' }],
      ['POST', '/v1/ha/failover', {}],
    ]);
  });

  it('renders every instance with the primary and sync groups marked', () => {
    const lines = renderHa({
      vrrp: vrrp('VI_1', 'MASTER'),
      primary: 'VI_1',
      instances: [vrrp('VI_1', 'MASTER', { syncGroup: 'G1' }), vrrp('VI_2', 'FAULT', { syncGroup: 'G1', externalFaults: ['sync_group:G1'] })],
      syncGroups: [{ name: 'G1', instances: ['VI_1', 'VI_2'] }],
      sync: null,
    });
    expect(lines[0]).toMatch(/^VI_1 on eth0: MASTER, VRID 51.*\[primary: peer-sync role follows it; sync group G1\]$/);
    expect(lines.find((l) => l.startsWith('VI_2'))).toMatch(/FAULT, VRID 52.*\[sync group G1\]/);
    expect(lines.some((l) => l.includes('held in FAULT by sync_group:G1'))).toBe(true);
    expect(lines.at(-1)).toBe('sync group G1: VI_1, VI_2 (change state together)');
    // An older daemon's document (one `vrrp`) still renders.
    expect(renderHa({ vrrp: vrrp('VI_1', 'BACKUP'), sync: null })[0]).toMatch(/^VI_1 on eth0: BACKUP/);
  });

  it('`vsctl status VI_2` asks for that instance only', async () => {
    const calls: unknown[][] = [];
    const answers = {
      '/v1/status': { dataplane: 'none', info: { version: '1', connTableSize: 0 }, generation: 0, services: [] },
      '/v1/realservers': { generation: 0, services: [] },
      '/v1/ha?instance=VI_2': { vrrp: vrrp('VI_2', 'BACKUP'), primary: 'VI_1', instances: [vrrp('VI_2', 'BACKUP')], syncGroups: [], sync: null },
    };
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => (text += d));
    await statusCommand.run({ client: client(answers, calls), json: false, args: ['VI_2'], out });
    expect(calls).toContainEqual(['GET', '/v1/ha?instance=VI_2']);
    expect(text).toMatch(/ha:\n {2}VI_2 on eth0: BACKUP/);
  });

  it("`vsctl status VI_9` fails with the daemon's unknown-instance error", async () => {
    const answers = {
      '/v1/status': { dataplane: 'none', info: { version: '1', connTableSize: 0 }, generation: 0, services: [] },
      '/v1/realservers': { generation: 0, services: [] },
    };
    const c = client(answers, []);
    const get = c.get.bind(c);
    c.get = (async (p: string) => {
      if (p === '/v1/ha?instance=VI_9')
        throw new ControlRequestError(404, { code: 'VSD_ERR_HA_UNKNOWN_INSTANCE', message: 'no VRRP instance "VI_9" on this dispatcher; instances: VI_1' });
      return get(p);
    }) as ControlClient['get'];
    await expect(statusCommand.run({ client: c, json: false, args: ['VI_9'], out: new PassThrough() })).rejects.toMatchObject({
      code: 'VSD_ERR_HA_UNKNOWN_INSTANCE',
    });
  });
});
