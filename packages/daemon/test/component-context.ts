/**
 * The DaemonContext a component sees, for in-process component tests: no state file, no routes mounted, a silent
 * logger; `config` is read through a getter so a test can swap the document before a reload.
 */
import { silentLogger, WeightOverlay, type Dataplane, type StateStore } from '@vsd/core';
import type { DaemonContext } from '../src/component.js';
import type { VsdConfig } from '../src/config.js';

export function componentContext(store: StateStore, dataplane: Dataplane, config: () => VsdConfig): DaemonContext {
  return {
    store,
    overlay: new WeightOverlay(),
    dataplane,
    logger: silentLogger,
    get config() {
      return config();
    },
    loaded: { services: [] },
    statePath: null,
    addRoutes: () => () => undefined,
  } as unknown as DaemonContext;
}
