import { describe, expect, it } from 'vitest';
import { parse, refusal } from './config-parse.js';

describe('vsd.yaml', () => {
  it('turns keepalived-named keys into the core model (NAT default, durations, granularity)', () => {
    const { services } = parse(`
virtual_servers:
  - address: 10.77.0.100:80
    lb_algo: rr
    persistence_timeout: 1.5
    persistence_granularity: 255.255.255.0
    real_servers:
      - { address: 10.77.0.13:8080, weight: 2, uthreshold: 10, lthreshold: 5 }
  - fwmark: 7
    lb_kind: DR
    persistence_timeout:
    real_servers:
      - address: 10.77.0.14
`);
    expect(services[0]).toMatchObject({
      protocol: 'tcp',
      address: '10.77.0.100',
      port: 80,
      scheduler: 'rr',
      persistence: { timeout: 2, netmask: 24 },
      realServers: [{ address: '10.77.0.13', port: 8080, forwarding: 'masq', weight: 2, upperThreshold: 10, lowerThreshold: 5 }],
    });
    // keepalived: persistence_timeout without a value = 360 s; wlc is the default scheduler.
    expect(services[1]).toMatchObject({ fwmark: 7, scheduler: 'wlc', persistence: { timeout: 360 }, realServers: [{ forwarding: 'route', port: 0 }] });
  });

  it('refuses a misspelt key with a hint at the right one', () => {
    expect(refusal('virtual_servers:\n  - address: 10.0.0.1:80\n    lb_algorithm: rr\n')).toMatch(
      /^config vsd\.yaml: virtual_servers\.0\.lb_algorithm: unknown key, did you mean lb_algo\?$/,
    );
    expect(refusal('virtual_servers:\n  - address: 10.0.0.1:80\n    real_servers:\n      - adress: 10.0.1.1:80\n')).toMatch(
      /virtual_servers\.0\.real_servers\.0\.adress: unknown key, did you mean address\?/,
    );
    expect(refusal('virtual_server:\n  - address: 10.0.0.1:80\n')).toMatch(/virtual_server: unknown key, did you mean virtual_servers\?/);
    expect(refusal('virtual_servers:\n  - address: 10.0.0.1:80\n    lvs_sched: rr\n')).toMatch(/lvs_sched: unknown key, did you mean lb_algo\?/);
    expect(refusal('frobnicate: 1\n')).toMatch(/frobnicate: unknown key$/);
  });

  it('refuses bad values naming the key and the value', () => {
    expect(refusal('virtual_servers:\n  - address: 10.0.0.1:80\n    lb_algo: fastest\n')).toMatch(
      /virtual_servers\.0\.lb_algo: unknown scheduler.*\(got "fastest"\)/,
    );
    expect(refusal('virtual_servers:\n  - address: 10.0.0.1:80\n    lb_kind: FULLNAT\n')).toMatch(/virtual_servers\.0\.lb_kind: .*\(got "FULLNAT"\)/);
    expect(refusal('virtual_servers:\n  - address: 10.0.0.1:80\n    real_servers: [{ address: "10.0.1.1:80", weight: 70000 }]\n')).toMatch(
      /real_servers\.0\.weight: .*\(got 70000\)/,
    );
    expect(refusal('virtual_servers:\n  - address: 10.0.0.1:80\n  - address: 10.0.0.1:80\n')).toMatch(
      /virtual_servers\.1: .*same virtual service as virtual_servers\.0/,
    );
    expect(refusal('virtual_servers:\n  - lb_algo: rr\n')).toMatch(/exactly one of address or fwmark/);
    expect(refusal('virtual_servers: [\n')).toMatch(/not valid YAML/);
    expect(refusal('proxy_engine: io_uring\n')).toMatch(/proxy_engine: .*\(got "io_uring"\)/);
  });

  it('takes the proxy and health engine choices', () => {
    for (const engine of ['auto', 'epoll', 'node']) {
      expect(parse(`proxy_engine: ${engine}\n`).config.proxy_engine).toBe(engine);
      expect(parse(`health_engine: ${engine}\n`).config.health_engine).toBe(engine);
    }
    expect(refusal('health_engine: threads\n')).toMatch(/health_engine: .*\(got "threads"\)/);
  });

  it('takes proxy_threads as a count or auto, and refuses anything else naming the key', () => {
    expect(parse('proxy_threads: 2\n').config.proxy_threads).toBe(2);
    expect(parse('proxy_threads: auto\n').config.proxy_threads).toBe('auto');
    expect(refusal('proxy_threads: 0\n')).toMatch(/proxy_threads: .*\(got 0\)/);
    expect(refusal('proxy_threads: many\n')).toMatch(/proxy_threads: .*\(got "many"\)/);
  });

  it('gives drain_timeout in ms (drainTimeoutMs), absent when the file has none', () => {
    expect(parse('drain_timeout: 2.5\n').config.drainTimeoutMs).toBe(2500);
    expect(parse('drain_timeout: 0.07\n').config.drainTimeoutMs).toBe(70);
    expect(parse('').config).not.toHaveProperty('drainTimeoutMs');
    expect(parse('drain_timeout: 3\n').config).not.toHaveProperty('drain_timeout');
    expect(refusal('drain_timeout: -1\n')).toMatch(/drain_timeout: durations are seconds >= 0/);
  });

  it('takes an empty file as an empty table', () => {
    expect(parse('').services).toEqual([]);
    expect(parse('# only a comment\n').services).toEqual([]);
  });

  it('hashes the table, not the text: comments and other sections do not count as a change', () => {
    const a = parse('virtual_servers:\n  - address: 10.0.0.1:80\n');
    const b = parse('# edited\ndrain_timeout: 3\ncontrol: { socket: /tmp/x.sock }\nvirtual_servers:\n  - address: 10.0.0.1:80  # same\n');
    const c = parse('virtual_servers:\n  - address: 10.0.0.1:81\n');
    expect(a.servicesHash).toBe(b.servicesHash);
    expect(a.servicesHash).not.toBe(c.servicesHash);
  });
});
