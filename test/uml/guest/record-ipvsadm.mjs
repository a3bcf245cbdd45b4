// Runs inside the UML guest (node on the hostfs root): plays every case of cases.json against the
// real ipvsadm and writes stdout/stderr/exit code of each command to $VSD_OUT/golden.json.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const [casesPath] = process.argv.slice(2);
const { cases } = JSON.parse(readFileSync(casesPath, 'utf8'));

function ipvsadm(argv, stdin) {
  const r = spawnSync('ipvsadm', argv, { input: stdin ?? '', encoding: 'utf8', timeout: 20_000 });
  if (r.error) throw r.error;
  return { stdout: r.stdout, stderr: r.stderr, exitCode: r.status ?? -1 };
}

// Same starting point for every case: empty table, no sync daemon, default timeouts.
function reset() {
  ipvsadm(['-C']);
  ipvsadm(['--stop-daemon', 'master']);
  ipvsadm(['--stop-daemon', 'backup']);
  ipvsadm(['--set', '900', '120', '300']);
}

const recorded = [];
for (const c of cases) {
  reset();
  const commands = c.commands.map((cmd) => ({ ...cmd, ...ipvsadm(cmd.argv, cmd.stdin) }));
  recorded.push({ ...c, commands });
}
reset();
const version = ipvsadm(['-v']).stdout.trim();
writeFileSync(`${process.env.VSD_OUT}/golden.json`, JSON.stringify({ ipvsadm: version, cases: recorded }));
