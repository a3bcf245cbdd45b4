import { readFileSync } from 'node:fs';

/** The @vsd/cli package version (vsd, vsadm and vsctl ship together, so they share it). */
export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
