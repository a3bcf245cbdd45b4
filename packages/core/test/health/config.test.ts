import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { checksConfigSchema, parseAddressPort, parseChecks } from '../../src/health/config.js';
import { parseStatusCodes, statusAccepted } from '../../src/health/status-codes.js';
import { buildHealthService } from '../../src/health/spec.js';
import { parseVirtualService } from '../../src/model/schema.js';

function refused(input: unknown): ValidationError {
  try {
    parseChecks(input, 'real_servers.0.checks');
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error('accepted');
}

describe('checks config', () => {
  it('fills in keepalived defaults per checker kind', () => {
    const [tcp, http, ssl, misc] = parseChecks([
      { tcp_check: {} },
      { http_get: { path: '/health' } },
      { ssl_get: { path: '/', sni_name: 'www.example.test', enable_sni: true } },
      { misc_check: { misc_path: '/bin/true' } },
    ]);
    expect(tcp).toMatchObject({ kind: 'tcp', connectTimeoutMs: 5000, retry: 1, delayBeforeRetryMs: 1000, rise: 1, fall: 1 });
    expect(tcp!.delayLoopMs).toBeUndefined();
    expect(http).toMatchObject({ kind: 'http', path: '/health', statusCodes: [[200, 299]], retry: 1, delayBeforeRetryMs: 3000 });
    expect(ssl).toMatchObject({ kind: 'https', delayBeforeRetryMs: 3000, enableSni: true, sniName: 'www.example.test', verify: false });
    expect(misc).toMatchObject({ kind: 'misc', retry: 0, dynamic: false, path: '/bin/true' });
    expect((misc as { timeoutMs?: number }).timeoutMs).toBeUndefined();
  });

  it('takes seconds with fractions, and the deprecated nb_get_retry', () => {
    const [c] = parseChecks([
      {
        http_get: { status_code: '200-299 301 400-404', digest: 'D41D8CD98F00B204E9800998ECF8427E' },
        connect_timeout: 0.25,
        nb_get_retry: 4,
        delay_before_retry: 0.05,
        delay_loop: 0.1,
        rise: 2,
        fall: 3,
        warmup: 0.5,
      },
    ]);
    expect(c).toMatchObject({
      connectTimeoutMs: 250,
      retry: 4,
      delayBeforeRetryMs: 50,
      delayLoopMs: 100,
      warmupMs: 500,
      rise: 2,
      fall: 3,
      statusCodes: [
        [200, 299],
        [301, 301],
        [400, 404],
      ],
      digest: 'd41d8cd98f00b204e9800998ecf8427e',
    });
  });

  it('is exported as a zod schema that defaults to no checks', () => {
    expect(checksConfigSchema.parse(undefined)).toEqual([]);
  });

  it.each([
    [[{ http_get: { status_code: '200-2x9' } }], 'real_servers.0.checks.0.http_get.status_code', '200-2x9'],
    [[{ http_get: { status_code: [200, 700] } }], 'real_servers.0.checks.0.http_get.status_code', [200, 700]],
    [[{ http_get: { digest: 'abc' } }], 'real_servers.0.checks.0.http_get.digest', 'abc'],
    [[{ tcp_check: { connect_port: 70000 } }], 'real_servers.0.checks.0.tcp_check.connect_port', 70000],
    [[{ tcp_check: { connect_ip: 'example' } }], 'real_servers.0.checks.0.tcp_check.connect_ip', 'example'],
    [[{ tcp_check: {}, connect_timeout: 0 }], 'real_servers.0.checks.0.connect_timeout', 0],
    [[{ tcp_check: {}, retry: -1 }], 'real_servers.0.checks.0.retry', -1],
    [[{ tcp_check: {}, rise: 0 }], 'real_servers.0.checks.0.rise', 0],
    [[{ tcp_check: {} }, { misc_check: {} }], 'real_servers.0.checks.1.misc_check.misc_path', undefined],
    [[{ http_get: { path: 'health' } }], 'real_servers.0.checks.0.http_get.path', 'health'],
    [[{ tcp_check: {}, conect_timeout: 1 }], 'real_servers.0.checks.0.conect_timeout', 1],
  ])('refuses %j naming the field and the value', (input, field, value) => {
    const e = refused(input);
    expect(e.code).toBe('VSD_ERR_VALIDATION');
    expect(e.details.field).toBe(field);
    expect(e.details.value).toEqual(value);
    expect(e.message).toContain(field);
  });

  it('hints at the right name of a misspelt key', () => {
    expect(refused([{ tcp_check: {}, conect_timeout: 1 }]).message).toBe(
      'real_servers.0.checks.0.conect_timeout: unknown key, did you mean connect_timeout? (got 1)',
    );
    expect(refused([{ http_get: { status_codes: 200 } }]).message).toContain('http_get.status_codes: unknown key, did you mean status_code?');
    expect(refused([{ http_get: {}, path: '/' }]).message).toContain('checks.0.path: unknown key, it belongs inside the checker block');
    expect(refused([{ tcp_check: { sni_name: 'x' } }]).message).toBe('real_servers.0.checks.0.tcp_check.sni_name: unknown key (got "x")');
  });

  it('refuses a check with no kind or two kinds', () => {
    expect(refused([{ retry: 1 }]).message).toMatch(/real_servers\.0\.checks\.0: a check has exactly one of .* \(got none\)/);
    expect(refused([{ tcp_check: {}, http_get: {} }]).message).toMatch(/got tcp_check, http_get/);
  });
});

describe('status codes', () => {
  it('parses keepalived lists and ranges', () => {
    expect(parseStatusCodes('200-299 400-499 503')).toEqual([
      [200, 299],
      [400, 499],
      [503, 503],
    ]);
    expect(parseStatusCodes([200, '301,302'])).toEqual([
      [200, 200],
      [301, 301],
      [302, 302],
    ]);
    expect(statusAccepted(204, parseStatusCodes('200-299'))).toBe(true);
    expect(statusAccepted(503, parseStatusCodes('200-299 400-499'))).toBe(false);
    expect(() => parseStatusCodes('299-200')).toThrow(/reversed/);
  });
});

describe('virtual server health options', () => {
  const service = parseVirtualService({
    protocol: 'tcp',
    address: '10.0.0.1',
    port: 80,
    realServers: [
      { address: '10.0.0.2', port: 80, forwarding: 'masq', weight: 3 },
      { address: '10.0.0.3', port: 80, forwarding: 'masq' },
    ],
  });

  it('builds the monitor spec with keepalived defaults', () => {
    const checks = parseChecks([{ tcp_check: {} }]);
    const spec = buildHealthService({ service, checks: { '10.0.0.2:80': checks } });
    expect(spec).toMatchObject({
      key: 'tcp 10.0.0.1:80',
      delayLoopMs: 60_000,
      quorum: 1,
      hysteresis: 0,
      sorryServer: null,
      inhibitOnFailure: false,
      alpha: false,
      omega: false,
    });
    expect(spec.realServers).toEqual([
      { address: '10.0.0.2', port: 80, weight: 3, checks },
      { address: '10.0.0.3', port: 80, weight: 1, checks: [] },
    ]);
  });

  it('parses the sorry server with the service forwarding method', () => {
    const spec = buildHealthService({ service, options: { sorry_server: '10.0.0.9:8080', quorum: 2, hysteresis: 1, delay_loop: 0.5, alpha: true } });
    expect(spec.sorryServer).toMatchObject({ address: '10.0.0.9', port: 8080, forwarding: 'masq', weight: 1 });
    expect(spec).toMatchObject({ quorum: 2, hysteresis: 1, delayLoopMs: 500, alpha: true });
    expect(parseAddressPort('[2001:db8::1]:80', 'x')).toEqual({ address: '2001:db8::1', port: 80 });
    expect(parseAddressPort('10.0.0.9 80', 'x')).toEqual({ address: '10.0.0.9', port: 80 });
  });

  it('refuses bad options naming the field', () => {
    expect(() => buildHealthService({ service, options: { sorry_server: 'nowhere' }, prefix: 'virtual_servers.0' })).toThrow(
      /virtual_servers\.0\.sorry_server: expected ADDRESS:PORT .*\(got "nowhere"\)/,
    );
    expect(() => buildHealthService({ service, options: { quorum: -1 }, prefix: 'virtual_servers.0' })).toThrow(/virtual_servers\.0\.quorum/);
    expect(() => buildHealthService({ service, options: { delay_loop: 'fast' }, prefix: 'virtual_servers.0' })).toThrow(/virtual_servers\.0\.delay_loop/);
  });
});
