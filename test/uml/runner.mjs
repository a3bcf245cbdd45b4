// User-mode-linux kernel lab: boots Debian's UML kernel with the host's / as a hostfs root, loads IPVS
// (and other) modules that this host's kernel lacks, runs one bash script as root in the guest and
// returns what it printed. Plain ESM so both vitest tests (via test/lib/uml.ts) and `node` scripts
// (recordings, benchmarks) can use it.
//
// Guest isolation: the guest sees the host's filesystem read-write, so the init script only mounts
// tmpfs/bind mounts inside the guest (they never reach the host) and writes results to a per-run
// host directory created here. /lib/modules does not exist on the host and must never be created:
// modules are found through `modprobe -d <guest tmpfs root>` instead, and the kernel's own
// request_module() goes through the same wrapper via /proc/sys/kernel/modprobe.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository, which guest scripts reach by its host path. */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const UML_KERNEL = process.env.VSD_UML_KERNEL ?? '/usr/bin/linux';
export const UML_MODULES_ROOT = process.env.VSD_UML_MODULES ?? '/usr/lib/uml/modules';

export class UmlUnavailableError extends Error {
  constructor(reason, detail) {
    super(`user-mode-linux lab cannot run: ${reason}${detail ? `\n${detail}` : ''}`);
    this.name = 'UmlUnavailableError';
    this.reason = reason;
  }
}

export class UmlTimeoutError extends Error {
  constructor(timeoutMs, consoleText) {
    super(`user-mode-linux guest did not power off within ${timeoutMs} ms (killed). Console tail:\n${tail(consoleText)}`);
    this.name = 'UmlTimeoutError';
  }
}

function tail(text, lines = 30) {
  return text.split('\n').slice(-lines).join('\n');
}

/** Kernel release of the installed UML modules (the single directory under UML_MODULES_ROOT). */
export function umlKernelRelease() {
  if (!existsSync(UML_MODULES_ROOT)) return undefined;
  const dirs = readdirSync(UML_MODULES_ROOT).filter((d) => existsSync(join(UML_MODULES_ROOT, d, 'modules.dep')));
  return dirs.sort().at(-1);
}

/** Throws UmlUnavailableError saying why the lab cannot run; returns the module release otherwise. */
export function assertUmlAvailable() {
  if (!existsSync(UML_KERNEL)) {
    throw new UmlUnavailableError(`UML kernel ${UML_KERNEL} not found`, 'Install it with: apt-get install -y user-mode-linux');
  }
  const release = umlKernelRelease();
  if (!release) {
    throw new UmlUnavailableError(`no UML modules under ${UML_MODULES_ROOT}`, 'The user-mode-linux package ships them; reinstall it.');
  }
  return release;
}

/** Which of the given module names exist in the UML module tree (modules.dep lookup). */
export function umlModulesAvailable(names) {
  const release = assertUmlAvailable();
  const dep = readFileSync(join(UML_MODULES_ROOT, release, 'modules.dep'), 'utf8');
  const have = new Set(
    dep.split('\n').map((l) =>
      l
        .split(':')[0]
        .split('/')
        .pop()
        ?.replace(/\.ko(\.\w+)?$/, ''),
    ),
  );
  return names.filter((n) => have.has(n) || have.has(n.replace(/-/g, '_')));
}

/**
 * Builds (once per source version) the LD_PRELOAD shim that lets UML 6.1 restore FPU state on hosts with a large
 * XSAVE area (AVX-512, AMX); see shim/xstate-ptrace.c. Harmless where sizes already match. Returns its path, or
 * undefined when no C compiler is there (the guest may then die at init, and the error says why).
 */
