/**
 * packaging/man: the pages render without warnings (groff -ww, and man -l as a user reads them), and they are
 * complete: every option and subcommand the code accepts, every key vsd.yaml accepts, appears in its page.
 * A new option or config key fails here until its page names it.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { haConfigSchema } from '@vsd/ha';
import { POPT_TABLE } from '../../packages/cli/src/vsadm/options.js';
import { commands } from '../../packages/cli/src/vsctl/commands.js';
import { vsdConfigSchema } from '../../packages/daemon/src/config.js';
import { TempDir, VSD_BIN } from '../../packages/daemon/test/harness.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const MAN = join(REPO, 'packaging/man');
const PAGES = ['vsd.8', 'vsadm.8', 'vsctl.8', 'vsd-agent.8', 'vsd.yaml.5'];
const exec = promisify(execFile);

/** The page's text as roff source with escapes and font changes taken out: "\-\-config" -> "--config". */
function pageText(page: string): string {
  return readFileSync(join(MAN, page), 'utf8')
    .replace(/\\f[BIRP]/g, '')
    .replace(/\\-/g, '-')
    .replace(/\\&/g, '');
}

/** Long and short options of a parseArgs() table in a source file: `name: { type: 'string', short: 'c' }`. */
function parseArgsOptions(file: string): string[] {
  const src = readFileSync(join(REPO, file), 'utf8');
  const flags: string[] = [];
  for (const m of src.matchAll(/'?([a-z][\w-]*)'?: \{ type: '(?:string|boolean)'(?:, short: '(\w)')? \}/g)) {
    flags.push(`--${m[1]}`);
    if (m[2]) flags.push(`-${m[2]}`);
  }
  return flags;
}

function missing(page: string, words: string[]): string[] {
  const text = pageText(page);
  return words.filter((w) => !new RegExp(`(^|[^\\w-])${w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\w-])`, 'm').test(text));
}

/** Every key of a zod schema, nested objects and arrays included (strictObject's preprocess unwrapped). */
function schemaKeys(schema: unknown, out = new Set<string>()): Set<string> {
  const def = (schema as { _def?: Record<string, unknown> })?._def;
  if (!def) return out;
  if (def.typeName === 'ZodObject') {
    for (const [k, v] of Object.entries((schema as { shape: Record<string, unknown> }).shape)) {
      out.add(k);
      schemaKeys(v, out);
    }
    return out;
  }
  for (const key of ['innerType', 'schema', 'type', 'left', 'right', 'in', 'out', 'valueType']) if (def[key]) schemaKeys(def[key], out);
  for (const o of (def.options as unknown[] | undefined) ?? []) schemaKeys(o, out);
  return out;
}

describe('man pages', () => {
  it('render without warnings with groff -ww and man -l', async () => {
    for (const page of PAGES) {
      const groff = await exec('groff', ['-man', '-ww', '-z', '-Tutf8', join(MAN, page)]);
      expect({ page, stderr: groff.stderr }).toEqual({ page, stderr: '' });
      const man = await exec('man', ['-l', '--warnings=w', join(MAN, page)], { env: { ...process.env, MANPAGER: 'cat', MANWIDTH: '100' } });
      expect({ page, stderr: man.stderr }).toEqual({ page, stderr: '' });
      expect(man.stdout).toMatch(/NAME/);
    }
  });

  it('vsd(8) names every option and the keygen subcommand', () => {
    const subcommands = [...readFileSync(join(REPO, 'packages/daemon/src/main.ts'), 'utf8').matchAll(/argv\[0\] === '([\w-]+)'/g)].map((m) => m[1]!);
    expect(subcommands).toEqual(expect.arrayContaining(['keygen', 'cleanup-vips']));
    expect(
      missing('vsd.8', [
        ...parseArgsOptions('packages/daemon/src/main.ts'),
        ...parseArgsOptions('packages/daemon/src/keygen.ts'),
        ...subcommands,
        'SIGHUP',
        'SIGTERM',
        'VSD_LOG_LEVEL',
        'NOTIFY_SOCKET',
      ]),
    ).toEqual([]);
  });

  it('vsctl(8) names every command and global option', () => {
    expect(
      missing('vsctl.8', [...Object.keys(commands), ...parseArgsOptions('packages/cli/src/vsctl/main.ts'), 'VSD_SOCKET', 'VSD_URL', 'VSD_TOKEN_FILE']),
    ).toEqual([]);
  });

  it('vsd-agent(8) names every option and subcommand', () => {
    const src = readFileSync(join(REPO, 'packages/agent/src/bin/vsd-agent.ts'), 'utf8');
    const subcommands = [...src.matchAll(/cmd === '([\w-]+)'/g)].map((m) => m[1]!);
    expect(subcommands).toEqual(expect.arrayContaining(['setup-dr', 'setup-tun', 'teardown', 'keygen', 'run']));
    expect(missing('vsd-agent.8', [...parseArgsOptions('packages/agent/src/bin/vsd-agent.ts'), ...subcommands])).toEqual([]);
  });

  it('vsadm(8) names every ipvsadm option vsadm accepts, and --socket', () => {
    const flags = POPT_TABLE.flatMap((o) => [`--${o.long}`, ...(o.short ? [`-${o.short}`] : [])]);
    expect(flags.length).toBeGreaterThan(60);
    expect(missing('vsadm.8', [...flags, '--socket', 'VSD_SOCKET'])).toEqual([]);
  });

  it('vsd.yaml(5) names every key the config schema accepts', () => {
    // ha: is parsed by a transform (one instance or `instances:`), opaque to the walk: its instance schema and its
    // section keys are added by hand.
    const keys = [...schemaKeys(vsdConfigSchema, schemaKeys(haConfigSchema, new Set(['instances', 'sync_groups', 'name'])))];
    expect(keys).toEqual(expect.arrayContaining(['virtual_servers', 'lb_algo', 'vips', 'key_file', 'misc_dynamic']));
    expect(missing('vsd.yaml.5', keys)).toEqual([]);
  });

  it('vsd.yaml(5)’s EXAMPLE is a valid config for the ipvs dataplane', async () => {
    const dir = new TempDir();
    try {
      const example = /^\.SH EXAMPLE\n\.nf\n([\s\S]*?)\n\.fi$/m.exec(pageText('vsd.yaml.5'))![1]!;
      for (const k of ['peer.key', 'agent.key']) await exec(process.execPath, [VSD_BIN, 'keygen', join(dir.path, k)]);
      const file = dir.file('vsd.yaml', example.replaceAll('/etc/vsd/', `${dir.path}/`));
      const r = await exec(process.execPath, [VSD_BIN, '--check', '--config', file]);
      expect(r.stdout).toMatch(/OK, 1 virtual service\(s\), dataplane ipvs/);
    } finally {
      dir.remove();
    }
  });
});
