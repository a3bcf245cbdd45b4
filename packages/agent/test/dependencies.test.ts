/**
 * vsd-agent runs on every real server: it takes its wire format from @vsd/protocol and the OS door (libc, libbpf,
 * logger, key files, sd_notify) from @vsd/sys, never the dispatcher's @vsd/core (lowdb, schedulers, dataplanes),
 * so its .deb ships neither (issue 18 item 2). Its tests do use core (the hub the agent talks to), through the
 * workspace's vitest aliases: not even a devDependency, which `pnpm --filter @vsd/agent...` (the .deb's tree) follows.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const PKG = fileURLToPath(new URL('../', import.meta.url));
const ALLOWED = ['@vsd/protocol', '@vsd/sys'];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return files(p);
    return /\.(ts|js|mjs)$/.test(d.name) && !d.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Every bare specifier (package import) of a source file, any statement form. */
function packagesImported(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const re = /\b(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g;
  return [...code.matchAll(re)].map((m) => m[1] ?? m[2] ?? m[3]!).filter((s) => !s.startsWith('.') && !s.startsWith('node:'));
}

describe('@vsd/agent depends on protocol and sys only', () => {
  it('finds package imports of every statement form (the scan can fail)', () => {
    const src = "import type { Logger } from '@vsd/core';\nexport { x } from '@vsd/core/y';\nconst m = await import('@vsd/ha');\nimport './local.js';";
    expect(packagesImported(src)).toEqual(['@vsd/core', '@vsd/core/y', '@vsd/ha']);
  });

  it('imports no workspace package but @vsd/protocol and @vsd/sys from src/ or bin/', () => {
    const sources = [...files(join(PKG, 'src')), ...files(join(PKG, 'bin'))];
    expect(sources.length).toBeGreaterThan(10);
    const offending = sources.flatMap((f) =>
      packagesImported(readFileSync(f, 'utf8'))
        .filter((s) => s.startsWith('@vsd/') && !ALLOWED.includes(s.split('/').slice(0, 2).join('/')))
        .map((s) => `${f.slice(PKG.length)}: ${s}`),
    );
    expect(offending).toEqual([]);
  });

  it('declares no workspace package but @vsd/protocol and @vsd/sys, not even as a devDependency', () => {
    const pkg = JSON.parse(readFileSync(join(PKG, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    const declared = ['dependencies', 'optionalDependencies', 'peerDependencies', 'devDependencies'].flatMap((k) => Object.keys(pkg[k] ?? {}));
    expect(declared.filter((d) => d.startsWith('@vsd/')).sort()).toEqual(ALLOWED);
    expect(declared).not.toContain('@vsd/core');
  });
});
