/**
 * Health checks travel with their virtual service's key from the parser to the monitor: whatever happens to the
 * running table's order or content (vsadm, peer sync, a state file that won), each service gets its own checks.
 */
import { StateStore } from '@vsd/core';
import { afterEach, describe, expect, it } from 'vitest';
import { healthSpecs } from '../src/component-health.js';
import { parse } from './config-parse.js';

const yaml = `
virtual_servers:
  - address: 10.0.0.1:80
    real_servers: [{ address: 10.0.1.1:80 }]
  - address: 10.0.0.2:80
    delay_loop: 3
    real_servers:
      - { address: 10.0.2.1:80, checks: [{ tcp_check: {}, connect_timeout: 2 }] }
      - { address: 10.0.2.2:80, inhibit_on_failure: true }
  - address: 10.0.0.3:80
    sorry_server: 10.0.9.9:80
    lb_kind: DR
    real_servers: [{ address: 10.0.3.1:80 }]
`;

describe('health configuration carried by service key', () => {
  const stores: StateStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close?.();
  });

  it('names each service by key, and only those with a check or a sorry server', () => {
    const loaded = parse(yaml);
    expect(loaded.health.map((h) => [h.service, h.field, Object.keys(h.checks)])).toEqual([
      ['tcp 10.0.0.2:80', 'virtual_servers.1', ['10.0.2.1:80']],
      ['tcp 10.0.0.3:80', 'virtual_servers.2', []],
    ]);
    expect(loaded.health[0]!.inhibitOnFailure).toEqual({ '10.0.2.2:80': true });
    expect(loaded.health[0]!.options).toEqual({ delay_loop: 3 });
    expect(loaded.health[1]!.sorryForwarding).toBe('route');
  });

  it('pairs checks with the running service whatever the running table order (first service deleted, rest reversed)', async () => {
    const loaded = parse(yaml);
    const store = await StateStore.open({ path: null });
    stores.push(store);
    await store.apply([{ op: 'replace', services: [loaded.services[2]!, loaded.services[1]!] }], 'test');
    const specs = healthSpecs({ loaded, store });
    expect(specs.map((s) => s.key)).toEqual(['tcp 10.0.0.2:80', 'tcp 10.0.0.3:80']);
    const web = specs[0]!;
    expect(web.delayLoopMs).toBe(3000);
    expect(web.realServers.map((r) => [r.address, r.checks.map((c) => [c.kind, c.connectTimeoutMs]), r.inhibitOnFailure])).toEqual([
      ['10.0.2.1', [['tcp', 2000]], undefined],
      ['10.0.2.2', [], true],
    ]);
    expect(specs[1]!.sorryServer).toMatchObject({ address: '10.0.9.9', port: 80, forwarding: 'route' });
  });
});
