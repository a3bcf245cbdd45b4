import { describe, expect, it } from 'vitest';
import type { VrrpAdvert } from '../../src/vrrp/codec.js';
import { VrrpStateMachine, type StateMachineOptions, type Transition } from '../../src/vrrp/state-machine.js';
import { FakeTimers } from '../fake-timers.js';

const PEER = '10.0.0.12';
const ME = '10.0.0.11';

function setup(overrides: Partial<StateMachineOptions> = {}) {
  const timers = new FakeTimers();
  const sent: { at: number; priority: number }[] = [];
  const transitions: Transition[] = [];
  const lower: number[] = [];
  const options: StateMachineOptions = {
    version: 3,
    priority: 100,
    intervalCs: 100,
    preempt: true,
    preemptDelayMs: 0,
    primaryAddress: ME,
    ...overrides,
  };
  const sm = new VrrpStateMachine(
    options,
    {
      send: (priority) => sent.push({ at: timers.now(), priority }),
      transition: (t) => transitions.push(t),
      lowerPriorityHeard: (_src, p) => lower.push(p),
    },
    timers,
  );
  return { sm, timers, sent, transitions, lower };
}

const advert = (priority: number, intervalCs = 100, version: 2 | 3 = 3): VrrpAdvert => ({
  version,
  vrid: 51,
  priority,
  intervalCs,
  addresses: ['10.0.0.100'],
});

describe('timer formulas (RFC 5798 §6.1, RFC 3768 §6.1)', () => {
  it('v3: Skew_Time = ((256-P) x MAI)/256 cs and Master_Down_Interval = 3 x MAI + skew', () => {
    const { sm } = setup({ priority: 100, intervalCs: 5 });
    expect(sm.skewMs()).toBeCloseTo((156 * 50) / 256, 9);
    expect(sm.masterDownMs()).toBeCloseTo(150 + (156 * 50) / 256, 9);
  });
  it('v2: Skew_Time = (256-P)/256 s, independent of the interval', () => {
    const { sm } = setup({ version: 2, priority: 100, intervalCs: 200 });
    expect(sm.skewMs()).toBeCloseTo((156 * 1000) / 256, 9);
    expect(sm.masterDownMs()).toBeCloseTo(6000 + (156 * 1000) / 256, 9);
  });
  it('the default advert_int 0.05 s keeps takeover after a crash under 200 ms at any priority', () => {
    const { sm } = setup({ priority: 1, intervalCs: 5 });
    expect(sm.masterDownMs()).toBeLessThan(200);
  });
});

describe('Initialize', () => {
  it('goes Backup and becomes Master when Master_Down_Timer fires', () => {
    const { sm, timers, sent, transitions } = setup();
    sm.start();
    expect(sm.state).toBe('BACKUP');
    expect(transitions[0]).toMatchObject({ from: 'INIT', to: 'BACKUP', reason: 'startup' });
    timers.advance(sm.masterDownMs() - 1);
    expect(sm.state).toBe('BACKUP');
    timers.advance(1);
    expect(sm.state).toBe('MASTER');
    expect(transitions[1]).toMatchObject({ from: 'BACKUP', to: 'MASTER', reason: 'master-down' });
    expect(sent).toEqual([{ at: sm.masterDownMs(), priority: 100 }]);
    expect(sm.masterAddress).toBe(ME);
  });
  it('the address owner (255) sends an advert and becomes Master at once', () => {
    const { sm, sent, transitions } = setup({ priority: 255 });
    sm.start();
    expect(sm.state).toBe('MASTER');
    expect(sent).toEqual([{ at: 0, priority: 255 }]);
    expect(transitions[0].reason).toBe('startup-owner');
  });
});