function xstateShim() {
  const src = join(REPO_ROOT, 'test/uml/shim/xstate-ptrace.c');
  const hash = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 12);
  const out = join(process.env.VSD_UML_WORK ?? '/var/tmp', `vsd-uml-xstate-${hash}.so`);
  if (existsSync(out)) return out;
  const tmpOut = `${out}.${process.pid}`;
  const r = spawnSync('cc', ['-O2', '-shared', '-fPIC', '-o', tmpOut, src, '-ldl'], { encoding: 'utf8' });
  if (r.status !== 0) {
    shimProblem = `the UML FPU shim did not build (${r.error?.message ?? r.stderr.trim()}); install gcc`;
    return undefined;
  }
  spawnSync('mv', ['-f', tmpOut, out]);
  return out;
}
let shimProblem = '';

function initScript({ release, workGuest, modules, env }) {
  const exports = Object.entries(env)
    .map(([k, v]) => `export ${k}=${shellQuote(v)}`)
    .join('\n');
  // Guest-only mounts. /run and /tmp become private tmpfs; the host work dir is reached through its
  // own path (it lives outside /tmp and /run on the host, see runInUml).
  return `#!/bin/bash
export PATH=/run/vsd-bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C LC_ALL=C
# UML keeps only the FPU state up to AVX per guest thread (see shim/xstate-ptrace.c): glibc must not pick its
# AVX-512 (EVEX) string functions, whose registers another guest thread could overwrite.
export GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD
W=${shellQuote(workGuest)}
exec >"$W/init.log" 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
# A checkout under /tmp or /run (CI clones anywhere) would vanish under the private tmpfs: keep it at its path.
REPO=${shellQuote(REPO_ROOT)}
case "$REPO" in /tmp/*|/run/*) mkdir -p "$W/repo" && mount --bind "$REPO" "$W/repo" ;; esac
mount -t tmpfs -o size=64m tmpfs /run
mount -t tmpfs -o size=256m tmpfs /tmp
case "$REPO" in /tmp/*|/run/*) mkdir -p "$REPO" && mount --bind "$W/repo" "$REPO" ;; esac
mkdir -p /run/netns /dev/shm && mount -t tmpfs tmpfs /dev/shm
mkdir -p /run/vsd-mod/lib/modules /run/vsd-bin
ln -s ${shellQuote(join(UML_MODULES_ROOT, release))} /run/vsd-mod/lib/modules/${release}
printf '#!/bin/sh\\nexec /sbin/modprobe -d /run/vsd-mod "$@"\\n' > /run/vsd-bin/modprobe
chmod +x /run/vsd-bin/modprobe
echo /run/vsd-bin/modprobe > /proc/sys/kernel/modprobe
ip link set lo up
mods_failed=""
for m in ${modules.map(shellQuote).join(' ')}; do
  /run/vsd-bin/modprobe "$m" || mods_failed="$mods_failed $m"
done
echo "$mods_failed" > "$W/modules-failed"
${exports}
export VSD_OUT="$W/out"
cd "$W"
echo booted > "$W/booted"
bash "$W/script.sh" < "$W/stdin" > "$W/stdout" 2> "$W/stderr"
echo $? > "$W/rc"
sync
poweroff -f -d  # -d: no wtmp record on the host (hostfs root)
`;
}

