/** Helpers of the import-keepalived tests: vsd's verdict on a translation, and the command run as vsctl runs it. */
import { expect, vi } from 'vitest';
import { importKeepalivedCommand } from '../../src/vsctl/import.js';
import { dataplaneProblems, parseConfigText } from '@vsd/daemon/config';

/** vsd's own verdict on a translation: parses, and the dataplane it names serves every service. */
export function vsdAccepts(yaml: string): { dataplane: string; services: number } {
  const loaded = parseConfigText(yaml, 'test');
  const dataplane = loaded.config.dataplane ?? 'proxy';
  expect(dataplaneProblems(dataplane, loaded.services)).toEqual([]);
  return { dataplane, services: loaded.services.length };
}

/** Run the command as vsctl does; stdout and stderr captured. */
export async function runImport(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((stderr += String(c)), true));
  try {
    const out = { write: (c: string) => ((stdout += c), true) } as unknown as NodeJS.WritableStream;
    const code = await importKeepalivedCommand.run({ args, json: false, out, client: null as never });
    return { code, stdout, stderr };
  } finally {
    spy.mockRestore();
  }
}