describe('Master', () => {
  function master(overrides: Partial<StateMachineOptions> = {}) {
    const s = setup(overrides);
    s.sm.start();
    s.timers.advance(s.sm.masterDownMs());
    s.sent.length = 0;
    return s;
  }
  it('sends an advert every Advertisement_Interval', () => {
    const { sm, timers, sent } = master({ intervalCs: 5 });
    timers.advance(200);
    expect(sent.length).toBe(4);
    expect(sent.every((s) => s.priority === 100)).toBe(true);
    expect(sm.state).toBe('MASTER');
  });
  it('answers a priority-0 advert with an advert at once and resets Adver_Timer', () => {
    const { sm, timers, sent } = master();
    timers.advance(500);
    sm.receive(advert(0), PEER);
    expect(sent).toEqual([{ at: timers.now(), priority: 100 }]);
    timers.advance(999);
    expect(sent.length).toBe(1);
    timers.advance(1);
    expect(sent.length).toBe(2);
  });
  it('goes Backup on a higher priority and adopts its interval (v3)', () => {
    const { sm, timers, transitions } = master();
    sm.receive(advert(150, 20), PEER);
    expect(sm.state).toBe('BACKUP');
    expect(transitions.at(-1)).toMatchObject({ from: 'MASTER', to: 'BACKUP', reason: 'higher-priority' });
    expect(sm.masterAdverInterval).toBe(20);
    expect(sm.masterAddress).toBe(PEER);
    expect(timers.size).toBe(1);
  });
  it('breaks a priority tie on the higher primary address, compared unsigned in network order', () => {
    const a = master({ primaryAddress: '10.0.0.200' });
    a.sm.receive(advert(100), '10.0.0.12');
    expect(a.sm.state).toBe('MASTER');
    const b = master({ primaryAddress: '10.0.0.12' });
    b.sm.receive(advert(100), '10.0.0.200');
    expect(b.sm.state).toBe('BACKUP');
    const c = master({ primaryAddress: '127.0.0.1' });
    c.sm.receive(advert(100), '128.0.0.1');
    expect(c.sm.state).toBe('BACKUP');
  });
  it('answers a lower priority with an advert (RFC 9568 change 5) and stays Master', () => {
    const { sm, sent, lower } = master();
    sm.receive(advert(50), PEER);
    expect(sm.state).toBe('MASTER');
    expect(sent).toEqual([{ at: expect.any(Number), priority: 100 }]);
    expect(lower).toEqual([50]);
  });
  it('can be told not to answer a lower priority (lower_prio_no_advert)', () => {
    const { sm, sent } = master({ lowerPriorityAdvert: false });
    sm.receive(advert(50), PEER);
    expect(sent).toEqual([]);
  });
  it('sends one advert of its own before yielding to a higher priority (higher_prio_send_advert), only when told', () => {
    const on = master({ higherPriorityAdvert: true });
    on.sm.receive(advert(200), PEER);
    expect(on.sm.state).toBe('BACKUP');
    expect(on.sent).toEqual([{ at: expect.any(Number), priority: 100 }]);
    const off = master();
    off.sm.receive(advert(200), PEER);
    expect(off.sm.state).toBe('BACKUP');
    expect(off.sent).toEqual([]);
  });
  it('sends priority 0 on shutdown', () => {
    const { sm, sent, transitions, timers } = master();
    sm.stop();
    expect(sent).toEqual([{ at: timers.now(), priority: 0 }]);
    expect(sm.state).toBe('STOP');
    expect(transitions.at(-1)?.reason).toBe('shutdown');
    expect(timers.size).toBe(0);
  });
});

