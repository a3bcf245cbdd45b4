import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VsdError, applyOps, emptyState } from '@vsd/core';
import { fakeResolver } from '../../packages/cli/test/vsadm/fake-resolver.js';
import { VsadmExit } from '../../packages/cli/src/vsadm/exit.js';
import { planRestore } from '../../packages/cli/src/vsadm/restore.js';
import { mutateText } from './lib/mutate.js';
import { expectTyped, fuzz } from './lib/run.js';

// `vsadm -R` (packages/cli/src/vsadm/restore.ts): an ipvsadm-save file on stdin.
type Case = { argv: string[]; stdin?: string };
const cases = JSON.parse(readFileSync(new URL('../../packages/cli/test/fixtures/ipvsadm/cases.json', import.meta.url), 'utf8')) as {
  cases: Array<{ commands: Case[] }>;
};
const lines = new Set<string>();
const stdins: string[] = [];
for (const c of cases.cases)
  for (const s of c.commands) {
    if (s.stdin) stdins.push(s.stdin);
    else if (s.argv && !['-L', '-l', '-S', '-Ln', '-R'].includes(s.argv[0]!)) lines.add(s.argv.join(' '));
  }
const SEEDS = [
  ...stdins,
  [...lines].join('\n') + '\n',
  '-A -t 10.0.0.100:80 -s wlc -p 300 -M 255.255.255.0\n-a -t 10.0.0.100:80 -r 10.0.1.1:8080 -m -w 5 -x 100 -y 10\n--set 900 120 300\n',
];
const TOKENS = [
  '-A',
  '-E',
  '-D',
  '-a',
  '-e',
  '-d',
  '-C',
  '-Z',
  '-t',
  '-u',
  '--sctp-service',
  '-f',
  '-s',
  '-p',
  '-M',
  '-r',
  '-g',
  '-i',
  '-m',
  '-w',
  '-x',
  '-y',
  '-b',
  '--tun-type',
  'gue',
  '--set',
  '--start-daemon',
  'master',
  '--mcast-interface',
  '-6',
  '[2001:db8::1]:80',
  '10.0.0.1:',
  ':80',
  '#',
  ' ',
  '\t',
  '\n',
  'ipvsadm',
  '-R',
  '-h',
  '-v',
  '--help',
  'flag-1',
];

describe('fuzz: vsadm -R (ipvsadm-save restore)', () => {
  it('plans or refuses with VsadmExit naming the line; a plan applies or refuses with a catalogue error', async () => {
    let planned = 0;
    expect(SEEDS.length).toBeGreaterThan(2);
    await fuzz<string>({
      name: 'vsadm-restore',
      seeds: SEEDS,
      mutate: (rng, s, corpus) => mutateText(rng, s, TOKENS, corpus),
      random: (rng) => Buffer.from(rng.bytes(rng.int(300))).toString('latin1'),
      serialize: (s) => s,
      async check(text) {
        let plan: Awaited<ReturnType<typeof planRestore>>;
        try {
          plan = await planRestore(text, { program: 'ipvsadm', resolver: fakeResolver });
        } catch (err) {
          expectTyped(err, [VsadmExit]);
          const e = err as VsadmExit;
          if (e.code !== 0) expect(`${e.stderr}${e.stdout}`).toMatch(/^line \d+: /);
          return;
        }
        planned++;
        try {
          applyOps(
            emptyState(),
            plan.map((p) => p.op),
          );
        } catch (err) {
          expectTyped(err, [VsdError]);
        }
      },
    });
    expect(planned).toBeGreaterThan(10);
  });
});
