import { describe, expect, it } from 'vitest';
import { CheckState } from '../../src/health/check-state.js';
import { initialQuorumState, nextQuorumState } from '../../src/health/quorum.js';

const OK = { ok: true, reason: 'ok' };
const KO = { ok: false, reason: 'refused' };

function feed(state: CheckState, results: boolean[]): string[] {
  return results.map((r) => {
    const o = state.record(r ? OK : KO, 0, 0);
    return `${o.changed ? (state.up ? 'UP' : 'DOWN') : state.up ? 'up' : 'down'}${o.retrying ? '+retry' : ''}`;
  });
}

describe('CheckState (keepalived retry logic with rise/fall)', () => {
  it('retries a failure `retry` times before it counts, as tcp_epilog', () => {
    const s = new CheckState({ rise: 1, fall: 1, retry: 2, initiallyUp: true });
    expect(feed(s, [false, false, false])).toEqual(['up+retry', 'up+retry', 'DOWN']);
    expect(s.failures).toBe(3);
  });

  it('resets the retries on any success', () => {
    const s = new CheckState({ rise: 1, fall: 1, retry: 1, initiallyUp: true });
    expect(feed(s, [false, true, false, true, false, false])).toEqual(['up+retry', 'up', 'up+retry', 'up', 'up+retry', 'DOWN']);
  });

  it('does not retry while down; rise successes bring it up', () => {
    const s = new CheckState({ rise: 3, fall: 1, retry: 1, initiallyUp: false });
    expect(feed(s, [false, true, true, false, true, true, true])).toEqual(['down', 'down', 'down', 'down', 'down', 'down', 'UP']);
  });

  it('needs fall counted failures in a row to go down, so a short flap changes nothing', () => {
    const s = new CheckState({ rise: 2, fall: 2, retry: 0, initiallyUp: true });
    expect(feed(s, [false, true, false, true])).toEqual(['up', 'up', 'up', 'up']);
    expect(feed(s, [false, false])).toEqual(['up', 'DOWN']);
    expect(feed(s, [true, false, true, true])).toEqual(['down', 'down', 'down', 'UP']);
  });

  it('keeps the last dynamic weight until another is reported', () => {
    const s = new CheckState({ rise: 1, fall: 1, retry: 0, initiallyUp: true });
    s.record({ ok: true, reason: 'exit 10', weight: 8 }, 0, 0);
    s.record({ ok: true, reason: 'exit 0' }, 0, 0);
    expect(s.weight).toBe(8);
  });
});

describe('quorum with hysteresis (ipwrapper.c update_quorum_state)', () => {
  const rule = { quorum: 4, hysteresis: 1 };
  it('is gained at quorum + hysteresis and lost below quorum - hysteresis', () => {
    expect(nextQuorumState(false, 4, rule)).toBe(false);
    expect(nextQuorumState(false, 5, rule)).toBe(true);
    expect(nextQuorumState(true, 3, rule)).toBe(true);
    expect(nextQuorumState(true, 2, rule)).toBe(false);
  });
  it('is lost at weight_sum 0 whatever the quorum', () => {
    expect(nextQuorumState(true, 0, { quorum: 0, hysteresis: 0 })).toBe(false);
    expect(nextQuorumState(false, 0, { quorum: 0, hysteresis: 0 })).toBe(false);
  });
  it('starts without hysteresis', () => {
    expect(initialQuorumState(4, rule)).toBe(true);
    expect(initialQuorumState(3, rule)).toBe(false);
  });
});