describe('Backup', () => {
  function backup(overrides: Partial<StateMachineOptions> = {}) {
    const s = setup(overrides);
    s.sm.start();
    return s;
  }
  it('resets Master_Down_Timer on every advert from an equal or higher priority', () => {
    const { sm, timers } = backup();
    for (let i = 0; i < 10; i++) {
      timers.advance(1000);
      sm.receive(advert(150), PEER);
    }
    expect(sm.state).toBe('BACKUP');
    expect(sm.masterAddress).toBe(PEER);
  });
  it('on priority 0 sets Master_Down_Timer to Skew_Time for fast takeover', () => {
    const { sm, timers } = backup();
    sm.receive(advert(150), PEER);
    sm.receive(advert(0), PEER);
    timers.advance(sm.skewMs() - 0.01);
    expect(sm.state).toBe('BACKUP');
    timers.advance(0.01);
    expect(sm.state).toBe('MASTER');
  });
  it('adopts the master interval (v3) in Master_Down_Interval', () => {
    const { sm, timers } = backup({ intervalCs: 100 });
    sm.receive(advert(150, 10), PEER);
    expect(sm.masterAdverInterval).toBe(10);
    timers.advance(300 + (156 * 100) / 256);
    expect(sm.state).toBe('MASTER');
  });
  it('v2 keeps its own interval', () => {
    const { sm } = backup({ version: 2, intervalCs: 100 });
    sm.receive(advert(150, 300, 2), PEER);
    expect(sm.masterDownMs()).toBeCloseTo(3000 + (156 * 1000) / 256, 6);
  });
  it('preempts a lower-priority master by discarding its adverts', () => {
    const { sm, timers } = backup({ priority: 200 });
    sm.receive(advert(100), PEER);
    timers.advance(500);
    sm.receive(advert(100), PEER);
    timers.advance(sm.masterDownMs() - 500);
    expect(sm.state).toBe('MASTER');
  });
  it('does not preempt with nopreempt', () => {
    const { sm, timers } = backup({ priority: 200, preempt: false });
    for (let i = 0; i < 10; i++) {
      sm.receive(advert(100), PEER);
      timers.advance(1000);
    }
    expect(sm.state).toBe('BACKUP');
  });
  it('preempt_delay accepts lower adverts until the delay has passed, then preempts', () => {
    const { sm, timers } = backup({ priority: 200, preemptDelayMs: 5000 });
    for (let t = 0; t < 5000; t += 1000) {
      sm.receive(advert(100), PEER);
      timers.advance(1000);
    }
    expect(sm.state).toBe('BACKUP');
    sm.receive(advert(100), PEER);
    timers.advance(sm.masterDownMs());
    expect(sm.state).toBe('MASTER');
  });
  it('goes Initialize -> Stop on shutdown without sending', () => {
    const { sm, sent, timers } = backup();
    sm.stop();
    expect(sm.state).toBe('STOP');
    expect(sent).toEqual([]);
    expect(timers.size).toBe(0);
  });
});

describe('FAULT (keepalived)', () => {
  it('a master entering FAULT sends priority 0; clearing it restarts as Backup', () => {
    const { sm, timers, sent, transitions } = setup();
    sm.start();
    timers.advance(sm.masterDownMs());
    sm.setFault(true);
    expect(sm.state).toBe('FAULT');
    expect(sent.at(-1)?.priority).toBe(0);
    expect(timers.size).toBe(0);
    sm.receive(advert(50), PEER);
    expect(sm.state).toBe('FAULT');
    sm.setFault(false);
    expect(sm.state).toBe('BACKUP');
    expect(transitions.at(-1)).toMatchObject({ from: 'FAULT', to: 'BACKUP', reason: 'fault-cleared' });
  });
  it('starting while faulted enters FAULT', () => {
    const { sm } = setup();
    sm.setFault(true);
    sm.start();
    expect(sm.state).toBe('FAULT');
  });
});

