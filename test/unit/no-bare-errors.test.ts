/**
 * Every error vsd raises is in the catalogue (docs/errors.md): a VsdError subclass with a stable code, or
 * `invariant()` for a bug. A bare `new Error(...)` in packages/*\/src fails here, naming file and line, so a new one
 * cannot slip in. Standard TypeError/RangeError stay allowed for argument checks of pure codecs (a programming error
 * at the call site, caught by the tests that call them), and a reason handed to `socket.destroy()` is wrapped by the
 * error handler that follows it, never seen by an operator.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Files still carrying bare errors that another change converts; each entry names why it may stay for now. */
const PENDING: Readonly<Record<string, string>> = {};

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** `new Error(` not preceded by an identifier character (so `new SyscallError(` does not match). */
const BARE = /(?<![A-Za-z0-9_$])new Error\(/;
const DESTROY_REASON = /\.destroy\(new Error\(/;

function bareErrors(files: readonly string[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    const rel = relative(REPO, file);
    if (PENDING[rel]) continue;
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const code = line.replace(/\/\/.*$/, '');
        if (BARE.test(code) && !DESTROY_REASON.test(code)) found.push(`${rel}:${i + 1}: ${line.trim()}`);
      });
  }
  return found;
}

describe('catalogue errors', () => {
  const packages = readdirSync(join(REPO, 'packages')).filter((p) => statSync(join(REPO, 'packages', p, 'src'), { throwIfNoEntry: false })?.isDirectory());

  it('no bare new Error() in packages/*/src', () => {
    expect(packages.length).toBeGreaterThanOrEqual(7);
    const files = packages.flatMap((p) => sources(join(REPO, 'packages', p, 'src')));
    expect(files.length).toBeGreaterThan(100);
    expect(bareErrors(files)).toEqual([]);
  });

  it('the scan finds a bare error and passes catalogue ones and destroy reasons', () => {
    const code = ["throw new Error('x');", "throw new SyscallError('bind', 98);", "req.destroy(new Error('timeout'));", "// new Error('in a comment')"];
    const hits = code.filter((l) => BARE.test(l.replace(/\/\/.*$/, '')) && !DESTROY_REASON.test(l));
    expect(hits).toEqual(["throw new Error('x');"]);
  });

  it('every code thrown in the sources is listed in docs/errors.md', () => {
    const doc = readFileSync(join(REPO, 'docs/errors.md'), 'utf8');
    const files = packages.flatMap((p) => sources(join(REPO, 'packages', p, 'src')));
    const codes = new Set<string>();
    for (const f of files) for (const m of readFileSync(f, 'utf8').matchAll(/'(VSD_ERR_[A-Z0-9_]+)'/g)) codes.add(m[1]!);
    expect(codes.size).toBeGreaterThan(30);
    expect([...codes].filter((c) => !doc.includes(`\`${c}\``)).sort()).toEqual([]);
  });
});
