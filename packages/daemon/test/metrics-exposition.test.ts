/** A misnamed metric or label is a bug in vsd: an InternalError at the first scrape in the tests, never bad text. */
import { describe, expect, it } from 'vitest';
import { Exposition, MetricFamily } from '../src/metrics/exposition.js';

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
};

describe('metrics exposition invariants', () => {
  it('refuses bad metric and label names, counters without _total and a type clash', () => {
    expect(codeOf(() => new MetricFamily('vsd-bad', 'gauge', 'x'))).toBe('VSD_ERR_INTERNAL');
    expect(codeOf(() => new MetricFamily('vsd_connections', 'counter', 'x'))).toBe('VSD_ERR_INTERNAL');
    const f = new MetricFamily('vsd_up', 'gauge', 'x');
    expect(codeOf(() => f.add({ __reserved: 'a' }, 1))).toBe('VSD_ERR_INTERNAL');
    const e = new Exposition();
    e.gauge('vsd_x', 'x');
    expect(codeOf(() => e.counter('vsd_x', 'x'))).toBe('VSD_ERR_INTERNAL');
    expect(() => new MetricFamily('vsd_x', 'gauge', 'x')).not.toThrow();
  });
});
