/**
 * notify hooks: the script runs with keepalived's `notify` arguments (INSTANCE <name> <STATE> <priority>),
 * without a shell and without waiting: a slow script never delays a transition.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '@vsd/core';

export type NotifyState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';

export type NotifyRunner = (script: string, args: string[]) => void;

/** Default runner: detached from our stdio, killed if still running after `timeoutMs`. */
export function spawnNotify(logger: Logger, timeoutMs = 30_000): NotifyRunner {
  return (script, args) => {
    const [command, ...extra] = script.split(/\s+/).filter(Boolean);
    let child: ChildProcess;
    try {
      child = spawn(command, [...extra, ...args], { stdio: 'ignore' });
    } catch (err) {
      logger.warn({ script, err: (err as Error).message }, 'notify script could not start');
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    timer.unref();
    child.on('error', (err) => logger.warn({ script, err: err.message }, 'notify script could not start'));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) logger.warn({ script, code, signal }, 'notify script failed');
      else logger.debug({ script }, 'notify script done');
    });
  };
}

export function notifyArgs(instance: string, state: NotifyState, priority: number): string[] {
  return ['INSTANCE', instance, state, String(priority)];
}
