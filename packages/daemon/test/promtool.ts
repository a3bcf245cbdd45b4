/** `promtool check metrics` (Debian package prometheus): a missing promtool fails the test, it never skips it. */
import { spawnSync } from 'node:child_process';

export function promtoolCheck(text: string): { code: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
  if (r.error) throw new Error(`promtool could not run (${r.error.message}): install the Debian package prometheus (scripts/install-deps.sh)`);
  return { code: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}
