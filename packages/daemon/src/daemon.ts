/**
 * The vsd daemon, composed: config -> desired-state store -> dataplane + reconciler -> control API ->
 * optional components. Start is ordered and fails at boot (not at the first packet) when something is
 * missing; stop runs in reverse and drains the dataplane.
 */
import { existsSync } from 'node:fs';
import {
  ConfigError,
  createControlServer,
  createReconciler,
  DEFAULT_SOCKET,
  StateStore,
  WeightOverlay,
  type ControlRoute,
  type ControlServer,
  type Dataplane,
  type DataplaneName,
  type Logger,
} from '@vsd/core';
import { applyConfig, type ApplyOutcome } from './config-apply.js';
import { loadConfig, proxyProtocolPair, type LoadedConfig } from './config-load.js';
import { assertProxyProtocolServable } from './check.js';
import type { ComponentFactory, DaemonComponent, DaemonContext } from './component.js';
import { componentFactories } from './components.js';
import { createDataplane, startDataplane } from './dataplane.js';
import { haAbsentRoutes, reloadRoute } from './routes.js';

export const DEFAULT_CONFIG = '/etc/vsd/vsd.yaml';
export const DEFAULT_STATE = '/var/lib/vsd/state.json';
export const DEFAULT_DRAIN_MS = 5000;

export interface DaemonOptions {
  configPath: string;
  /** null: keep the desired state in memory only. */
  statePath: string | null;
  logger: Logger;
  /** Explicit settings (command line) win over the config file, which wins over the defaults. */
  socketPath?: string;
  dataplane?: DataplaneName | Dataplane;
  listen?: string;
  tokenFile?: string;
  drainTimeoutMs?: number;
  /** Components to run instead of the registered ones (tests). */
  components?: ComponentFactory[];
}

export type ReloadResult = { ok: true; outcome: ApplyOutcome } | { ok: false; error: Error };

export interface Daemon {
  readonly store: StateStore;
  readonly overlay: WeightOverlay;
  readonly dataplane: Dataplane;
  readonly control: ControlServer;
  readonly components: readonly DaemonComponent[];
  loaded(): LoadedConfig;
  /** Re-read the config file; an invalid one is refused (logged) and the running one stays. */
  reload(): Promise<ReloadResult>;
  /** Stop accepting, stop components, drain the dataplane up to the drain timeout. Idempotent. */
  stop(): Promise<void>;
}

