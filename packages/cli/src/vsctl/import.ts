/**
 * `vsctl import-keepalived FILE [--dataplane ipvs|proxy] [--config-id ID] [--strict]`: print the vsd.yaml
 * equivalent of a keepalived.conf; what cannot be imported goes to stderr.
 *
 * Exit status: 0 written (warnings on stderr); 1 written, but --strict and something was not imported exactly
 * (a check dropped or replaced, an unknown or unsupported keyword); 2 refused, nothing written (a syntax error,
 * DR/TUN on --dataplane proxy, an undefined virtual_server_group, a translation vsd's config parser refuses).
 */
import { parseArgs } from 'node:util';
import { VsdError } from '@vsd/core';
import type { VsctlCommand } from './command.js';
import { importKeepalivedFile, type ImportDataplane, type ImportResult } from './import-keepalived.js';
import { KeepalivedSyntaxError } from './keepalived-parse.js';

export const importKeepalivedCommand: VsctlCommand = {
  summary: 'translate a keepalived.conf into vsd.yaml (stdout; dataplane: ipvs unless --dataplane proxy); unsupported parts are listed on stderr',
  usage: 'FILE [--dataplane ipvs|proxy] [--config-id ID] [--strict] [--json]',
  async run({ args, json, out }) {
    const err = (line: string): void => void process.stderr.write(`vsctl import-keepalived: ${line}\n`);
    let values: { dataplane?: string; 'config-id'?: string; strict?: boolean };
    let positionals: string[];
    try {
      ({ values, positionals } = parseArgs({
        args,
        options: { dataplane: { type: 'string' }, 'config-id': { type: 'string' }, strict: { type: 'boolean' }, json: { type: 'boolean' } },
        allowPositionals: true,
      }));
    } catch (e) {
      err((e as Error).message);
      return 2;
    }
    const file = positionals[0];
    if (!file || positionals.length > 1) {
      err('needs exactly one FILE (the path of a keepalived.conf)');
      return 2;
    }
    const dataplane = values.dataplane ?? 'ipvs';
    if (dataplane !== 'ipvs' && dataplane !== 'proxy') {
      err(`--dataplane ${dataplane}: one of ipvs (kernel IPVS, what keepalived uses) or proxy`);
      return 2;
    }
    let r: ImportResult;
    try {
      r = importKeepalivedFile(file, { dataplane: dataplane as ImportDataplane, configId: values['config-id'] });
    } catch (e) {
      if (e instanceof KeepalivedSyntaxError || e instanceof VsdError || (e as NodeJS.ErrnoException).code === 'ENOENT') {
        err((e as Error).message.replace(/^import-keepalived: /, ''));
        return 2;
      }
      throw e;
    }
    for (const w of r.warnings) err(w);
    out.write(json ? `${JSON.stringify(r.config, null, 2)}\n` : r.yaml);
    if (values.strict && r.lossy) {
      err(`--strict: ${r.details.filter((d) => d.kind !== 'info').length} part(s) not imported exactly (listed above); exit 1`);
      return 1;
    }
    return 0;
  },
};
