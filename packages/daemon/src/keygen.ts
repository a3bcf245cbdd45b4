/**
 * `vsd keygen [--force] FILE|-`: a new pre-shared key for `peer.key_file` / `agents.key_file` / `agents.agent_keys`
 * (and the agents' `key_file`). `-` prints it instead, e.g. to pipe it to the other dispatcher over ssh.
 */
import { parseArgs } from 'node:util';
import { newKeyText, VsdError, writeKeyFile } from '@vsd/core';

export const KEYGEN_USAGE = `Usage: vsd keygen [--force] FILE
       vsd keygen -

Writes a new random key (32 bytes, base64, one line) to FILE with mode 0600, the format peer.key_file,
agents.key_file, agents.agent_keys and vsd-agent's key_file read. An existing FILE is kept unless --force.
"-" prints the key on stdout instead. Both dispatchers (and the agents) must hold the same file.
`;

export function keygen(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr, program = 'vsd'): number {
  let values: { force?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: { force: { type: 'boolean', short: 'f' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    }));
  } catch (e) {
    err.write(`${program} keygen: ${(e as Error).message}\n${KEYGEN_USAGE.replaceAll('vsd keygen', `${program} keygen`)}`);
    return 2;
  }
  if (values.help) {
    out.write(KEYGEN_USAGE.replaceAll('vsd keygen', `${program} keygen`));
    return 0;
  }
  if (positionals.length !== 1) {
    err.write(`${program} keygen: give one FILE (or - for stdout)\n${KEYGEN_USAGE.replaceAll('vsd keygen', `${program} keygen`)}`);
    return 2;
  }
  const path = positionals[0]!;
  if (path === '-') {
    out.write(newKeyText());
    return 0;
  }
  try {
    writeKeyFile(path, { force: values.force });
    out.write(`${path}: new key written (mode 0600)\n`);
    return 0;
  } catch (e) {
    err.write(`${program} keygen: ${e instanceof VsdError ? e.message : (e as Error).message}\n`);
    return 1;
  }
}
