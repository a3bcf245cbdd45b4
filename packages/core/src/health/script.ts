/**
 * MISC_CHECK: run a command (through /bin/sh, so quoting and arguments work as typed) and judge its exit status.
 * Exit 0 = up. Without misc_dynamic any other status is down; with it, 1 = down and 2..255 = up with
 * weight = status - 2 (0..253), as keepalived. On timeout the script's process group gets SIGTERM and, if still
 * there after a grace period, SIGKILL; the check fails at the timeout without waiting for the kill.
 */
import { spawn } from 'node:child_process';
import { errorReason, fail, ok, type Checker, type CheckSignal, type CheckResult } from './checker.js';
import { SCRIPT_KILL_GRACE_MS } from './constants.js';

export interface ScriptCheckerOptions {
  command: string;
  timeoutMs: number;
  dynamic: boolean;
  killGraceMs?: number;
  /** Extra environment (the real server's address and port are passed as VSD_RS_ADDRESS / VSD_RS_PORT). */
  env?: Record<string, string>;
}

export function createScriptChecker(o: ScriptCheckerOptions): Checker {
  return {
    kind: 'misc',
    name: `misc ${o.command}`,
    check: (signal) => run(o, signal),
  };
}

function run(o: ScriptCheckerOptions, signal?: CheckSignal): Promise<CheckResult> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(fail('aborted'));
    let done = false;
    let exited = false;
    // Its own process group, so a timeout kills whatever the script started too.
    const child = spawn('/bin/sh', ['-c', o.command], { detached: true, stdio: 'ignore', env: { ...process.env, ...o.env } });
    const killGroup = (sig: NodeJS.Signals, evenAfterExit = false): void => {
      if ((exited && !evenAfterExit) || child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // Already gone.
      }
    };
    const finish = (r: CheckResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const onAbort = (): void => {
      killGroup('SIGKILL');
      finish(fail('aborted'));
    };
    const timer = setTimeout(() => {
      killGroup('SIGTERM');
      // The group may outlive its leader (the shell dies on SIGTERM, a child ignores it): SIGKILL it regardless.
      const grace = setTimeout(() => killGroup('SIGKILL', true), o.killGraceMs ?? SCRIPT_KILL_GRACE_MS);
      grace.unref();
      finish(fail(`timeout after ${o.timeoutMs} ms`));
    }, o.timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (err) => {
      exited = true;
      finish(fail(`cannot run: ${errorReason(err)}`));
    });
    child.once('exit', (code, sig) => {
      exited = true;
      finish(judge(code, sig, o.dynamic));
    });
  });
}

function judge(code: number | null, sig: NodeJS.Signals | null, dynamic: boolean): CheckResult {
  if (code === null) return fail(`killed by ${sig ?? 'a signal'}`);
  if (code === 0) return ok('exit 0');
  if (dynamic && code >= 2) return ok(`exit ${code}, weight ${code - 2}`, code - 2);
  return fail(`exit ${code}`);
}