export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const log = options.logger.child({ component: 'daemon' });
  const cleanup: Array<() => Promise<void> | void> = [];
  const unwind = async () => {
    for (const fn of cleanup.splice(0).reverse()) await Promise.resolve(fn()).catch((err) => log.error({ err }, 'cleanup failed'));
  };
  try {
    let loaded = await loadConfig(options.configPath);
    const cfg = loaded.config;
    const stateExisted = options.statePath !== null && existsSync(options.statePath);
    const store = await StateStore.open({ path: options.statePath, logger: options.logger });
    const overlay = new WeightOverlay();
    const dataplaneName = typeof options.dataplane === 'object' ? options.dataplane.name : (options.dataplane ?? cfg.dataplane ?? 'proxy');
    assertProxyProtocolServable(dataplaneName, loaded);
    // Read per reconcile, so a reload that only changes proxy_protocol takes effect with reconciler.refresh().
    let proxyProtocolPairs = new Set(loaded.proxyProtocolPairs);
    const choice = {
      proxyEngine: cfg.proxy_engine,
      proxyThreads: cfg.proxy_threads,
      udpMaxFlows: cfg.proxy_udp_max_flows,
      udpMaxFlowsPerService: cfg.proxy_udp_max_flows_per_service,
      proxyProtocol: (svc: string, rs: string) => proxyProtocolPairs.has(proxyProtocolPair(svc, rs)),
      xdp: cfg.xdp && { interface: cfg.xdp.interface, mode: cfg.xdp.mode, tunnelSource: cfg.xdp.tunnel_source ?? null, connTableSize: cfg.xdp.conn_table_size },
    };
    const chosen =
      typeof options.dataplane === 'object' ? options.dataplane : createDataplane(options.dataplane ?? cfg.dataplane ?? 'proxy', options.logger, choice);
    const drainMs = options.drainTimeoutMs ?? cfg.drainTimeoutMs ?? DEFAULT_DRAIN_MS;
    log.info({ config: options.configPath, state: options.statePath, dataplane: chosen.name, generation: store.generation }, 'vsd starting');

    const dataplane = await startDataplane(chosen, cfg.xdp?.fallback ?? 'off', (name) => createDataplane(name, options.logger, choice), options.logger);
    cleanup.push(() => dataplane.close(drainMs));
    const reconciler = createReconciler({ store, overlay, dataplane, logger: options.logger });
    await reconciler.start();
    cleanup.push(() => reconciler.stop());
    const memory = { record: null };
    await applyConfig({ store, loaded, statePath: options.statePath, stateExisted, log, reason: 'start', memory });
    await reconciler.settled();

    const statusSections = new Map<string, () => unknown>();
    let reload: () => Promise<ReloadResult> = async () => ({ ok: false, error: new ConfigError('reload', 'vsd is still starting; reload once it runs') });
    const control = await createControlServer({
      store,
      overlay,
      dataplane,
      logger: options.logger,
      socket: options.socketPath ?? cfg.control?.socket ?? DEFAULT_SOCKET,
      listen: options.listen ?? cfg.control?.listen,
      tokenFile: options.tokenFile ?? cfg.control?.token_file,
      settled: reconciler.settled,
      extraRoutes: [reloadRoute(() => reload())],
      statusSections: async () => {
        const out: Record<string, unknown> = {};
        for (const [name, read] of statusSections) {
          const v = await read();
          if (v !== undefined) out[name] = v;
        }
        return out;
      },
    });
    cleanup.push(() => control.close(Math.min(drainMs, 2000)));

    const ctx: DaemonContext = {
      store,
      overlay,
      dataplane,
      logger: options.logger,
      get config() {
        return loaded.config;
      },
      get loaded() {
        return loaded;
      },
      statePath: options.statePath,
      addRoutes: (routes: readonly ControlRoute[]) => control.addRoutes(routes),
      addStatus: (name: string, read: () => unknown) => void statusSections.set(name, read),
      readRoute: (path: string) => control.read(path),
    };
    const components = await startComponents(options.components ?? componentFactories, ctx, cleanup, log);
    if (!components.some((c) => c.name === 'ha')) control.addRoutes(haAbsentRoutes());

    reload = async () => {
      try {
        const next = await loadConfig(options.configPath);
        assertProxyProtocolServable(dataplane.name, next);
        for (const c of components) c.checkReload?.(next.config);
        const outcome = await applyConfig({ store, loaded: next, statePath: options.statePath, stateExisted: true, log, reason: 'reload', memory });
        loaded = next;
        proxyProtocolPairs = new Set(next.proxyProtocolPairs);
        reconciler.refresh();
        for (const c of components) await c.reload?.(ctx);
        await reconciler.settled();
        return { ok: true, outcome };
      } catch (err) {
        log.error({ err, config: options.configPath, reason: (err as Error).message }, 'config reload refused: the running config stays');
        return { ok: false, error: err as Error };
      }
    };

    let stopping: Promise<void> | null = null;
    log.info({ socket: control.socket, tcp: control.tcpAddress, services: store.state.services.length, generation: store.generation }, 'vsd ready');
    return {
      store,
      overlay,
      dataplane,
      control,
      components,
      loaded: () => loaded,
      reload: () => reload(),
      stop() {
        stopping ??= (async () => {
          log.info({ drainMs }, 'vsd stopping');
          await unwind();
          await store.flush();
          log.info('vsd stopped');
        })();
        return stopping;
      },
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}

async function startComponents(
  factories: readonly ComponentFactory[],
  ctx: DaemonContext,
  cleanup: Array<() => Promise<void> | void>,
  log: Logger,
): Promise<DaemonComponent[]> {
  const started: DaemonComponent[] = [];
  for (const factory of factories) {
    const c = await factory(ctx);
    if (!c) continue;
    await c.start(ctx);
    const removeRoutes = c.routes ? ctx.addRoutes(c.routes()) : () => undefined;
    cleanup.push(async () => {
      removeRoutes();
      await c.stop();
    });
    started.push(c);
    log.info({ name: c.name }, 'component started');
  }
  return started;
}
