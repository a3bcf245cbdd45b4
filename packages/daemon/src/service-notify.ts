/**
 * What vsd tells the service manager (systemd Type=notify): READY=1 once the daemon's start is over — dataplane
 * programmed with the table, control API up, health checks, agents hub and the VRRP instance started (it has
 * joined the election) — RELOADING=1/READY=1 around a SIGHUP reload, STOPPING=1 on SIGTERM, and a STATUS line
 * that `systemctl status vsd` shows, refreshed on every VRRP transition.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServiceNotifier, type Logger, type ServiceNotifier } from '@vsd/core';
import { VRRP_STATE_CHANNEL } from '@vsd/ha';
import type { Daemon, ReloadResult } from './daemon.js';

export interface DaemonNotifier {
  started(daemon: Daemon): void;
  startFailed(err: Error): void;
  reloading(): void;
  reloaded(daemon: Daemon, result: ReloadResult): void;
  stopping(): void;
  close(): void;
}

/** "VI_1 MASTER, VI_2 BACKUP": the VRRP instances as the control API serves them (GET /v1/ha), when HA runs. */
function vrrpStates(daemon: Daemon): string | null {
  try {
    const route = daemon.components.flatMap((c) => c.routes?.() ?? []).find((r) => r.method === 'GET' && r.path === '/v1/ha');
    const doc = route?.handler({} as never) as { vrrp?: VrrpLike | null; instances?: VrrpLike[] } | undefined;
    const list = doc?.instances ?? (doc?.vrrp ? [doc.vrrp] : []);
    return list.length ? list.map((v) => `${v.instance} ${v.state}`).join(', ') : null;
  } catch {
    return null;
  }
}

interface VrrpLike {
  instance: string;
  state: string;
}

export function statusLine(daemon: Daemon): string {
  const n = daemon.store.state.services.length;
  const vrrp = vrrpStates(daemon);
  return `${n} virtual service${n === 1 ? '' : 's'} on the ${daemon.dataplane.name} dataplane, generation ${daemon.store.generation}${vrrp ? `, VRRP ${vrrp}` : ''}`;
}

export function daemonNotifier(logger: Logger, notifier: ServiceNotifier = createServiceNotifier({ logger })): DaemonNotifier {
  let running: Daemon | null = null;
  // A VRRP transition changes what `systemctl status vsd` should say: refresh STATUS= after the instance has
  // recorded its new state (the channel publishes from inside the transition).
  const onTransition = (): void => {
    if (running) setImmediate(() => running && notifier.status(`ready: ${statusLine(running)}`));
  };
  if (notifier.enabled) subscribe(VRRP_STATE_CHANNEL, onTransition);
  return {
    started: (daemon) => {
      running = daemon;
      notifier.ready(`ready: ${statusLine(daemon)}`);
    },
    startFailed: (err) => notifier.status(`cannot start: ${err.message}`),
    reloading: () => notifier.reloading(),
    reloaded: (daemon, result) =>
      notifier.ready(
        result.ok ? `reloaded: ${statusLine(daemon)}` : `reload refused, the running config stays: ${result.error.message}; ${statusLine(daemon)}`,
      ),
    stopping: () => {
      running = null;
      notifier.stopping();
    },
    close: () => {
      running = null;
      if (notifier.enabled) unsubscribe(VRRP_STATE_CHANNEL, onTransition);
      notifier.close();
    },
  };
}
