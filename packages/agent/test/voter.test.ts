import { describe, expect, it } from 'vitest';
import { Voter } from '../src/voter.js';

describe('Voter: one lease per vrid, on a fake clock', () => {
  const setup = () => {
    let t = 0;
    return { v: new Voter(() => t), at: (ms: number) => (t = ms) };
  };

  it('grants a free vrid, refuses another dispatcher while the lease runs, and grants it once expired', () => {
    const { v, at } = setup();
    expect(v.request('lvs1:9182', 51, 500)).toEqual({ granted: true, remainingMs: 500 });
    at(200);
    expect(v.request('lvs2:9182', 51, 500)).toEqual({ granted: false, remainingMs: 300 });
    at(499);
    expect(v.request('lvs2:9182', 51, 500).granted).toBe(false);
    at(500);
    expect(v.request('lvs2:9182', 51, 500)).toEqual({ granted: true, remainingMs: 500 });
    expect(v.request('lvs1:9182', 51, 500).granted).toBe(false);
  });

  it('lets the holder renew, keeps vrids apart', () => {
    const { v, at } = setup();
    v.request('a', 51, 500);
    at(400);
    expect(v.request('a', 51, 500).granted).toBe(true);
    at(800);
    expect(v.request('b', 51, 500)).toEqual({ granted: false, remainingMs: 100 });
    expect(v.request('b', 52, 500).granted).toBe(true);
    expect(v.leasesNow()).toEqual([
      { vrid: 51, holder: 'a', remainingMs: 100 },
      { vrid: 52, holder: 'b', remainingMs: 500 },
    ]);
  });

  it("frees a lease only on its holder's release, and all of a holder's leases when its side closed the connection", () => {
    const { v } = setup();
    v.request('a', 51, 500);
    v.request('a', 52, 500);
    expect(v.release('b', 51)).toBe(false);
    expect(v.request('b', 51, 500).granted).toBe(false);
    expect(v.release('a', 51)).toBe(true);
    expect(v.request('b', 51, 500).granted).toBe(true);
    expect(v.releaseAll('a')).toEqual([52]);
    expect(v.request('b', 52, 500).granted).toBe(true);
  });

  it('clamps the requested lease to the protocol bounds', () => {
    const { v } = setup();
    expect(v.request('a', 51, 1).remainingMs).toBe(20);
    expect(v.request('a', 52, 10 ** 9).remainingMs).toBe(60_000);
  });
});
