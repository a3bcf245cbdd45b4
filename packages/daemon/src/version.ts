import { readFileSync } from 'node:fs';

/** The @vsd/daemon package version (`vsd --version`; the .deb carries it with vsadm and vsctl at the same number). */
export function daemonVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
