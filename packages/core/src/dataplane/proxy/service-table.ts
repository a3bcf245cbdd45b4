/**
 * Applying a table to a set of live virtual services, the same in the main thread and in the epoll engine thread:
 * new services are created (or revived, connections and all, if they were removed while connections lived),
 * existing ones updated, missing ones returned for retiring. Listeners are the caller's business.
 */
import type { Logger } from '@vsd/sys';
import type { DataplaneService } from '../types.js';
import type { ProxyService } from './service.js';

export interface ServiceSlot {
  svc: ProxyService;
}

export interface TableChanges<E> {
  /** Created or revived: their listeners must be opened. */
  added: E[];
  /** No longer in the table: retire them (stop listening, keep their connections). */
  removed: E[];
}

export function applyServiceTable<E extends ServiceSlot>(
  table: readonly DataplaneService[],
  services: Map<string, E>,
  retired: Map<string, E>,
  create: (entry: DataplaneService) => E,
  log: Logger,
): TableChanges<E> {
  const keep = new Set<string>();
  const added: E[] = [];
  for (const entry of table) {
    keep.add(entry.key);
    const live = services.get(entry.key);
    if (live) {
      try {
        live.svc.update(entry);
      } catch (err) {
        log.error({ err, service: entry.key }, 'virtual service update failed');
      }
      continue;
    }
    const e = retired.get(entry.key) ?? create(entry);
    retired.delete(entry.key);
    e.svc.retired = false;
    try {
      e.svc.update(entry);
    } catch (err) {
      log.error({ err, service: entry.key }, 'virtual service not programmed');
      continue;
    }
    services.set(entry.key, e);
    added.push(e);
  }
  const removed = [...services.values()].filter((e) => !keep.has(e.svc.key));
  return { added, removed };
}
