#!/usr/bin/env node
// `pnpm lint`: Biome's linter over the tree (warnings count as findings), then the formatter's check.
// test-all.mjs runs this first, so CI fails on a finding and prints Biome's diagnostics for it.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const biome = fileURLToPath(new URL('../node_modules/.bin/biome', import.meta.url));
// Enforced since the whole-tree format commit (listed in .git-blame-ignore-revs): an unformatted file is a finding.
const ENFORCE_FORMAT = true;

function run(args) {
  const r = spawnSync(biome, args, { cwd: root, encoding: 'utf8' });
  if (r.error) {
    process.stderr.write(`lint: cannot run ${biome}: ${r.error.message} (run pnpm install)\n`);
    process.exit(2);
  }
  return r;
}

const problems = [];
const lint = run(['lint', '--error-on-warnings', '--max-diagnostics=200', '--colors=off']);
if (lint.status !== 0) {
  process.stdout.write(lint.stdout + lint.stderr);
  problems.push('biome lint has findings (listed above; `pnpm exec biome lint --write` applies the safe fixes)');
}

const format = run(['format', '--reporter=summary', '--max-diagnostics=0', '--colors=off']);
const unformatted = Number(/Found (\d+) error/.exec(format.stdout + format.stderr)?.[1] ?? (format.status === 0 ? 0 : NaN));
if (format.status !== 0 && !(unformatted > 0)) {
  process.stdout.write(format.stdout + format.stderr);
  problems.push('biome format could not check the tree (output above)');
} else if (unformatted > 0 && ENFORCE_FORMAT) {
  process.stdout.write(run(['format', '--max-diagnostics=50', '--colors=off']).stdout);
  problems.push(`${unformatted} file(s) not formatted (diffs above; \`pnpm format\` rewrites them)`);
} else if (unformatted > 0) {
  process.stdout.write(`lint: ${unformatted} file(s) not yet formatted (format check not enforced yet)\n`);
}

for (const p of problems) process.stdout.write(`FAIL lint: ${p}\n`);
if (problems.length === 0) process.stdout.write('lint: clean\n');
process.exit(problems.length > 0 ? 1 : 0);
