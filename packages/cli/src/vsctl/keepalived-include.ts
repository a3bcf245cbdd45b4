/**
 * keepalived's `include PATTERN`: the pattern is a glob (*, ?, [...], {a,b}) taken relative to the directory of the
 * file that holds the include, and every match is read in sorted order where the include stands. A file already
 * being read (an include loop) and includes nested deeper than MAX_INCLUDE_DEPTH are reported, not followed.
 *
 * Each included file is parsed on its own, so a block must open and close in one file (keepalived reads includes
 * as text and allows a block to span files; no real configuration does).
 */
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parseKeepalived, type ParseOptions, type Statement } from './keepalived-parse.js';

export const MAX_INCLUDE_DEPTH = 8;

export interface IncludeProblem {
  stmt: Statement;
  what: string;
}

/** {a,b} alternatives first (keepalived passes GLOB_BRACE), then one pattern per alternative. */
function expandBraces(p: string): string[] {
  const m = /\{([^{}]*)\}/.exec(p);
  if (!m) return [p];
  return m[1]!.split(',').flatMap((alt) => expandBraces(p.slice(0, m.index) + alt + p.slice(m.index + m[0].length)));
}

function segmentRegex(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        const body = seg.slice(i + 1, end);
        re += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The files a glob names, sorted (glob(3) sorts); a hidden file matches only a pattern that starts with a dot. */
export function globFiles(pattern: string): string[] {
  const out = new Set<string>();
  for (const p of expandBraces(pattern)) {
    const parts = p.split('/');
    let bases = [parts[0] === '' ? '/' : '.'];
    for (const seg of parts[0] === '' ? parts.slice(1) : parts) {
      if (seg === '') continue;
      const next: string[] = [];
      for (const base of bases) {
        if (!/[*?[]/.test(seg)) {
          next.push(join(base, seg));
          continue;
        }
        const re = segmentRegex(seg);
        let names: string[];
        try {
          names = readdirSync(base);
        } catch {
          continue;
        }
        for (const n of names.sort()) if (re.test(n) && (!n.startsWith('.') || seg.startsWith('.'))) next.push(join(base, n));
      }
      bases = next;
    }
    for (const f of bases) {
      try {
        if (statSync(f).isFile()) out.add(f);
      } catch {
        /* a literal name that does not exist: no match */
      }
    }
  }
  return [...out];
}

/** Parse FILE and splice every `include` in place (at any block level), recursively. */
export function parseKeepalivedFile(file: string, problems: IncludeProblem[], configId?: string, skipped?: ParseOptions['skipped']): Statement[] {
  const stack: string[] = [];
  const load = (path: string, depth: number): Statement[] => {
    const real = realpathSync(path);
    stack.push(real);
    const name = stack.length === 1 ? undefined : path;
    const list = parseKeepalived(readFileSync(path, 'utf8'), { file: name, configId, skipped });
    const splice = (stmts: Statement[]): Statement[] =>
      stmts.flatMap((s) => {
        if (s.children) s.children = splice(s.children);
        if (s.words[0] !== 'include' || s.children) return [s];
        const pattern = s.words[1];
        if (!pattern) {
          problems.push({ stmt: s, what: 'include needs a file name or pattern' });
          return [];
        }
        if (depth + 1 > MAX_INCLUDE_DEPTH) {
          problems.push({ stmt: s, what: `include ${pattern}: includes nested deeper than ${MAX_INCLUDE_DEPTH}; not followed` });
          return [];
        }
        const full = isAbsolute(pattern) ? pattern : join(dirname(path), pattern);
        const files = globFiles(full);
        if (!files.length) problems.push({ stmt: s, what: `include ${pattern}: no file matches (keepalived skips it too)` });
        return files.flatMap((f) => {
          const r = realpathSync(f);
          if (stack.includes(r)) {
            problems.push({
              stmt: s,
              what: `include ${pattern}: ${relative(process.cwd(), resolve(f)) || f} is already being read (an include loop); not followed`,
            });
            return [];
          }
          return load(f, depth + 1);
        });
      });
    const out = splice(list);
    stack.pop();
    return out;
  };
  return load(file, 0);
}
