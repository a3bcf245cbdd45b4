import { describe, expect, it } from 'vitest';
import { agentMessageSchema, helloSchema, mountProblem, parseFrame, reportSchema } from '../../src/agents/protocol.js';
import { mount, report } from './fixtures.js';

describe('agent protocol frames', () => {
  it('accepts a valid report and canonicalises hello addresses', () => {
    expect(parseFrame(reportSchema, JSON.stringify(report()))).toEqual({ ok: true, msg: report() });
    const hello = { v: 1, type: 'hello', agent: 'web1', addresses: ['2001:DB8:0:0::1', '10.0.0.1'], nonce: 'x'.repeat(44), interval: 1 };
    const r = parseFrame(helloSchema, Buffer.from(JSON.stringify(hello)));
    expect(r.ok && r.msg.addresses).toEqual(['2001:db8::1', '10.0.0.1']);
  });

  it('refuses other versions, unknown fields, non-JSON and out-of-range values, naming the field', () => {
    expect(parseFrame(reportSchema, JSON.stringify({ ...report(), v: 2 }))).toEqual({ ok: false, reason: 'unsupported protocol version 2' });
    expect(parseFrame(reportSchema, JSON.stringify({ ...report(), extra: 1 })).ok).toBe(false);
    expect(parseFrame(reportSchema, '{nope')).toEqual({ ok: false, reason: 'not JSON' });
    const bad = parseFrame(reportSchema, JSON.stringify(report({ load: { ...report().load, weightPct: 140 } })));
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.reason).toMatch(/^load\.weightPct: /);
    const badHash = parseFrame(reportSchema, JSON.stringify(report({ mounts: [mount({ sentinel: 'XYZ' })] })));
    expect(!badHash.ok && badHash.reason).toMatch(/^mounts\.0\.sentinel/);
  });

  it('regression (fuzz): a deeply nested or long version is refused, not thrown (JSON.stringify overflowed the stack)', () => {
    const deep = `{"v":${'['.repeat(8000)}${']'.repeat(8000)},"type":"hello"}`;
    expect(parseFrame(helloSchema, deep)).toEqual({ ok: false, reason: 'unsupported protocol version an array' });
    expect(parseFrame(helloSchema, JSON.stringify({ v: 'x'.repeat(5000) }))).toEqual({ ok: false, reason: `unsupported protocol version "${'x'.repeat(20)}"` });
  });

  it('dispatches on type', () => {
    const r = agentMessageSchema.safeParse({ v: 1, type: 'auth', proof: 'abc' });
    expect(r.success).toBe(true);
    expect(agentMessageSchema.safeParse({ v: 1, type: 'bogus' }).success).toBe(false);
  });
});

describe('mountProblem', () => {
  it('is null for a healthy mount only, not for one not probed yet', () => {
    expect(mountProblem(mount())).toBeNull();
    expect(mountProblem(mount({ responsive: null, writable: null, sentinel: null }))).toBe('/srv/www not probed yet');
  });

  it('names each kind of breakage', () => {
    expect(mountProblem(mount({ present: false }))).toBe('/srv/www is not mounted');
    expect(mountProblem(mount({ fstype: 'tmpfs' }))).toBe('/srv/www has filesystem type tmpfs, expected nfs4');
    expect(mountProblem(mount({ source: 'other:/x' }))).toBe('/srv/www is mounted from other:/x, expected nfs1:/export');
    expect(mountProblem(mount({ responsive: false, error: 'timed out after 2000 ms' }))).toBe('/srv/www does not respond (timed out after 2000 ms)');
    expect(mountProblem(mount({ readOnly: true }))).toBe('/srv/www is mounted read-only');
    expect(mountProblem(mount({ writable: false }))).toBe('/srv/www is not writable');
    expect(mountProblem(mount({ sentinel: null }))).toBe('/srv/www: sentinel unreadable');
    expect(mountProblem(mount({ expectedFstype: null, expectedSource: null, fstype: 'xfs', source: '/dev/sda1' }))).toBeNull();
  });
});
