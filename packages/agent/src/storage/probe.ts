/**
 * Touching a mount (stat, read, write) happens only in a child process: a hung NFS or FUSE server blocks the caller
 * in the kernel, and the agent must keep reporting. The child is a tiny sh script (coreutils only, no second
 * Node runtime per probe) in its own process group; on timeout the whole group gets SIGKILL. A child the kernel
 * cannot kill yet (uninterruptible sleep) keeps its group alive: until it is gone no new probe starts for that
 * mount, so children never pile up, and the mount is reported unresponsive meanwhile.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

export interface ProbeRequest {
  path: string;
  /** Sentinel file relative to the mount, or null. */
  sentinel: string | null;
  /** Probe file name for the write test, or null to skip it. */
  writeFile: string | null;
  timeoutMs: number;
}

export interface ProbeResult {
  responsive: boolean;
  writable: boolean | null;
  sentinel: string | null;
  error: string | null;
  ms: number;
}

// $1 path, $2 sentinel ('' = none), $3 write-probe file ('' = none), $4 token written and read back.
const SCRIPT = `
say() { printf '\\n@@%s' "$*"; }
if ! e=$(stat -c %i -- "$1" 2>&1 >/dev/null); then say "responsive 0 $e"; exit 0; fi
if ! e=$(ls -f -- "$1" 2>&1 >/dev/null); then say "responsive 0 $e"; exit 0; fi
say "responsive 1"
if [ -n "$2" ]; then
  if h=$(sha256sum -- "$1/$2" 2>&1); then say "sentinel \${h%% *}"; else say "sentinel - $h"; fi
fi
if [ -n "$3" ]; then
  f="$1/$3"
  if e=$(printf '%s' "$4" | dd of="$f" conv=fsync status=none 2>&1); then
    if r=$(cat -- "$f" 2>&1) && [ "$r" = "$4" ]; then say "writable 1"; else say "writable 0 read back differs: $r"; fi
  else
    say "writable 0 $e"
  fi
  rm -f -- "$f" 2>/dev/null
fi
say done
`;

export function parseProbeOutput(text: string): Omit<ProbeResult, 'ms'> {
  const r: Omit<ProbeResult, 'ms'> = { responsive: false, writable: null, sentinel: null, error: null };
  const errors: string[] = [];
  let done = false;
  // Records start with "\n@@"; an error message may span lines (no `tr` per record: every process counts on a loaded host).
  for (const record of text.split('\n@@').slice(1)) {
    const [key, flag, ...rest] = record.replace(/[\r\n]+/g, ' ').split(' ');
    const msg = rest.join(' ').trim();
    if (key === 'responsive') {
      r.responsive = flag === '1';
      if (msg) errors.push(msg);
    } else if (key === 'sentinel') {
      if (flag && /^[0-9a-f]{64}$/.test(flag)) r.sentinel = flag;
      else errors.push(`sentinel: ${msg || 'unreadable'}`);
    } else if (key === 'writable') {
      r.writable = flag === '1';
      if (msg) errors.push(`write: ${msg}`);
    } else if (key === 'done') done = true;
  }
  if (r.responsive && !done) errors.push('probe ended early');
  r.error = errors.length ? errors.join('; ').slice(0, 1000) : null;
  return r;
}

/**
 * A member of the group that is not a zombie: zombies hold nothing (and wait for whichever init reaps orphans,
 * which can be slow in containers), so they must not block the next probe.
 */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return true;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) === pgid && f[0] !== 'Z' && f[0] !== 'X') return true;
    } catch {
      /* exited meanwhile */
    }
  }
  return false;
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/** One prober per mount: at most one child process group alive at a time. */
export class MountProber {
  private pgid: number | null = null;

  /** `alive` is replaceable for tests: a process in uninterruptible sleep cannot be produced on demand. */
  constructor(private readonly alive: (pgid: number) => boolean = groupAlive) {}

  private running = false;

  /** A probe is in flight (not yet answered nor timed out). */
  get busy(): boolean {
    return this.running;
  }

  /** Process group of a probe still alive (running or stuck), for status and tests. */
  get stuckGroup(): number | null {
    if (this.pgid !== null && !this.alive(this.pgid)) this.pgid = null;
    return this.pgid;
  }

  async probe(req: ProbeRequest): Promise<ProbeResult> {
    const t0 = Date.now();
    if (this.running) return { responsive: false, writable: null, sentinel: null, error: 'previous probe still running', ms: 0 };
    const stuck = this.stuckGroup;
    if (stuck !== null) {
      killGroup(stuck);
      return { responsive: false, writable: null, sentinel: null, error: `previous probe (process group ${stuck}) still stuck in the kernel`, ms: 0 };
    }
    this.running = true;
    try {
      return await this.run(req, t0);
    } finally {
      this.running = false;
    }
  }

  private run(req: ProbeRequest, t0: number): Promise<ProbeResult> {
    const token = randomBytes(12).toString('hex');
    const child = spawn('sh', ['-c', SCRIPT, 'vsd-probe', req.path, req.sentinel ?? '', req.writeFile ?? '', token], {
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const pgid = child.pid ?? null;
    this.pgid = pgid;
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      if (out.length < 16_384) out += c.toString('utf8');
    });
    return new Promise<ProbeResult>((resolve) => {
      let settled = false;
      const finish = (r: ProbeResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      const timer = setTimeout(() => {
        if (pgid !== null) killGroup(pgid);
        finish({ responsive: false, writable: null, sentinel: null, error: `no answer within ${req.timeoutMs} ms`, ms: Date.now() - t0 });
      }, req.timeoutMs);
      child.on('error', (err) =>
        finish({ responsive: false, writable: null, sentinel: null, error: `cannot start probe: ${err.message}`, ms: Date.now() - t0 }),
      );
      // Every command in the script runs inside $(...), so no grandchild holds our pipe: 'close' comes with the exit.
      child.on('close', () => finish({ ...parseProbeOutput(out), ms: Date.now() - t0 }));
    });
  }
}
