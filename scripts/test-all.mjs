#!/usr/bin/env node
// Runs the lint check (scripts/lint.mjs, under a second) and then every test tier in turn; fails when lint has a
// finding or any tier fails or runs no test. Prints one closing line "N passed, N failed" over all tiers for CI.
// VSD_LINT=0 skips the lint check (e.g. a tier run by hand); CI never sets it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const tiers = (process.env.VSD_TIERS ?? 'unit,fuzz,netns,uml').split(',').filter(Boolean);
const out = mkdtempSync(join(tmpdir(), 'vsd-tests-'));
let passed = 0;
let failed = 0;
const problems = [];

if (process.env.VSD_LINT !== '0') {
  process.stdout.write('\n=== lint ===\n');
  const r = spawnSync(process.execPath, [fileURLToPath(new URL('./lint.mjs', import.meta.url))], { stdio: 'inherit' });
  if (r.status !== 0) problems.push(`lint: exited ${r.status} (findings above; run pnpm lint)`);
}

for (const tier of tiers) {
  const report = join(out, `${tier}.json`);
  process.stdout.write(`\n=== tier ${tier} ===\n`);
  const r = spawnSync('pnpm', ['exec', 'vitest', 'run', '--project', tier, '--reporter=default', '--reporter=json', `--outputFile.json=${report}`], {
    stdio: 'inherit',
  });
  let tp = 0;
  let tf = 0;
  let ts = 0;
  if (existsSync(report)) {
    const j = JSON.parse(readFileSync(report, 'utf8'));
    tp = j.numPassedTests ?? 0;
    tf = (j.numFailedTests ?? 0) + (j.numRuntimeErrorTestSuites ?? 0);
    ts = (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0);
  }
  passed += tp;
  failed += tf;
  if (r.status !== 0) problems.push(`tier ${tier}: vitest exited ${r.status}`);
  if (tp === 0) problems.push(`tier ${tier}: ran no test`);
  if (ts > 0) problems.push(`tier ${tier}: ${ts} test(s) skipped or todo`);
  process.stdout.write(`tier ${tier}: ${tp} passed, ${tf} failed, ${ts} skipped\n`);
}

for (const p of problems) process.stdout.write(`FAIL ${p}\n`);
// A tier that failed without a failing test (no test, crash) still counts as a failure here.
process.stdout.write(`${passed} passed, ${failed || problems.length} failed\n`);
process.exit(problems.length > 0 ? 1 : 0);
