import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderPrometheus } from '../src/metrics/render.js';
import { fixtureSnapshot } from './metrics-fixture.js';

const DIR = fileURLToPath(new URL('../../../examples/prometheus/', import.meta.url));

function promtool(args: string[]): { code: number | null; output: string } {
  const r = spawnSync('promtool', args, { cwd: DIR, encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw new Error(`promtool could not run (${r.error.message}): install the Debian package prometheus (scripts/install-deps.sh)`);
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('example alerting rules (examples/prometheus/vsd-alerts.yml)', () => {
  it('pass promtool check rules and their unit tests (split brain, real server down, service without real servers)', () => {
    const check = promtool(['check', 'rules', 'vsd-alerts.yml']);
    expect(check.output).toContain('SUCCESS: 12 rules found');
    expect(check.code).toBe(0);
    const test = promtool(['test', 'rules', 'vsd-alerts.test.yml']);
    expect(test.output).toContain('SUCCESS');
    expect(test.code).toBe(0);
  });

  it('use only series and labels vsd exports', async () => {
    const rules = readFileSync(`${DIR}vsd-alerts.yml`, 'utf8');
    const text = renderPrometheus(await fixtureSnapshot(), { nodeIpvs: true });
    const families = new Set([...text.matchAll(/^# TYPE (\w+) /gm)].map((m) => m[1]));
    const used = new Set([...rules.matchAll(/\b(vsd_\w+)/g)].map((m) => m[1]!));
    expect(used.size).toBeGreaterThan(8);
    for (const name of used) expect(families, name).toContain(name);
    for (const [, name, label] of rules.matchAll(/\b(vsd_\w+)\{(\w+)=/g))
      expect(text, `${name}{${label}}`).toMatch(new RegExp(`^${name}\\{[^}]*\\b${label}="`, 'm'));
  });
});
