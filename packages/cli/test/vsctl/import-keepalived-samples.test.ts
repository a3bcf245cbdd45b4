/**
 * import-keepalived on keepalived's own sample configurations (the Debian keepalived package's
 * /usr/share/doc/keepalived/samples and /etc/keepalived/keepalived.conf.sample; scripts/install-deps.sh installs
 * it). Every sample is imported through the command as vsctl runs it; exit 0 means a YAML that vsd's config parser
 * and `vsd --check` accept, exit 1 only under --strict when something was not imported exactly, exit 2 a refusal
 * with a reason and no output. No sample found is a failure, not a pass.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { importKeepalivedFile } from '../../src/vsctl/import-keepalived.js';
import { checkConfigFile } from '@vsd/daemon/config';
import { runImport, vsdAccepts } from './import-keepalived-helpers.js';

const SAMPLE_DIR = '/usr/share/doc/keepalived/samples';
const tmp = mkdtempSync(join(tmpdir(), 'vsd-ka-samples-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function samples(): string[] {
  const found: string[] = [];
  if (existsSync(SAMPLE_DIR))
    for (const f of readdirSync(SAMPLE_DIR).sort()) {
      if (!f.includes('.conf')) continue;
      const path = join(SAMPLE_DIR, f);
      if (!f.endsWith('.gz')) found.push(path);
      else {
        const out = join(tmp, basename(f, '.gz'));
        writeFileSync(out, gunzipSync(readFileSync(path)));
        found.push(out);
      }
    }
  if (existsSync('/etc/keepalived/keepalived.conf.sample')) found.push('/etc/keepalived/keepalived.conf.sample');
  return found;
}

describe("import-keepalived on keepalived's sample configs", () => {
  const files = samples();
  it('finds the samples (install the keepalived Debian package: scripts/install-deps.sh)', () => {
    expect(files.length, `no keepalived sample configs in ${SAMPLE_DIR}`).toBeGreaterThanOrEqual(10);
  });

  it.each(files.map((f) => [basename(f), f]))('%s: exit status and vsd accepts the output', async (_name, file) => {
    const plain = await runImport([file]);
    const strict = await runImport([file, '--strict']);
    if (plain.code === 2) {
      // A refusal: a reason, no YAML, and --strict refuses the same way.
      expect(plain.stdout).toBe('');
      expect(plain.stderr).toMatch(/^vsctl import-keepalived: \S/);
      expect(strict.code).toBe(2);
      return;
    }
    expect(plain.code).toBe(0);
    const { dataplane } = vsdAccepts(plain.stdout);
    expect(dataplane).toBe('ipvs');
    const out = join(tmp, `${basename(file)}.yaml`);
    writeFileSync(out, plain.stdout);
    const check = await checkConfigFile(out);
    expect(check.errors).toEqual([]);
    const lossy = importKeepalivedFile(file).lossy;
    expect(strict.code).toBe(lossy ? 1 : 0);
    expect(strict.stdout).toBe(plain.stdout);
    // Every warning names where it comes from.
    for (const line of plain.stderr.trim().split('\n').filter(Boolean))
      expect(line).toMatch(/^vsctl import-keepalived: (line \d+|\S+:\d+|--dataplane proxy|--strict): /);
  });

  it('imports the samples that exercise item 5 with what they mean', async () => {
    const at = (name: string) => files.find((f) => basename(f) === name);
    const vsg = at('keepalived.conf.virtual_server_group');
    const smtp = at('keepalived.conf.SMTP_CHECK');
    const ping = at('keepalived.conf.PING_CHECK');
    const local = at('keepalived.conf.vrrp.localcheck');
    const sync = at('keepalived.conf.vrrp.sync');
    expect([vsg, smtp, ping, local, sync].every(Boolean)).toBe(true);
    expect((importKeepalivedFile(vsg!).config.virtual_servers as unknown[]).length).toBe(13); // 3 + 8 (range 3-10) + 2 fwmarks
    expect(importKeepalivedFile(smtp!).details.filter((d) => d.kind === 'translated').length).toBeGreaterThan(0);
    expect((await runImport([ping!])).stderr).toMatch(/would stay in rotation with NO check/);
    const ha = importKeepalivedFile(local!).config.ha as { instances: Array<{ track_scripts?: unknown[] }> };
    expect(ha.instances[0]!.track_scripts!.length).toBe(5);
    const s = importKeepalivedFile(sync!).config.ha as { instances: unknown[]; sync_groups: unknown[] };
    expect(s.instances.length).toBe(9);
    expect(s.sync_groups.length).toBe(2);
  });
});
