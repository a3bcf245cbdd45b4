/**
 * The service manager's notification protocol (systemd's sd_notify): newline-separated KEY=VALUE datagrams sent to
 * the unix socket named by $NOTIFY_SOCKET. Without that variable (not started by systemd with Type=notify) every
 * call is a no-op, so the daemon calls it unconditionally. A failed send is logged once and never stops the daemon:
 * readiness is a courtesy to the service manager, the service itself is already up.
 */
import type { Logger } from './logger.js';
import { sendUnixDatagram } from './unix-dgram.js';

export interface ServiceNotifier {
  /** A NOTIFY_SOCKET was given. */
  readonly enabled: boolean;
  /** Send raw fields (READY=1, STATUS=..., ...); values are put on one line. */
  notify(fields: Record<string, string | number>): void;
  /** READY=1 with a status line: start-up is over (or a reload finished). */
  ready(status: string): void;
  /** RELOADING=1 (with MONOTONIC_USEC, which Type=notify-reload requires); follow with ready(). */
  reloading(status?: string): void;
  stopping(status?: string): void;
  status(text: string): void;
  /** Stop the watchdog timer, if any. */
  close(): void;
}

export interface ServiceNotifierOptions {
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Replaces the socket send (tests). */
  send?: (socketPath: string, data: Buffer) => void;
  pid?: number;
}

/** CLOCK_MONOTONIC in microseconds (libuv's hrtime reads CLOCK_MONOTONIC on Linux), as systemd compares it. */
function monotonicUsec(): string {
  return (process.hrtime.bigint() / 1000n).toString();
}

export function encodeNotifyFields(fields: Record<string, string | number>): Buffer {
  return Buffer.from(
    Object.entries(fields)
      .map(([k, v]) => `${k}=${String(v).replace(/\s*\n\s*/g, ' ')}`)
      .join('\n'),
  );
}

/**
 * Reads NOTIFY_SOCKET and the watchdog variables, then removes them from `env` (as sd_notify's unset_environment):
 * processes vsd starts (health scripts, notify scripts) must not speak for vsd to the service manager.
 */
export function createServiceNotifier(options: ServiceNotifierOptions = {}): ServiceNotifier {
  const env = options.env ?? process.env;
  const socket = env.NOTIFY_SOCKET || null;
  const watchdogUsec = Number(env.WATCHDOG_USEC);
  const watchdogPid = env.WATCHDOG_PID === undefined ? null : Number(env.WATCHDOG_PID);
  delete env.NOTIFY_SOCKET;
  delete env.WATCHDOG_USEC;
  delete env.WATCHDOG_PID;
  const send = options.send ?? sendUnixDatagram;
  const log = options.logger?.child({ component: 'sd-notify' });
  let failed = false;
  let watchdog: NodeJS.Timeout | undefined;

  const notify = (fields: Record<string, string | number>): void => {
    if (!socket) return;
    try {
      send(socket, encodeNotifyFields(fields));
      failed = false;
    } catch (err) {
      if (!failed) log?.warn({ err, socket }, 'cannot notify the service manager (NOTIFY_SOCKET)');
      failed = true;
    }
  };

  // The watchdog is armed by the first READY=1: before that, start-up time is TimeoutStartSec's business.
  const armWatchdog = (): void => {
    const mine = watchdogPid === null || watchdogPid === (options.pid ?? process.pid);
    if (watchdog || !socket || !(watchdogUsec > 0) || !mine) return;
    // Half the interval, as sd_watchdog_enabled(3) recommends; a blocked event loop misses it and systemd restarts vsd.
    watchdog = setInterval(() => notify({ WATCHDOG: 1 }), Math.max(1, Math.floor(watchdogUsec / 2000)));
    watchdog.unref();
  };

  return {
    enabled: socket !== null,
    notify,
    ready(status) {
      notify({ READY: 1, STATUS: status });
      armWatchdog();
    },
    reloading(status = 'reloading the config file') {
      notify({ RELOADING: 1, MONOTONIC_USEC: monotonicUsec(), STATUS: status });
    },
    stopping(status = 'stopping: draining connections') {
      notify({ STOPPING: 1, STATUS: status });
    },
    status(text) {
      notify({ STATUS: text });
    },
    close() {
      clearInterval(watchdog);
      watchdog = undefined;
    },
  };
}
