#!/usr/bin/env node
// IPVS programming benchmark: in one user-mode-linux boot (the host kernel has no ip_vs), times
//  - vsd's ipvs dataplane reconcile of N services x M dests from an empty table, with no change, and
//    with one changed weight,
//  - `ipvsadm -R` of the same rules from an empty table, and one `ipvsadm -e` for the same change,
// and checks both leave the same table (`ipvsadm -S -n` compared byte for byte).
// Usage: pnpm bench:ipvs [-- --services 1000 --dests 10]   (needs `pnpm build`; bench:ipvs builds first)
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runInUml, umlKernelRelease } from '../../test/uml/runner.mjs';

const { values } = parseArgs({ options: { services: { type: 'string', default: '1000' }, dests: { type: 'string', default: '10' } } });
const root = fileURLToPath(new URL('../../', import.meta.url));
const S = Number(values.services);
const D = Number(values.dests);

const r = await runInUml(`cd ${root} && node test/uml/guest/ipvs-scale.mjs ${S} ${D}`, {
  modules: ['ip_vs', 'ip_vs_wlc'],
  timeoutMs: 1_200_000,
  memMb: 768,
});
if (r.exitCode !== 0) {
  process.stderr.write(`bench failed (exit ${r.exitCode}):\n${r.stdout}\n${r.stderr}\n`);
  process.exit(1);
}
const x = JSON.parse(r.stdout.trim().split('\n').pop());
const ratio = (a, b) => (b > 0 ? `${(a / b).toFixed(2)}x` : '-');
const out = `Run with \`pnpm bench:ipvs\` (bench/ipvs/run.mjs) on ${new Date().toISOString().slice(0, 10)}.

Machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM; guest: user-mode-linux ${umlKernelRelease()} (768 MiB), node ${process.version}.
Load average at the end: ${loadavg()
  .map((l) => l.toFixed(2))
  .join(' ')}.

Table: ${S} TCP services (wlc) x ${D} NAT dests = ${S + S * D} kernel objects. Times are wall-clock inside the UML guest,
where every syscall is expensive (ptrace), so absolute figures are far above a native kernel's; the ratio is the point.

| figure | vsd (genl, batched) | ipvsadm | ipvsadm / vsd |
|---|---:|---:|---:|
| from empty to ${S}x${D} (${x.vsdFromEmptyOps} ops) | ${x.vsdFromEmptyMs} ms | ${x.ipvsadmRestoreMs} ms (\`-R\`) | ${ratio(x.ipvsadmRestoreMs, x.vsdFromEmptyMs)} |
| one weight changed (${x.vsdOneChangeOps} op) | ${x.vsdOneChangeMs} ms (whole-table reconcile) | ${x.ipvsadmOneChangeMs} ms (one \`-e\`) | ${ratio(x.ipvsadmOneChangeMs, x.vsdOneChangeMs)} |
| reconcile with no change (${x.vsdNoChangeOps} ops) | ${x.vsdNoChangeMs} ms | - | - |
| read back the whole table | ${x.vsdStatusMs} ms (status(): 1 + ${S} dumps) | ${x.ipvsadmListMs} ms (\`-Ln\`) | ${ratio(x.ipvsadmListMs, x.vsdStatusMs)} |

Same kernel table after both (ipvsadm -S -n, ${x.savedLines} lines): ${x.sameTable ? 'yes' : 'NO'}.
`;
process.stdout.write(`${out}\n`);
