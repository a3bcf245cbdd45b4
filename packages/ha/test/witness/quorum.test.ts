import { describe, expect, it } from 'vitest';
import { GatewayBook, VoteBook, majority } from '../../src/witness/quorum.js';

describe('majority', () => {
  it('is more than half: 1 of 1, 2 of 2, 2 of 3, 3 of 4, 3 of 5', () => {
    expect([1, 2, 3, 4, 5].map(majority)).toEqual([1, 2, 2, 3, 3]);
  });
});

describe('VoteBook: lease rules on a fake clock', () => {
  const book = () => new VoteBook(['web1', 'web2', 'web3'], 500, 100);

  it('counts a granted vote from the moment its request was sent, for lease - guard', () => {
    const b = book();
    b.sent('web1', 51, 1, 1000);
    expect(b.answered('web1', 51, 1, true, 500, 1030)).toBe(true);
    expect(b.held(51, 1030)).toEqual(['web1']);
    expect(b.held(51, 1399)).toEqual(['web1']);
    // 1000 + 500 - 100: ends before the agent's lease (which started when it received the request, >= 1000).
    expect(b.held(51, 1400)).toEqual([]);
    expect(b.nextExpiry(51, 1030)).toBe(1400);
  });

  it('needs a majority of the electorate, not of the agents that answered', () => {
    const b = book();
    b.sent('web1', 51, 1, 0);
    b.answered('web1', 51, 1, true, 500, 1);
    expect(b.hasMajority(51, 2)).toBe(false);
    b.sent('web2', 51, 2, 0);
    b.answered('web2', 51, 2, false, 300, 1);
    expect(b.hasMajority(51, 2)).toBe(false);
    expect(b.answering(51, 2)).toEqual(['web1', 'web2']);
    b.sent('web3', 51, 3, 0);
    b.answered('web3', 51, 3, true, 500, 1);
    expect(b.hasMajority(51, 2)).toBe(true);
    expect(b.view(51, 'web2', 2)).toEqual({ vote: 'refused', remainingMs: 300 });
  });

  it('renewals extend the belief; a refusal ends it', () => {
    const b = book();
    b.sent('web1', 51, 1, 0);
    b.answered('web1', 51, 1, true, 500, 2);
    b.sent('web1', 51, 2, 300);
    b.answered('web1', 51, 2, true, 500, 302);
    expect(b.held(51, 650)).toEqual(['web1']);
    b.sent('web1', 51, 3, 600);
    b.answered('web1', 51, 3, false, 200, 602);
    expect(b.held(51, 603)).toEqual([]);
  });

  it('ignores answers to requests it never sent, answered already, or sent before a release', () => {
    const b = book();
    expect(b.answered('web1', 51, 9, true, 500, 1)).toBe(false);
    b.sent('web1', 51, 1, 0);
    b.released(51);
    // The agent granted before it read our release, then freed the lease: that grant must not count.
    expect(b.answered('web1', 51, 1, true, 500, 3)).toBe(false);
    expect(b.held(51, 4)).toEqual([]);
    b.sent('web1', 51, 2, 10);
    b.answered('web1', 51, 2, true, 500, 11);
    expect(b.answered('web1', 51, 2, true, 500, 12)).toBe(false);
  });

  it('voids every vote of an agent whose connection ended', () => {
    const b = book();
    for (const vrid of [51, 52]) {
      b.sent('web1', vrid, vrid, 0);
      b.answered('web1', vrid, vrid, true, 500, 1);
    }
    b.sent('web2', 51, 7, 0);
    b.dropAgent('web1');
    expect(b.held(51, 2)).toEqual([]);
    expect(b.held(52, 2)).toEqual([]);
    expect(b.answered('web2', 51, 7, true, 500, 2)).toBe(true);
  });

  it('never counts an agent outside the electorate', () => {
    const b = book();
    b.sent('intruder', 51, 1, 0);
    expect(b.answered('intruder', 51, 1, true, 500, 1)).toBe(false);
  });

  it("takes the agent's shorter lease when it granted less than asked", () => {
    const b = book();
    b.sent('web1', 51, 1, 0);
    b.answered('web1', 51, 1, true, 200, 1);
    expect(b.held(51, 99)).toEqual(['web1']);
    expect(b.held(51, 100)).toEqual([]);
  });

  it('refuses a guard that would leave no lease', () => {
    expect(() => new VoteBook(['a'], 100, 100)).toThrow(RangeError);
  });
});

describe('GatewayBook', () => {
  it('needs a majority of the gateways to have answered within the window; none configured = no condition', () => {
    const g = new GatewayBook(['192.0.2.1', '192.0.2.2', '192.0.2.3'], 500);
    expect(g.hasMajority(0)).toBe(false);
    g.replied('192.0.2.1', 100);
    g.replied('192.0.2.9', 100);
    expect(g.hasMajority(100)).toBe(false);
    g.replied('192.0.2.3', 200);
    expect(g.reached(600)).toEqual(['192.0.2.1', '192.0.2.3']);
    expect(g.hasMajority(600)).toBe(true);
    expect(g.hasMajority(601)).toBe(false);
    expect(new GatewayBook([], 500).hasMajority(0)).toBe(true);
  });
});
