import { describe, expect, it } from 'vitest';
import { createSchedDest } from '../../src/scheduler/dest.js';
import {
  bindConnection,
  connOverhead,
  connectionBecameActive,
  connectionBecameInactive,
  onThresholdsEdited,
  setThresholds,
  totalConns,
  unbindConnection,
} from '../../src/scheduler/overload.js';

const rs = (upper: number, lower = 0) => createSchedDest({ address: '10.0.0.1', port: 80, weight: 1, upperThreshold: upper, lowerThreshold: lower });

describe('overload flag (ip_vs_conn.c ip_vs_bind_dest / ip_vs_unbind_dest, ip_vs_ctl.c __ip_vs_update_dest)', () => {
  it('ip_vs_bind_dest: OVERLOAD is set when u_threshold != 0 and total >= u_threshold', () => {
    const d = rs(3);
    bindConnection(d, 'active');
    bindConnection(d, 'inactive');
    expect(d.overloaded).toBe(false);
    bindConnection(d, 'active');
    expect(d.overloaded).toBe(true);
    expect([d.activeConns, d.inactiveConns, totalConns(d), connOverhead(d)]).toEqual([2, 1, 3, 513]);
  });

  it('ip_vs_unbind_dest: without l_threshold the flag clears when total * 4 < u_threshold * 3', () => {
    const d = rs(4);
    for (let i = 0; i < 4; i++) bindConnection(d);
    expect(d.overloaded).toBe(true);
    unbindConnection(d, true); // 3: 12 < 12 is false
    expect(d.overloaded).toBe(true);
    unbindConnection(d, true); // 2: 8 < 12
    expect(d.overloaded).toBe(false);
  });

  it('ip_vs_unbind_dest: with l_threshold the flag clears only below it', () => {
    const d = rs(4, 2);
    for (let i = 0; i < 4; i++) bindConnection(d, 'inactive');
    unbindConnection(d, false);
    unbindConnection(d, false); // 2 < 2 is false
    expect(d.overloaded).toBe(true);
    unbindConnection(d, 'inactive'); // 1
    expect(d.overloaded).toBe(false);
  });

  it('ip_vs_dest_totalconns: templates count as persistconns only, but binding one still runs the check', () => {
    const d = rs(2);
    bindConnection(d, 'active');
    bindConnection(d, 'template');
    expect(d.overloaded).toBe(false);
    expect(d.persistConns).toBe(1);
    bindConnection(d, 'active');
    expect(d.overloaded).toBe(true);
    unbindConnection(d, 'template');
    expect(d.overloaded).toBe(true); // total 2: 8 < 6 false
  });

  it('no thresholds: the flag is never set', () => {
    const d = rs(0);
    for (let i = 0; i < 100; i++) bindConnection(d);
    expect(d.overloaded).toBe(false);
  });

  it('state changes move counts between active and inactive without touching the flag', () => {
    const d = rs(0);
    bindConnection(d, 'inactive');
    connectionBecameActive(d);
    expect([d.activeConns, d.inactiveConns]).toEqual([1, 0]);
    connectionBecameInactive(d);
    expect([d.activeConns, d.inactiveConns]).toEqual([0, 1]);
  });

  it('__ip_vs_update_dest: an edit clears OVERLOAD if the new u_threshold is 0 or larger, not if smaller or equal', () => {
    const d = rs(2);
    bindConnection(d);
    bindConnection(d);
    expect(d.overloaded).toBe(true);
    setThresholds(d, 2, 0);
    expect(d.overloaded).toBe(true);
    setThresholds(d, 1, 0);
    expect(d.overloaded).toBe(true);
    setThresholds(d, 5, 0);
    expect(d.overloaded).toBe(false);
    bindConnection(d, 'active');
    bindConnection(d, 'active');
    bindConnection(d, 'active'); // 5
    expect(d.overloaded).toBe(true);
    d.upperThreshold = 0;
    onThresholdsEdited(d, 5);
    expect(d.overloaded).toBe(false);
  });
});
