/** The popt scanner against libpopt 1.19 itself: every row below was recorded by driving libpopt.so.0 with ipvsadm's option table. */
import { describe, expect, it } from 'vitest';
import { POPT_TABLE } from '../../src/vsadm/options.js';
import { poptScan } from '../../src/vsadm/popt.js';

type Row = [string, [string, string | null, string][], string | null, string[]];

// [command line, events (tag, value, poptBadOption after it), error text, leftovers]
const ROWS: Row[] = [
  [
    '-Ln',
    [
      ['L', null, '-Ln'],
      ['n', null, '-Ln'],
    ],
    null,
    [],
  ],
  ['-L -q', [['L', null, '-L']], '-q: unknown option', []],
  ['-Lq', [['L', null, '-Lq']], '-Lq: unknown option', []],
  [
    '-p60 -A',
    [
      ['p', '60', '-p60'],
      ['A', null, '-A'],
    ],
    null,
    [],
  ],
  [
    '-A -p -M 1',
    [
      ['A', null, '-A'],
      ['p', null, '-p'],
      ['M', '1', '1'],
    ],
    null,
    [],
  ],
  [
    '-A -p 60',
    [
      ['A', null, '-A'],
      ['p', '60', '60'],
    ],
    null,
    [],
  ],
  [
    '-Ap',
    [
      ['A', null, '-Ap'],
      ['p', null, '-Ap'],
    ],
    null,
    [],
  ],
  [
    '-A -p=5',
    [
      ['A', null, '-A'],
      ['p', '5', '-p=5'],
    ],
    null,
    [],
  ],
  [
    '-A -p x',
    [
      ['A', null, '-A'],
      ['p', 'x', 'x'],
    ],
    null,
    [],
  ],
  [
    '-A -p -',
    [
      ['A', null, '-A'],
      ['p', null, '-p'],
    ],
    null,
    ['-'],
  ],
  [
    '-A -p --',
    [
      ['A', null, '-A'],
      ['p', null, '-p'],
    ],
    null,
    [],
  ],
  ['--list=foo', [], '--list=foo: option does not take an argument', []],
  ['--list -t', [['L', null, '--list']], '-t: missing argument', []],
  ['-A -t', [['A', null, '-A']], '-t: missing argument', []],
  [
    '--tcp-service=1:2 -A',
    [
      ['t', '1:2', '--tcp-service=1:2'],
      ['A', null, '-A'],
    ],
    null,
    [],
  ],
  ['-A foo -- -t', [['A', null, '-A']], null, ['foo', '-t']],
  [
    '-A -t -s',
    [
      ['A', null, '-A'],
      ['t', '-s', '-s'],
    ],
    null,
    [],
  ],
  [
    '-A -list',
    [
      ['A', null, '-A'],
      ['l', null, '-list'],
      ['i', null, '-list'],
      ['s', 't', '-list'],
    ],
    null,
    [],
  ],
  ['-A --lis', [['A', null, '-A']], '--lis: unknown option', []],
  ['--set 1 2 3', [['set', null, '--set']], null, ['1', '2', '3']],
  ['-L=', [], '-L=: option does not take an argument', []],
  [
    '-A -s=rr',
    [
      ['A', null, '-A'],
      ['s', 'rr', '-s=rr'],
    ],
    null,
    [],
  ],
  [
    '-A --scheduler= rr',
    [
      ['A', null, '-A'],
      ['s', '', '--scheduler='],
    ],
    null,
    ['rr'],
  ],
  [
    '-L --start-daemon master',
    [
      ['L', null, '-L'],
      ['start-daemon', 'master', 'master'],
    ],
    null,
    [],
  ],
  [
    '-A -Lnp 7',
    [
      ['A', null, '-A'],
      ['L', null, '-Lnp'],
      ['n', null, '-Lnp'],
      ['p', '7', '7'],
    ],
    null,
    [],
  ],
  [
    '-LA',
    [
      ['L', null, '-LA'],
      ['A', null, '-LA'],
    ],
    null,
    [],
  ],
];

describe('poptScan', () => {
  for (const [line, events, error, rest] of ROWS) {
    it(`scans "${line}" as libpopt does`, () => {
      const scan = poptScan(line.split(' ').filter(Boolean), POPT_TABLE);
      expect(scan.events.map((e) => [e.tag, e.value, e.bad])).toEqual(events);
      expect(scan.error ? `${scan.error.bad}: ${scan.error.message}` : null).toBe(error);
      if (!error) expect(scan.leftovers).toEqual(rest);
    });
  }

  it('keeps words after -- as leftovers even when they look like options', () => {
    expect(poptScan(['-L', '--', '-n', '--stats'], POPT_TABLE).leftovers).toEqual(['-n', '--stats']);
  });
});
