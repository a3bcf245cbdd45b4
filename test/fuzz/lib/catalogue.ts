/** The error codes documented in docs/errors.md: an answer or error with any other code is a bug. */
import { readFileSync } from 'node:fs';

export const DOCUMENTED_CODES: ReadonlySet<string> = new Set(
  readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8').match(/VSD_ERR_[A-Z0-9_]+/g) ?? [],
);
