/**
 * What vsd tells the service manager (systemd Type=notify): READY=1 once the daemon's start is over — dataplane
 * programmed with the table, control API up, health checks, agents hub and the VRRP instance started (it has
 * joined the election) — RELOADING=1/READY=1 around a SIGHUP reload, STOPPING=1 on SIGTERM, and a STATUS line
 * that `systemctl status vsd` shows.
 */
import { createServiceNotifier, type Logger, type ServiceNotifier } from '@vsd/core';
import type { Daemon, ReloadResult } from './daemon.js';

export interface DaemonNotifier {
  started(daemon: Daemon): void;
  startFailed(err: Error): void;
  reloading(): void;
  reloaded(daemon: Daemon, result: ReloadResult): void;
  stopping(): void;
  close(): void;
}

/** The VRRP state as the control API serves it (GET /v1/ha), when the HA component runs. */
function vrrpState(daemon: Daemon): string | null {
  try {
    const route = daemon.components.flatMap((c) => c.routes?.() ?? []).find((r) => r.method === 'GET' && r.path === '/v1/ha');
    const doc = route?.handler({} as never) as { vrrp?: { state?: string } | null } | undefined;
    return doc?.vrrp?.state ?? null;
  } catch {
    return null;
  }
}

export function statusLine(daemon: Daemon): string {
  const n = daemon.store.state.services.length;
  const vrrp = vrrpState(daemon);
  return `${n} virtual service${n === 1 ? '' : 's'} on the ${daemon.dataplane.name} dataplane, generation ${daemon.store.generation}${vrrp ? `, VRRP ${vrrp}` : ''}`;
}

export function daemonNotifier(logger: Logger, notifier: ServiceNotifier = createServiceNotifier({ logger })): DaemonNotifier {
  return {
    started: (daemon) => notifier.ready(`ready: ${statusLine(daemon)}`),
    startFailed: (err) => notifier.status(`cannot start: ${err.message}`),
    reloading: () => notifier.reloading(),
    reloaded: (daemon, result) =>
      notifier.ready(result.ok ? `reloaded: ${statusLine(daemon)}` : `reload refused, the running config stays: ${result.error.message}; ${statusLine(daemon)}`),
    stopping: () => notifier.stopping(),
    close: () => notifier.close(),
  };
}
