/**
 * The vsd.yaml contract on its own (`@vsd/daemon/config`): the schema, the parser and the checks `vsd --check`
 * runs, without the daemon's runtime. `vsctl import-keepalived` loads it to check its output.
 */
export { vsdConfigSchema, type VsdConfig, type VirtualServerConfig, type RealServerConfig } from './config.js';
export { loadConfig, parseConfigText, MAX_CONFIG_BYTES, type LoadedConfig } from './config-load.js';
export { checkConfigFile, dataplaneProblems, type CheckResult } from './check.js';
