/**
 * Keeps a dataplane equal to (desired state x weight overlay). Changes are coalesced: however many
 * transactions and overlay updates arrive while a reconcile runs, the next one programs the latest table once.
 */
import { UnsupportedByDataplaneError } from './errors.js';
import { silentLogger, type Logger } from '@vsd/sys';
import { serviceKey } from './model/keys.js';
import type { Dataplane } from './dataplane/types.js';
import type { DesiredState } from './model/schema.js';
import type { StateStore } from './state/store.js';
import { buildTable } from './weights/table.js';
import type { WeightOverlay } from './weights/overlay.js';

export interface Reconciler {
  start(): Promise<void>;
  stop(): void;
  /** Resolves when the dataplane reflects everything committed so far. */
  settled(): Promise<void>;
  /** Programs the table again although neither state nor overlay changed (a dataplane option read per reconcile did). */
  refresh(): void;
}

export function createReconciler(deps: { store: StateStore; overlay: WeightOverlay; dataplane: Dataplane; logger?: Logger }): Reconciler {
  const { store, overlay, dataplane } = deps;
  const log = (deps.logger ?? silentLogger).child({ component: 'reconciler', dataplane: dataplane.name });
  let running: Promise<void> = Promise.resolve();
  let dirty = false;
  let pending = false;
  const unsubs: Array<() => void> = [];

  const schedule = (): void => {
    dirty = true;
    if (pending) return;
    pending = true;
    running = running.then(async () => {
      pending = false;
      while (dirty) {
        dirty = false;
        try {
          await dataplane.reconcile(buildTable(store.state, overlay));
        } catch (err) {
          log.error({ err }, 'reconcile failed');
        }
      }
    });
  };

  return {
    async start() {
      unsubs.push(store.addValidator((next) => assertSupported(dataplane, next)));
      unsubs.push(
        store.subscribe((change) => {
          for (const op of change.ops) {
            if (op.op === 'zero') void dataplane.zero(op.service ? serviceKey(op.service) : undefined);
            if (op.op === 'set-timeouts' && dataplane.setTimeouts) void dataplane.setTimeouts(change.state.timeouts);
            if ((op.op === 'start-daemon' || op.op === 'stop-daemon') && dataplane.syncDaemons) void dataplane.syncDaemons(change.state.syncDaemons);
          }
          schedule();
        }),
      );
      unsubs.push(overlay.onChange(schedule));
      assertSupported(dataplane, store.state);
      schedule();
      await running;
    },
    stop() {
      for (const u of unsubs.splice(0)) u();
    },
    refresh: schedule,
    async settled() {
      await store.flush();
      let last: Promise<void>;
      do {
        last = running;
        await last;
      } while (last !== running);
    },
  };
}

/** Refuse forwarding methods the dataplane cannot do, naming the dataplane that can. */
export function assertSupported(dataplane: Dataplane, state: Readonly<DesiredState>): void {
  for (const svc of state.services)
    for (const rs of svc.realServers)
      if (!dataplane.supports(rs.forwarding)) {
        if (rs.forwarding === 'masq') throw new UnsupportedByDataplaneError(dataplane.name, `NAT (masquerading, -m) to ${rs.address}`, 'proxy or ipvs');
        throw new UnsupportedByDataplaneError(
          dataplane.name,
          `${rs.forwarding === 'route' ? 'direct routing (-g)' : 'IP tunnelling (-i)'} to ${rs.address}`,
          'ipvs',
        );
      }
  dataplane.validate?.(state);
}
