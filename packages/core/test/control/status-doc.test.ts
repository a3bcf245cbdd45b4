import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { statusForError, VsdError } from '@vsd/core';

// docs/control-api.md's status table is the contract clients rely on: every code it lists must map to that status.
describe('control API error statuses', () => {
  it('match the table in docs/control-api.md', () => {
    const doc = readFileSync(new URL('../../../../docs/control-api.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| (\d{3}) \| (.*) \|$/gm)];
    expect(rows.length).toBeGreaterThanOrEqual(6);
    let checked = 0;
    for (const [, status, text] of rows) {
      for (const [code] of text!.matchAll(/VSD_ERR_[A-Z0-9_]+/g)) {
        expect([code, statusForError(new VsdError(code, 'x'))]).toEqual([code, Number(status)]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(15);
    expect(statusForError(new Error('plain'))).toBe(500);
  });
});
