import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createControlClient, silentLogger } from '@vsd/core';
import { BirdReplyParser, parseBfdSessions, parseProtocols } from '../src/bgp/bird.js';
import { bgpComponent, type BgpStatus } from '../src/component-bgp.js';
import { type MetricsComponent, metricsComponent } from '../src/component-metrics.js';
import { startDaemon, type Daemon } from '../src/daemon.js';
import { parse, refusal } from './config-parse.js';
import { startFakeBgpd } from './fake-bgpd.js';
import { startFakeBird, type FakeBird } from './fake-bird.js';
import { parseRunningConfig } from '../src/bgp/frr-daemon.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function waitFor(what: string, fn: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function yaml(dir: string, bgp: string): string {
  return `
dataplane: none
bgp:
  socket: ${join(dir, 'bird.ctl')}
${bgp}
virtual_servers:
  - address: 192.0.2.10:80
    real_servers:
      - address: 10.0.0.1:80
  - address: 192.0.2.10:443
    real_servers:
      - address: 10.0.0.1:443
  - address: 192.0.2.20:80
    real_servers:
      - address: 10.0.0.2:80
        weight: 0
`;
}

async function setup(
  bgp = '  announce_delay: 0\n  shutdown_delay: 0\n  check_interval: 0.1\n  bfd: true',
  protocols: Record<string, boolean> = { vsd_192_0_2_10: false, vsd_192_0_2_20: true },
  components = [bgpComponent],
) {
  const dir = mkdtempSync(join(tmpdir(), 'vsd-bgp-'));
  const bird = await startFakeBird(join(dir, 'bird.ctl'), protocols);
  cleanup.push(() => bird.close());
  const config = join(dir, 'vsd.yaml');
  writeFileSync(config, yaml(dir, bgp) + (components.includes(metricsComponent) ? 'metrics: { listen: 127.0.0.1:0 }\n' : ''));
  const socket = join(dir, 'vsd.sock');
  const daemon: Daemon = await startDaemon({ configPath: config, statePath: join(dir, 'state.json'), logger: silentLogger, socketPath: socket, components });
  let stopped = false;
  cleanup.push(() => (stopped ? undefined : daemon.stop()));
  const client = createControlClient({ socket });
  return { dir, bird, daemon, client, config, stop: () => ((stopped = true), daemon.stop()) };
}

const announced = (bird: FakeBird) => [...bird.protocols].filter(([, on]) => on).map(([n]) => n);

describe('BIRD control socket replies', () => {
  it('ends a reply at "CODE text", joins continuation lines and skips spontaneous "+" lines', () => {
    const p = new BirdReplyParser();
    expect(p.push('0001 BIRD 2.0.12 ready.\n2002-Name Proto Table State Since Info\n1002-a Static master4 up 17:45:14.294\n')).toHaveLength(1);
    const [r] = p.push(' b BGP --- up 2026-12-01 17:45:03 Established\n+spontaneous\n0000 \n');
    expect(r!.code).toBe(0);
    expect(parseProtocols(r!)).toEqual([
      { name: 'a', proto: 'Static', state: 'up', info: '' },
      { name: 'b', proto: 'BGP', state: 'up', info: 'Established' },
    ]);
    const [bfd] = p.push(
      '1020-bfd1:\n IP address Interface State Since Interval Timeout\n 10.0.0.1 eth0 Up 17:45:00.631 0.100 0.300\n 10.0.0.2 eth0 Down 17:45:00.631 1.000 0.000\n0000 \n',
    );
    expect(parseBfdSessions(bfd!)).toEqual([
      { address: '10.0.0.1', iface: 'eth0', state: 'Up' },
      { address: '10.0.0.2', iface: 'eth0', state: 'Down' },
    ]);
    expect(p.push('8003 No protocols ')).toEqual([]);
    expect(p.push('match\n')[0]).toEqual({ code: 8003, lines: [{ code: 8003, text: 'No protocols match' }] });
  });
});

