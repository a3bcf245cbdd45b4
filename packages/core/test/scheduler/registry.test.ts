import { describe, expect, it } from 'vitest';
import { SchedulerNotFoundError, ValidationError } from '../../src/errors.js';
import { KNOWN_SCHEDULERS } from '../../src/model/constants.js';
import { SCHEDULER_NAMES, createScheduler, validateSchedFlags } from '../../src/scheduler/index.js';
import { dests, seq } from './helpers.js';

describe('scheduler registry', () => {
  it('implements every IPVS scheduler the model knows', () => {
    expect([...SCHEDULER_NAMES].sort()).toEqual([...KNOWN_SCHEDULERS].sort());
    for (const name of SCHEDULER_NAMES) expect(createScheduler(name).name).toBe(name);
  });

  it('an unknown name throws SchedulerNotFoundError (VSD_ERR_SCHEDULER_NOT_FOUND, ENOENT)', () => {
    let err: unknown;
    try {
      createScheduler('nosuch');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SchedulerNotFoundError);
    expect(err).toMatchObject({ code: 'VSD_ERR_SCHEDULER_NOT_FOUND', errno: 'ENOENT' });
    expect(() => createScheduler('toString')).toThrow(SchedulerNotFoundError);
  });

  it('ipvsadm -b: sh-* only with sh, mh-* only with mh, flag-N with any: "incompatible scheduler flag"', () => {
    expect(() => validateSchedFlags('sh', ['sh-port', 'sh-fallback', 'flag-3'])).not.toThrow();
    expect(() => validateSchedFlags('mh', ['mh-port', 'mh-fallback'])).not.toThrow();
    expect(() => validateSchedFlags('wlc', ['flag-1', 'flag-2', 'flag-3'])).not.toThrow();
    expect(() => validateSchedFlags('wlc', ['sh-port'])).toThrow(/incompatible scheduler flag/);
    expect(() => validateSchedFlags('sh', ['mh-fallback'])).toThrow(ValidationError);
    expect(() => validateSchedFlags('mh', ['sh-fallback'])).toThrow(/incompatible scheduler flag/);
    expect(() => createScheduler('rr', { flags: ['mh-port'] })).toThrow(/incompatible scheduler flag/);
  });

  it('every scheduler: empty list, all quiesced or all overloaded -> no destination; weight 0 never picked', () => {
    for (const name of SCHEDULER_NAMES) {
      const s = createScheduler(name, { flags: name === 'sh' ? ['sh-fallback'] : name === 'mh' ? ['mh-fallback'] : [] });
      expect(seq(s, 1), name).toBe('-');
      s.update(dests({ A: 0, B: 0 }));
      expect(seq(s, 3), name).toBe('- - -');
      const busy = dests({ A: 1, B: 2 });
      for (const d of busy) d.overloaded = true;
      s.update(busy);
      expect(seq(s, 3), name).toBe('- - -');
      const mixed = dests({ A: 0, B: 3, C: 0 });
      s.update(mixed);
      expect(
        seq(s, 20)
          .split(' ')
          .every((x) => x === 'B' || (x === '-' && (name === 'dh' || name === 'sh' || name === 'mh'))),
        name,
      ).toBe(true);
    }
  });
});
