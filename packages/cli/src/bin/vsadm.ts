/** vsadm: ipvsadm 1.31's command line, talking to vsd's control API. */
import { runVsadm } from '../vsadm/run.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

// `vsadm -ln | head -1`: a closed pipe ends vsadm quietly, as SIGPIPE ends ipvsadm.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const result = await runVsadm({ args: process.argv.slice(2), program: 'vsadm', readStdin });
if (result.stdout) process.stdout.write(result.stdout);
if (result.stderr) process.stderr.write(result.stderr);
process.exitCode = result.code;
