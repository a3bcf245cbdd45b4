/**
 * No import cycles in packages/core/src (nor in the OS door it stands on, packages/sys/src): a module's place in the package is readable from what it imports, and
 * shared types live in a types file the implementations import (dataplane/proxy/types.ts), not in one of them.
 * Type-only imports count too: they are erased at run time, but a circle of them still ties the files together.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return tsFiles(p);
    return d.name.endsWith('.ts') && !d.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Relative specifiers of every `import … from`, `export … from`, side-effect import and dynamic import(). */
export function specifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  const re = /\b(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of code.matchAll(re)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    if (spec.startsWith('.')) out.push(spec);
  }
  return out;
}

/** The import graph of `files`: file -> files it imports (`./x.js` resolves to x.ts; outside `files` is ignored). */
function graph(files: string[]): Map<string, string[]> {
  const known = new Set(files);
  const g = new Map<string, string[]>();
  for (const f of files) {
    const deps = specifiers(readFileSync(f, 'utf8'))
      .map((s) => resolve(dirname(f), s.replace(/\.js$/, '.ts')))
      .filter((p) => known.has(p));
    g.set(f, [...new Set(deps)]);
  }
  return g;
}

/** Strongly connected components with more than one file, or one that imports itself (Tarjan). */
export function cycles(g: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of g.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (g.get(v) ?? []).includes(v)) out.push(scc.sort());
  };
  for (const v of g.keys()) if (!index.has(v)) visit(v);
  return out;
}

describe('import cycles', () => {
  it('finds the imports of every statement form, type-only and multi-line ones included', () => {
    const src = [
      "import { a } from './a.js';",
      "import type { B } from '../b.js';",
      'import {\n  c,\n  d,\n} from "./c.js";',
      "export { e } from './e.js';",
      "export type { F } from './f.js';",
      "import './side.js';",
      "const g = await import('./g.js');",
      "import { pino } from 'pino';",
      "// import { h } from './commented.js';",
    ].join('\n');
    expect(specifiers(src)).toEqual(['./a.js', '../b.js', './c.js', './e.js', './f.js', './side.js', './g.js']);
  });

  it('reports a circle and nothing else', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
      ['e', ['e']],
    ]);
    expect(cycles(g)).toEqual([['a', 'b', 'c'], ['e']]);
  });

  it('packages/core/src has none', () => {
    const files = tsFiles(SRC);
    expect(files.length).toBeGreaterThan(50);
    const found = cycles(graph(files)).map((scc) => scc.map((f) => relative(SRC, f)));
    expect(found).toEqual([]);
  });

  it('packages/sys/src (the OS door) has none', () => {
    const dir = fileURLToPath(new URL('../../sys/src/', import.meta.url));
    const files = tsFiles(dir);
    expect(files.length).toBeGreaterThan(15);
    expect(cycles(graph(files)).map((scc) => scc.map((f) => relative(dir, f)))).toEqual([]);
  });
});
