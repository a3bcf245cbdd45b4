import { connect, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createProxyDataplane, type ProxyDataplane } from '../../../src/dataplane/proxy/index.js';
import { realServerKey, serviceKey } from '../../../src/model/keys.js';
import { parseVirtualService } from '../../../src/model/schema.js';
import { ENGINES } from './helpers.js';

describe.each(ENGINES)('proxy dataplane (engine: $engine): IPv6', ({ engine }) => {
  let dp: ProxyDataplane;
  afterEach(async () => dp.close(0));

  it('proxies an IPv6 VIP to an IPv6 real server and reports IPv6 clients', async () => {
    const backend = createServer((s) => s.end('six\n'));
    await new Promise<void>((r) => backend.listen(0, '::1', () => r()));
    const rport = (backend.address() as { port: number }).port;
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '::1', () => r()));
    const vport = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const service = parseVirtualService({
      protocol: 'tcp',
      address: '::1',
      port: vport,
      scheduler: 'rr',
      realServers: [{ address: '::1', port: rport, forwarding: 'masq' }],
    });
    dp = createProxyDataplane({ engine });
    await dp.start();
    await dp.reconcile([
      { key: serviceKey(service), service, dests: service.realServers.map((rs) => ({ ...rs, key: realServerKey(rs), effectiveWeight: 1, sorry: false })) },
    ]);
    const got = await new Promise<string>((resolve, reject) => {
      const c = connect({ host: '::1', port: vport });
      let buf = '';
      c.on('data', (d) => (buf += d));
      c.on('end', () => resolve(buf));
      c.on('error', reject);
    });
    expect(got).toBe('six\n');
    const st = (await dp.status())[0]!;
    expect(st.key).toBe(`tcp [::1]:${vport}`);
    expect(st.dests[0]!.key).toBe(`[::1]:${rport}`);
    expect(st.counters.conns).toBe(1);
    await new Promise<void>((r) => backend.close(() => r()));
  });
});