describe('vsd bgp component', () => {
  it('announces the servable VIPs, withdraws on weight loss, drain (kept across a restart) and shutdown', async () => {
    const { dir, bird, daemon, client, stop } = await setup();
    // 192.0.2.10 has live real servers; 192.0.2.20's only one has weight 0, and BIRD had it enabled: withdrawn.
    await waitFor('announce', () => announced(bird).join() === 'vsd_192_0_2_10');
    const st = await client.get<BgpStatus>('/v1/bgp');
    expect(st).toMatchObject({ daemon: 'bird', reachable: true, error: null, drained: false, bfd: { expected: true, up: 1 } });
    expect(st.vips.map((v) => [v.vip, v.route, v.servable, v.state])).toEqual([
      ['192.0.2.10', 'vsd_192_0_2_10', true, 'announced'],
      ['192.0.2.20', 'vsd_192_0_2_20', false, 'withdrawn'],
    ]);
    expect(st.vips[1]!.reason).toMatch(/no real server with weight > 0/);
    expect(st.sessions.map((s) => [s.name, s.info])).toEqual([
      ['up1', 'Established'],
      ['up2', 'Active'],
    ]);
    // GET /v1/status carries the same section.
    expect((await client.get<{ bgp: BgpStatus }>('/v1/status')).bgp.vips[0]!.state).toBe('announced');

    // Health (or an agent) takes both real servers of 192.0.2.10 to 0: withdrawn at once.
    for (const port of [80, 443]) daemon.overlay.set('health', `tcp 192.0.2.10:${port}`, `10.0.0.1:${port}`, { factor: 0, reason: 'health: down' });
    await waitFor('withdraw', () => announced(bird).length === 0);
    daemon.overlay.clearSource('health');
    await waitFor('re-announce', () => announced(bird).length === 1);

    // Drain: answered once BIRD has withdrawn; survives a restart of vsd.
    const drained = await client.post<BgpStatus>('/v1/bgp/drain', {});
    expect(drained.drained).toBe(true);
    expect(announced(bird)).toEqual([]);
    expect(existsSync(join(dir, 'bgp-drained'))).toBe(true);
    // BIRD re-read its config (all vsd protocols disabled again) or was enabled by hand: vsd puts it back.
    bird.protocols.set('vsd_192_0_2_10', true);
    await waitFor('re-asserted withdraw', () => announced(bird).length === 0);

    await stop();
    expect(bird.commands.slice(-2)).toEqual(['show protocols', 'show bfd sessions']);
    const again = await startDaemon({
      configPath: join(dir, 'vsd.yaml'),
      statePath: join(dir, 'state.json'),
      logger: silentLogger,
      socketPath: join(dir, 'vsd2.sock'),
      components: [bgpComponent],
    });
    cleanup.push(() => again.stop());
    const c2 = createControlClient({ socket: join(dir, 'vsd2.sock') });
    expect((await c2.get<BgpStatus>('/v1/bgp')).drained).toBe(true);
    expect(announced(bird)).toEqual([]);
    const undrained = await c2.post<BgpStatus>('/v1/bgp/undrain', {});
    expect(undrained.vips[0]!.state).toBe('announced');
    expect(announced(bird)).toEqual(['vsd_192_0_2_10']);
    // SIGTERM: withdrawn before the daemon's stop returns (the dataplane drains after it).
    await again.stop();
    expect(announced(bird)).toEqual([]);
  });

  it('keeps running with BIRD down, reports it, and announces once BIRD answers', async () => {
    const { bird, client, dir, daemon } = await setup(undefined, undefined, [bgpComponent, metricsComponent]);
    await waitFor('announce', () => announced(bird).length === 1);
    const metricsAt = (daemon.components.find((c) => c.name === 'metrics') as MetricsComponent).address!;
    const scrape = async () => (await fetch(`http://127.0.0.1:${metricsAt.port}/metrics`)).text();
    let m = await scrape();
    expect(m).toContain('vsd_bgp_daemon_up{daemon="bird"} 1');
    expect(m).toContain('vsd_bgp_vip_announced{vip="192.0.2.10"} 1');
    expect(m).toContain('vsd_bgp_vip_servable{vip="192.0.2.20"} 0');
    expect(m).toContain('vsd_bgp_sessions_established 1');
    expect(m).toContain('vsd_bgp_bfd_sessions_up 1');
    expect(m).toMatch(/vsd_bgp_announcements_total 1\b/);
    const page = await (await fetch(`http://127.0.0.1:${metricsAt.port}/status`)).text();
    expect(page).toMatch(/<h2>BGP<\/h2>[\s\S]*bird: <b>reachable<\/b>, BGP sessions 1\/2 established/);
    expect(page).toMatch(/<td>192\.0\.2\.10<\/td><td><span class="badge ok">announced<\/span>/);
    await bird.close();
    await waitFor('error', async () => (await client.get<BgpStatus>('/v1/bgp')).reachable === false);
    const st = await client.get<BgpStatus>('/v1/bgp');
    expect(st.error).toMatchObject({ code: 'VSD_ERR_BGP_DAEMON' });
    expect(st.error!.message).toContain(join(dir, 'bird.ctl'));
    expect(st.vips[0]!.state).toBe('unknown');
    expect(st.counters.daemonErrors).toBeGreaterThan(0);
    m = await scrape();
    expect(m).toContain('vsd_bgp_daemon_up{daemon="bird"} 0');
    expect(m).toContain('vsd_bgp_vip_announced{vip="192.0.2.10"} 0');
    expect(m).toMatch(/vsd_bgp_daemon_errors_total [1-9]/);
    // BIRD restarts with its config: the protocols are disabled again; vsd re-announces within check_interval.
    const back = await startFakeBird(join(dir, 'bird.ctl'), { vsd_192_0_2_10: false, vsd_192_0_2_20: false });
    cleanup.push(() => back.close());
    await waitFor('re-announce after BIRD restart', () => announced(back).join() === 'vsd_192_0_2_10');
    // A hung daemon: the pass times out as an error, vsd answers its API meanwhile.
    back.hang = true;
    await waitFor('timeout error', async () => (await client.get<BgpStatus>('/v1/bgp')).error?.message.includes('no answer') ?? false, 8000);
  });

  it('holds a VIP down for announce_delay, reports a protocol BIRD lacks, and follows a reload', async () => {
    const { bird, client, daemon, config, dir } = await setup('  announce_delay: 0.4\n  shutdown_delay: 0\n  check_interval: 0.1', { vsd_192_0_2_10: false });
    const st = await client.get<BgpStatus>('/v1/bgp');
    expect(st.vips[0]).toMatchObject({ vip: '192.0.2.10', servable: true, announce: false, state: 'withdrawn' });
    expect(st.vips[0]!.holdDownMs).toBeGreaterThan(0);
    expect(st.vips[1]).toMatchObject({ vip: '192.0.2.20', state: 'missing' });
    const t0 = Date.now();
    await waitFor('announce after hold-down', () => announced(bird).length === 1);
    expect(Date.now() - t0).toBeGreaterThan(150);
    // Reload: only 192.0.2.20 is listed now; 192.0.2.10 leaves the list and is withdrawn.
    writeFileSync(config, yaml(dir, '  vips: [192.0.2.20]\n  announce_delay: 0\n  shutdown_delay: 0'));
    expect(await daemon.reload()).toMatchObject({ ok: true });
    await waitFor('withdraw of a VIP no longer listed', () => announced(bird).length === 0);
    expect((await client.get<BgpStatus>('/v1/bgp')).vips.map((v) => v.vip)).toEqual(['192.0.2.20']);
  });

  it('drives FRR bgpd over its vty socket: network statements added and removed, sessions read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vsd-bgp-frr-'));
    const bgpd = await startFakeBgpd(join(dir, 'bgpd.vty'));
    cleanup.push(() => bgpd.close());
    bgpd.networks.add('192.0.2.20/32');
    writeFileSync(
      join(dir, 'vsd.yaml'),
      yaml(dir, '  daemon: frr\n  announce_delay: 0\n  shutdown_delay: 0\n  check_interval: 0.1').replace(join(dir, 'bird.ctl'), join(dir, 'bgpd.vty')),
    );
    const daemon = await startDaemon({
      configPath: join(dir, 'vsd.yaml'),
      statePath: null,
      logger: silentLogger,
      socketPath: join(dir, 'vsd.sock'),
      components: [bgpComponent],
    });
    let stopped = false;
    cleanup.push(() => (stopped ? undefined : daemon.stop()));
    const client = createControlClient({ socket: join(dir, 'vsd.sock') });
    const st = await client.get<BgpStatus>('/v1/bgp');
    expect(st).toMatchObject({ daemon: 'frr', reachable: true, sessions: [{ name: '10.0.0.254', state: 'up', info: 'Established' }] });
    expect(st.vips.map((v) => [v.route, v.state])).toEqual([
      ['network 192.0.2.10/32', 'announced'],
      ['network 192.0.2.20/32', 'withdrawn'],
    ]);
    expect([...bgpd.networks]).toEqual(['192.0.2.10/32']);
    expect(bgpd.commands).toEqual(
      expect.arrayContaining([
        'enable',
        'configure terminal',
        'router bgp 65001',
        'address-family ipv4 unicast',
        'network 192.0.2.10/32',
        'no network 192.0.2.20/32',
        'end',
      ]),
    );
    stopped = true;
    await daemon.stop();
    expect([...bgpd.networks]).toEqual([]);
    expect(
      parseRunningConfig(
        'router bgp 65010 vrf red\n network 1.2.3.4/32\nrouter bgp 65001\n address-family ipv4 unicast\n  network 10.0.0.1/32\n exit-address-family\nexit\nline vty\n network x\n',
      ),
    ).toEqual({ asn: 65001, networks: new Set(['10.0.0.1/32']) });
  });

  it('answers VSD_ERR_BGP_NOT_CONFIGURED without a bgp: section', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vsd-bgp-'));
    writeFileSync(join(dir, 'vsd.yaml'), 'dataplane: none\n');
    const daemon = await startDaemon({
      configPath: join(dir, 'vsd.yaml'),
      statePath: null,
      logger: silentLogger,
      socketPath: join(dir, 'vsd.sock'),
      components: [bgpComponent],
    });
    cleanup.push(() => daemon.stop());
    const client = createControlClient({ socket: join(dir, 'vsd.sock') });
    await expect(client.get('/v1/bgp')).rejects.toMatchObject({ status: 404, code: 'VSD_ERR_BGP_NOT_CONFIGURED' });
    expect(await client.get('/v1/status')).not.toHaveProperty('bgp');
  });

  it('refuses a bad bgp: section naming the field and the value', () => {
    expect(refusal('bgp: { sockett: /run/bird.ctl }')).toMatch(/bgp\.sockett: unknown key, did you mean socket\?/);
    expect(refusal('bgp: { vips: [192.0.2.300] }')).toMatch(/bgp\.vips\.0: not an IPv4 or IPv6 address.*192\.0\.2\.300/);
    expect(refusal('bgp: { daemon: quagga }')).toMatch(/bgp\.daemon: .*quagga/);
    expect(refusal('bgp: { protocol_prefix: 1vsd }')).toMatch(/bgp\.protocol_prefix: a BIRD symbol.*1vsd/);
    expect(refusal('bgp: { announce_delay: -1 }')).toMatch(/bgp\.announce_delay: .*-1/);
    expect(refusal('bgp: { shutdown_dely: 1 }')).toMatch(/bgp\.shutdown_dely: unknown key, did you mean shutdown_delay\?/);
    expect(refusal('bgp: { check_interval: 0.05 }')).toMatch(/bgp\.check_interval: .*0\.05/);
  });

  it('parses bgp: once into frozen camelCase options in ms, the socket default filled and the VIPs canonical', () => {
    const bird = parse('bgp: { vips: ["2001:DB8:0::10", 192.0.2.10] }').config.bgp!;
    expect(bird).toEqual({
      daemon: 'bird',
      socket: '/run/bird/bird.ctl',
      protocolPrefix: 'vsd_',
      vips: ['2001:db8::10', '192.0.2.10'],
      bfd: false,
      announceDelayMs: 1000,
      shutdownDelayMs: 1000,
      checkIntervalMs: 1000,
    });
    expect(Object.isFrozen(bird) && Object.isFrozen(bird.vips)).toBe(true);
    const frr = parse('bgp: { daemon: frr, announce_delay: 0.4, shutdown_delay: 0, check_interval: 0.1 }').config.bgp!;
    expect(frr).toEqual({
      daemon: 'frr',
      socket: '/var/run/frr/bgpd.vty',
      protocolPrefix: 'vsd_',
      bfd: false,
      announceDelayMs: 400,
      shutdownDelayMs: 0,
      checkIntervalMs: 100,
    });
    expect(parse('bgp: { daemon: frr, socket: /tmp/bgpd.vty }').config.bgp!.socket).toBe('/tmp/bgpd.vty');
  });
});