describe('operator actions', () => {
  it('resign(): priority 0 advert, Backup, and no preemption back while held', () => {
    const { sm, timers, sent, transitions } = setup({ priority: 200 });
    sm.start();
    timers.advance(sm.masterDownMs());
    expect(sm.resign()).toBe(true);
    expect(sent.at(-1)?.priority).toBe(0);
    expect(transitions.at(-1)).toMatchObject({ from: 'MASTER', to: 'BACKUP', reason: 'resign' });
    for (let i = 0; i < 10; i++) {
      timers.advance(900);
      sm.receive(advert(100), PEER);
    }
    expect(sm.state).toBe('BACKUP');
    sm.release();
    sm.receive(advert(100), PEER);
    timers.advance(sm.masterDownMs());
    expect(sm.state).toBe('MASTER');
  });
  it('resign() on a backup is refused without side effects', () => {
    const { sm } = setup();
    sm.start();
    expect(sm.resign()).toBe(false);
    expect(sm.holds).toEqual({ resign: false, takeover: false });
  });
  it('resign() without a peer: the down timer still brings us back as master', () => {
    const { sm, timers } = setup();
    sm.start();
    timers.advance(sm.masterDownMs());
    sm.resign();
    timers.advance(sm.masterDownMs());
    expect(sm.state).toBe('MASTER');
  });
  it('takeover(): backup becomes master now, advertising above the running master until release()', () => {
    const { sm, sent, transitions } = setup({ priority: 100 });
    sm.start();
    sm.receive(advert(200), PEER);
    expect(sm.takeover()).toBe(true);
    expect(sm.state).toBe('MASTER');
    expect(transitions.at(-1)?.reason).toBe('takeover');
    expect(sent.at(-1)?.priority).toBe(201);
    // The old master, now backup, goes on hearing 201 >= 200 and stays backup; we ignore its last adverts.
    sm.receive(advert(200), PEER);
    expect(sm.state).toBe('MASTER');
    sm.release();
    expect(sm.advertisedPriority).toBe(100);
    sm.receive(advert(200), PEER);
    expect(sm.state).toBe('BACKUP');
  });
  it('a tracker lowering the priority ends a takeover hold', () => {
    const { sm } = setup({ priority: 100 });
    sm.start();
    sm.receive(advert(200), PEER);
    sm.takeover();
    sm.setPriority(90);
    expect(sm.holds.takeover).toBe(false);
    expect(sm.advertisedPriority).toBe(90);
  });
  it('takeover() caps at 255 and refuses outside Backup', () => {
    const { sm, sent } = setup();
    expect(sm.takeover()).toBe(false);
    sm.start();
    sm.receive(advert(255), PEER);
    sm.takeover();
    expect(sent.at(-1)?.priority).toBe(255);
  });
});

describe('preempt_delay from startup (keepalived)', () => {
  it('accepts a lower master within the delay after startup, and preempts one first heard after it', () => {
    const a = setup({ priority: 200, preemptDelayMs: 2000 });
    a.sm.start();
    a.timers.advance(1000);
    a.sm.receive(advert(100), PEER);
    a.timers.advance(a.sm.masterDownMs() - 1);
    expect(a.sm.state).toBe('BACKUP');
    const b = setup({ priority: 200, preemptDelayMs: 2000 });
    b.sm.start();
    b.timers.advance(2500);
    b.sm.receive(advert(100), PEER);
    b.timers.advance(b.sm.masterDownMs() - 2500);
    expect(b.sm.state).toBe('MASTER');
  });
});

describe('remaining transitions', () => {
  it('BACKUP -> FAULT (silent), FAULT -> STOP, and an owner leaves FAULT straight to MASTER', () => {
    const { sm, sent, transitions } = setup();
    sm.start();
    sm.setFault(true);
    expect(transitions.at(-1)).toMatchObject({ from: 'BACKUP', to: 'FAULT', reason: 'fault' });
    expect(sent).toEqual([]);
    sm.stop();
    expect(transitions.at(-1)).toMatchObject({ from: 'FAULT', to: 'STOP', reason: 'shutdown' });
    const owner = setup({ priority: 255 });
    owner.sm.start();
    owner.sm.setFault(true);
    owner.sm.setFault(false);
    expect(owner.transitions.map((t) => `${t.from}>${t.to}:${t.reason}`)).toEqual([
      'INIT>MASTER:startup-owner',
      'MASTER>FAULT:fault',
      'FAULT>MASTER:fault-cleared',
    ]);
    expect(owner.sent.map((s) => s.priority)).toEqual([255, 0, 255]);
  });
  it('an owner master yields only to another owner with a higher address', () => {
    const { sm } = setup({ priority: 255, primaryAddress: '10.0.0.11' });
    sm.start();
    sm.receive(advert(254), PEER);
    expect(sm.state).toBe('MASTER');
    sm.receive(advert(255), '10.0.0.12');
    expect(sm.state).toBe('BACKUP');
  });
});
