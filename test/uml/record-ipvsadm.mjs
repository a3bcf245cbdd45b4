#!/usr/bin/env node
// Re-records packages/cli/test/fixtures/ipvsadm/golden.json: boots user-mode-linux, loads ip_vs and
// every scheduler module the UML kernel ships, and runs each case of cases.json against the real
// ipvsadm (see guest/record-ipvsadm.mjs). Usage: node test/uml/record-ipvsadm.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runInUml, umlModulesAvailable, umlKernelRelease, shellQuote } from './runner.mjs';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const fixtures = here('../../packages/cli/test/fixtures/ipvsadm/');
const casesPath = `${fixtures}cases.json`;
const goldenPath = `${fixtures}golden.json`;

const wanted = [
  'ip_vs',
  'ip_vs_rr',
  'ip_vs_wrr',
  'ip_vs_lc',
  'ip_vs_wlc',
  'ip_vs_sed',
  'ip_vs_nq',
  'ip_vs_dh',
  'ip_vs_sh',
  'ip_vs_lblc',
  'ip_vs_lblcr',
  'ip_vs_mh',
  'ip_vs_fo',
  'ip_vs_ovf',
  'ip_vs_twos',
  'ip_vs_pe_sip',
  'dummy',
];
const modules = umlModulesAvailable(wanted);

// eth0 is ipvsadm's default --mcast-interface; a dummy one gives the sync daemon somewhere to bind.
const script = `
set -e
ip link add eth0 type dummy
ip addr add 192.168.100.1/24 dev eth0
ip link set eth0 multicast on up
ip link set lo multicast on
node ${shellQuote(here('./guest/record-ipvsadm.mjs'))} ${shellQuote(casesPath)}
`;

const t0 = Date.now();
const r = await runInUml(script, { modules, timeoutMs: 180_000 });
if (r.exitCode !== 0 || !r.files['golden.json']) {
  process.stderr.write(`recording failed (exit ${r.exitCode}):\n${r.stdout}\n${r.stderr}\n`);
  process.exit(1);
}
const golden = JSON.parse(r.files['golden.json']);
const out = {
  description: 'Outputs of the real ipvsadm for cases.json, recorded by test/uml/record-ipvsadm.mjs. Do not edit by hand.',
  ipvsadm: golden.ipvsadm,
  kernel: `${umlKernelRelease()} (user-mode-linux)`,
  modules,
  cases: golden.cases,
};
const before = (() => {
  try {
    return readFileSync(goldenPath, 'utf8');
  } catch {
    return '';
  }
})();
const text = `${JSON.stringify(out, null, 1)}\n`;
writeFileSync(goldenPath, text);
const n = out.cases.reduce((a, c) => a + c.commands.length, 0);
console.log(`recorded ${out.cases.length} cases, ${n} commands in ${Date.now() - t0} ms -> ${goldenPath}${before === text ? ' (unchanged)' : ''}`);
