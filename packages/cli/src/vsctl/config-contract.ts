/**
 * The vsd.yaml contract belongs to @vsd/daemon (the daemon owns the file it reads); `vsctl import-keepalived`
 * checks its output with it. The CLIs install without the daemon, so the contract is loaded when it is installed
 * rather than depended on: beside vsd (the vsd .deb, the workspace) it always is.
 */
import type { DataplaneName, VirtualService } from '@vsd/core';

export interface VsdConfigContract {
  parseConfigText(text: string, path: string): { services: VirtualService[] };
  dataplaneProblems(dataplane: DataplaneName, services: readonly VirtualService[]): string[];
}

// A variable, so that TypeScript does not resolve (and the build does not order) a package cli does not depend on.
const CONTRACT_MODULE = '@vsd/daemon/config';

async function loadContract(): Promise<VsdConfigContract | null> {
  try {
    return (await import(CONTRACT_MODULE)) as VsdConfigContract;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_MODULE_NOT_FOUND' && e.message.includes(`'@vsd/daemon`)) return null;
    throw err;
  }
}

/** null when @vsd/daemon is not installed: the importer then refuses to hand over an unchecked file. */
export const vsdConfigContract: VsdConfigContract | null = await loadContract();
