#!/usr/bin/env node
// `pnpm start`: two demo web servers and one vsd dispatcher (proxy dataplane) on 127.0.0.1, no root needed.
// `node examples/start.mjs --self-test` starts everything, fetches the VIP four times, prints the pages and exits
// (non-zero unless both pages were served).
// The demo uses ports 18080-18082 (examples/vsd-demo.yaml); when one is taken, or with --self-test, it picks free
// ports and runs a copy of the config with those ports from its run directory.
// Every start is clean: the state file of a previous run (a drained real server, a vsadm edit) is removed, so the
// demo always begins with both pages in rotation. `--resume` keeps it and says so.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const demoConfig = join(root, 'examples', 'vsd-demo.yaml');
let config = demoConfig;
const VIP = { host: '127.0.0.1', port: 18080 };
const WEBS = [
  { port: 18081, page: 'this is test 1 web' },
  { port: 18082, page: 'this is test 2 web' },
];
const selfTest = process.argv.includes('--self-test');
const resume = process.argv.includes('--resume');
const run = process.env.VSD_DEMO_DIR ?? join(tmpdir(), `vsd-demo-${process.getuid?.() ?? 'user'}`);
const socket = join(run, 'vsd.sock');
const state = join(run, 'state.json');
const logFile = join(run, 'vsd.log');
mkdirSync(run, { recursive: true });
// The state file and the record of the config applied last (state.json.config.json).
const previous = [state, `${state}.config.json`].filter((f) => existsSync(f));
if (!resume) for (const f of previous) rmSync(f, { force: true });

function startWeb(web) {
  const { port, page } = web;
  return new Promise((resolve, reject) => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${page}\n`);
    });
    server.once('error', (err) =>
      reject(new Error(`demo web server on 127.0.0.1:${port}: ${err.code === 'EADDRINUSE' ? 'port in use (is a demo already running?)' : err.message}`)),
    );
    server.listen(port, '127.0.0.1', () => {
      web.port = server.address().port;
      resolve(server);
    });
  });
}

function portFree(port) {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** Keep the demo's fixed ports when all are free; otherwise free ones, in a copy of the config. */
async function choosePorts() {
  const fixed = [VIP.port, ...WEBS.map((w) => w.port)];
  const free = await Promise.all(fixed.map(portFree));
  if (!selfTest && free.every(Boolean)) return;
  const text = readFileSync(demoConfig, 'utf8');
  VIP.port = await portFree(0);
  for (const w of WEBS) w.port = 0;
  return text;
}

function fetchText(path, opts = {}) {
  return new Promise((resolve, reject) => {
    const req = get({ ...opts, path, agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function startVsd(dataplane) {
  const out = openSync(logFile, 'a');
  const args = [join(root, 'packages/daemon/bin/vsd.js'), '--config', config, '--socket', socket, '--state', state, '--dataplane', dataplane];
  const child = spawn(process.execPath, args, { stdio: ['ignore', out, 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  return { child, stderr: () => stderr, args };
}

async function waitReady(vsd) {
  for (let i = 0; i < 100; i++) {
    if (vsd.child.exitCode !== null) return false;
    if (existsSync(socket)) {
      try {
        if ((await fetchText('/v1/status', { socketPath: socket })).status === 200) return true;
      } catch {
        // not listening yet
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

const webs = [];
let vsd;
let stopping = false;
async function shutdown(code) {
  stopping = true;
  if (vsd && vsd.child.exitCode === null) {
    vsd.child.kill('SIGTERM');
    await new Promise((r) => vsd.child.once('exit', r));
  }
  for (const w of webs) w.close();
  process.exit(code);
}

try {
  const template = await choosePorts();
  for (const w of WEBS) webs.push(await startWeb(w));
  if (template) {
    const fixed = ['18080', '18081', '18082'];
    const ports = [VIP.port, ...WEBS.map((w) => w.port)];
    config = join(run, 'vsd-demo.yaml');
    writeFileSync(
      config,
      fixed.reduce((t, f, i) => t.replaceAll(`127.0.0.1:${f}`, `127.0.0.1:${ports[i]}`), template),
    );
  }
  vsd = startVsd('proxy');
  if (!(await waitReady(vsd))) {
    const why = vsd.stderr().trim();
    if (!/dataplane is not available/.test(why)) throw new Error(`vsd did not start: ${why || `see ${logFile}`}`);
    process.stdout.write(`NOTE: this build has no proxy dataplane yet; vsd runs with --dataplane none (curl will not reach the pages)\n`);
    vsd = startVsd('none');
    if (!(await waitReady(vsd))) throw new Error(`vsd did not start: ${vsd.stderr().trim() || `see ${logFile}`}`);
  }
} catch (err) {
  process.stderr.write(`start: ${err.message}\n`);
  await shutdown(1);
}

const cli = (name) => `node ${join(root, `packages/cli/bin/${name}.js`)}`;
if (selfTest) {
  const pages = [];
  for (let i = 0; i < 4; i++) pages.push((await fetchText('/', VIP).catch((e) => ({ body: `error: ${e.message}` }))).body.trim());
  process.stdout.write(`${pages.join('\n')}\n`);
  const ok = WEBS.every((w) => pages.includes(w.page));
  await shutdown(ok ? 0 : 1);
}

process.stdout.write(`vsd demo running (Ctrl-C stops it)
  dispatcher   ${VIP.host}:${VIP.port} -> 127.0.0.1:${WEBS[0].port}, 127.0.0.1:${WEBS[1].port} (rr, ${vsd.args.at(-1)} dataplane)
  config       ${config}
  run dir      ${run} (socket, state file, vsd.log)
  state        ${resume && previous.length ? 'resumed from the previous run (--resume): its vsadm/vsctl changes are kept' : "fresh (a previous run's changes are discarded; --resume keeps them)"}

Try:
  curl http://${VIP.host}:${VIP.port}/          # run it twice: the two pages alternate (rr)
  ${cli('vsctl')} --socket ${socket} status
  ${cli('vsadm')} --socket ${socket} -L -n
  ${cli('vsadm')} --socket ${socket} -e -t ${VIP.host}:${VIP.port} -r 127.0.0.1:${WEBS[1].port} -m -w 0    # drain test 2
  tail -f ${logFile}
`);
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
vsd.child.once('exit', (code) => {
  if (stopping) return;
  process.stderr.write(`vsd exited (${code}); see ${logFile}\n`);
  void shutdown(code ?? 1);
});
