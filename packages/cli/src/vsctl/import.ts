/** `vsctl import-keepalived FILE`: print the vsd.yaml equivalent of a keepalived.conf; what cannot be imported goes to stderr. */
import { readFileSync } from 'node:fs';
import type { VsctlCommand } from './command.js';
import { importKeepalived } from './import-keepalived.js';

export const importKeepalivedCommand: VsctlCommand = {
  summary: 'translate a keepalived.conf into vsd.yaml (stdout); unsupported parts are listed on stderr',
  usage: 'FILE [--json]',
  async run({ args, json, out }) {
    const file = args[0];
    if (!file) throw new Error('import-keepalived needs the path of a keepalived.conf');
    const r = importKeepalived(readFileSync(file, 'utf8'));
    for (const w of r.warnings) process.stderr.write(`vsctl import-keepalived: ${w}\n`);
    out.write(json ? `${JSON.stringify(r.config, null, 2)}\n` : r.yaml);
    return 0;
  },
};
