/**
 * Optional parts of the daemon (health checks, VRRP, agents, peer sync) plug in as components: one file each
 * plus one line in components.ts. They start in list order after the store, dataplane, reconciler and
 * control API are up, stop in reverse order, and may contribute control API routes.
 */
import type { ControlRoute, Dataplane, Logger, StateStore, WeightOverlay } from '@vsd/core';
import type { LoadedConfig } from './config-load.js';
import type { VsdConfig } from './config.js';

export interface DaemonContext {
  readonly store: StateStore;
  readonly overlay: WeightOverlay;
  readonly dataplane: Dataplane;
  /** The root logger; take `logger.child({ component: name })`. */
  readonly logger: Logger;
  /** The config in force (replaced by a successful reload). */
  readonly config: VsdConfig;
  /**
   * The loaded file: `loaded.services[i]` is the core model of `config.virtual_servers[i]`, so a component
   * can pair a virtual server's keys (checks, quorum, sorry_server) with its serviceKey().
   */
  readonly loaded: LoadedConfig;
  readonly statePath: string | null;
  /** Add control API routes at any time; returns their removal. */
  addRoutes(routes: readonly ControlRoute[]): () => void;
  /** Add a section to GET /v1/status (read at each request; undefined leaves it out). Absent in some tests. */
  addStatus?(name: string, read: () => unknown): void;
  /** GET a control API route in-process (another component's status); throws VSD_ERR_NO_ROUTE when it is absent. */
  readRoute(path: string): Promise<unknown>;
}

export interface DaemonComponent {
  readonly name: string;
  start(ctx: DaemonContext): Promise<void>;
  /** Undo start(); called in reverse order on shutdown (also after a failed start of a later component). */
  stop(): Promise<void>;
  /**
   * Before anything of a reloaded file is applied: throw to refuse the whole reload (the running config stays),
   * when the component could not apply its section without harm (e.g. a running VRRP instance's VRID changed).
   */
  checkReload?(next: VsdConfig): void;
  /** A valid config was reloaded (SIGHUP); without this method the component keeps its settings until restart. */
  reload?(ctx: DaemonContext): Promise<void>;
  /** Control API routes, registered after start() and removed after stop(). */
  routes?(): readonly ControlRoute[];
}

/** Builds a component from the config, or returns null when its section is absent. */
export type ComponentFactory = (ctx: DaemonContext) => DaemonComponent | null | Promise<DaemonComponent | null>;
