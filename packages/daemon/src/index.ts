/**
 * @vsd/daemon: vsd, the dispatcher daemon. Its composition root (startDaemon: dataplane, control socket, health,
 * HA, peer sync, agents and metrics wired as components), the vsd.yaml contract and `vsd --check`.
 */
export { main } from './main.js';
export { startDaemon, DEFAULT_CONFIG, DEFAULT_STATE, DEFAULT_DRAIN_MS, type Daemon, type DaemonOptions, type ReloadResult } from './daemon.js';
export { componentFactories } from './components.js';
export type { ComponentFactory, DaemonComponent, DaemonContext } from './component.js';
export { daemonVersion } from './version.js';
export * from './config-contract.js';
