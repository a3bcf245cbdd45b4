/**
 * Issue 16: agent names (and other peer-supplied text) reached the terminal as they were, so an agent named with
 * escape sequences could retitle or clear the operator's terminal, or rewrite a line with \r, in `vsctl agents`
 * and `vsctl status`. Everything vsctl prints now passes a sanitiser.
 */
import { describe, expect, it } from 'vitest';
import type { AgentsStatus } from '@vsd/core';
import { startHarness } from '../../../core/test/control/helpers.js';
import { main } from '../../src/vsctl/main.js';
import { sanitizeJson, sanitizeText } from '../../src/vsctl/safe-output.js';

const EVIL = 'web1\u001b]0;owned\u0007\u001b[2J\rweb9 up\u009b31m\u202etxt.exe';

function capture(): { stream: NodeJS.WritableStream; text: () => string } {
  let text = '';
  return { stream: { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream, text: () => text };
}

const agents: AgentsStatus = {
  listen: '10.77.0.11:9182',
  silentAfter: 3,
  counters: { accepted: 1, refused: 0, badFrames: 0, closedForBadFrames: 0 },
  groups: [],
  agents: [
    {
      agent: EVIL,
      addresses: ['10.77.0.21'],
      remote: '10.77.0.21',
      connected: true,
      interval: 1,
      lastReportAt: 1,
      ageMs: 400,
      state: 'up',
      reasons: [`reason ${EVIL}`],
      weightPct: 100,
      storageProblems: [],
      realServers: [],
      badFrames: 0,
      report: null,
    },
  ],
};

// Nothing a terminal would act on: C0 but \n and \t, DEL, C1, bidi overrides.
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('vsctl print boundary (issue 16)', () => {
  it('escapes control characters visibly and keeps newlines and tabs', () => {
    expect(sanitizeText('a\u001b[2Jb\tc\nd\re\u009bf\u202eg')).toBe('a\\x1b[2Jb\tc\nd\\x0de\\x9bf\\u202eg');
    const doc = JSON.stringify({ name: EVIL });
    expect(JSON.parse(sanitizeJson(doc))).toEqual({ name: EVIL });
    expect(UNSAFE.test(sanitizeJson(doc))).toBe(false);
  });

  it('vsctl agents and vsctl status print a hostile agent name inert, text and --json', async () => {
    const h = await startHarness({ extraRoutes: [{ method: 'GET', path: '/v1/agents', handler: () => agents }] });
    try {
      for (const args of [['agents'], ['status'], ['--json', 'agents'], ['--json', 'status']]) {
        const out = capture();
        const err = capture();
        expect(await main(['--socket', h.socket, ...args], out.stream, err.stream)).toBe(0);
        expect(out.text()).toContain('web1');
        expect(UNSAFE.test(out.text())).toBe(false);
        if (args[0] === '--json') expect(JSON.stringify(JSON.parse(out.text()))).toContain('web1\\u001b]0;owned');
        else expect(out.text()).toContain('web1\\x1b]0;owned\\x07\\x1b[2J\\x0dweb9 up\\x9b31m\\u202etxt.exe');
      }
    } finally {
      await h.close();
    }
  });
});