export function shellQuote(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

/**
 * Boots UML, loads opts.modules, runs `script` with bash as root in the guest.
 * Files the script writes to $VSD_OUT come back in `files` (name -> utf8 content).
 * Rejects with UmlUnavailableError / UmlTimeoutError when the guest cannot run the script: the lab
 * tier must fail loudly, never pass on a machine where it did not run.
 */
export async function runInUml(script, opts = {}) {
  const release = assertUmlAvailable();
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const memMb = opts.memMb ?? 512;
  const modules = opts.modules ?? [];
  const missing = modules.filter((m) => umlModulesAvailable([m]).length === 0);
  if (missing.length) throw new UmlUnavailableError(`kernel modules not shipped for UML ${release}: ${missing.join(', ')}`);
  // Not under /tmp or /run: the guest mounts private tmpfs there and would no longer see it.
  const base = opts.workBase ?? process.env.VSD_UML_WORK ?? '/var/tmp';
  mkdirSync(base, { recursive: true });
  const work = mkdtempSync(join(base, 'vsd-uml-'));
  mkdirSync(join(work, 'out'));
  mkdirSync(join(work, 'uml'));
  writeFileSync(join(work, 'script.sh'), script);
  writeFileSync(join(work, 'stdin'), opts.stdin ?? '');
  const init = join(work, 'init.sh');
  writeFileSync(init, initScript({ release, workGuest: work, modules, env: opts.env ?? {} }));
  chmodSync(init, 0o755);
  const started = Date.now();
  try {
    const consoleText = await boot({
      init,
      work,
      memMb,
      timeoutMs,
      signal: opts.signal,
      onSpawn: opts.onSpawn,
      tmp: opts.umlTmp ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir()),
    });
    return collect(work, consoleText, Date.now() - started);
  } finally {
    if (!opts.keepWork) rmSync(work, { recursive: true, force: true });
  }
}

function boot({ init, work, memMb, timeoutMs, signal, onSpawn, tmp }) {
  const args = [
    `mem=${memMb}M`,
    'rootfstype=hostfs',
    'rw',
    `init=${init}`,
    `umid=vsd${process.pid}x${Date.now() % 1e6}`,
    `uml_dir=${join(work, 'uml')}`,
    'con0=null,fd:1',
    'con=null',
    'ssl=null',
    'quiet',
  ];
  const shim = xstateShim();
  return new Promise((resolve, reject) => {
    let out = '';
    let settled = false;
    const child = spawn(UML_KERNEL, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group: UML forks helper processes that must die with it
      env: { ...process.env, TMPDIR: tmp, ...(shim ? { LD_PRELOAD: shim } : {}) },
    });
    if (child.pid) onSpawn?.(child.pid);
    const onData = (d) => {
      out += d.toString();
      if (out.length > 1_000_000) out = out.slice(-500_000);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const killGroup = () => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      settled = true;
      killGroup();
      reject(new UmlTimeoutError(timeoutMs, out + readIfExists(join(work, 'init.log'))));
    }, timeoutMs);
    // opts.signal (a benchmark's Ctrl-C): the guest's whole process group goes, as on a timeout.
    const onAbort = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      killGroup();
      reject(new Error('user-mode-linux guest aborted'));
    };
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      clearTimeout(timer);
      if (!settled) reject(new UmlUnavailableError(`cannot execute ${UML_KERNEL}: ${err.message}`));
      settled = true;
    });
    child.on('exit', () => {
      signal?.removeEventListener('abort', onAbort);
      clearTimeout(timer);
      killGroup(); // leftover helper processes, if any
      if (!settled) resolve(out);
      settled = true;
    });
  });
}

function readIfExists(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function collect(work, consoleText, elapsedMs) {
  const initLog = readIfExists(join(work, 'init.log'));
  if (!existsSync(join(work, 'booted'))) {
    throw new UmlUnavailableError(`guest did not reach the init script${shimProblem ? `; ${shimProblem}` : ''}`, tail(consoleText + initLog));
  }
  const failed = readIfExists(join(work, 'modules-failed')).trim();
  if (failed) throw new UmlUnavailableError(`modprobe failed in the guest for: ${failed}`, tail(initLog));
  const rc = readIfExists(join(work, 'rc')).trim();
  if (rc === '') throw new UmlUnavailableError('guest script did not finish (no exit status written)', tail(consoleText + initLog));
  const files = {};
  const outDir = join(work, 'out');
  for (const name of readdirSync(outDir)) {
    if (statSync(join(outDir, name)).isFile()) files[name] = readFileSync(join(outDir, name), 'utf8');
  }
  return {
    stdout: readIfExists(join(work, 'stdout')),
    stderr: readIfExists(join(work, 'stderr')),
    exitCode: Number(rc),
    files,
    console: consoleText,
    elapsedMs,
  };
}
