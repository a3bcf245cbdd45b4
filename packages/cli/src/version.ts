import { readFileSync } from 'node:fs';

/** The @vsd/cli package version (`vsctl --version`; the vsd .deb carries vsd, vsadm and vsctl at one number). */
export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
