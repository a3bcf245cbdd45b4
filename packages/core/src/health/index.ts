export type { Checker, CheckResult, CheckTarget } from './checker.js';
export {
  checksConfigSchema,
  parseChecks,
  parseAddressPort,
  virtualServerHealthFields,
  virtualServerHealthSchema,
  type CheckKind,
  type CheckSpec,
  type ChecksConfig,
  type HttpCheckSpec,
  type MiscCheckSpec,
  type TcpCheckSpec,
  type VirtualServerHealthConfig,
} from './config.js';
export * from './constants.js';
export { createChecker } from './checkers.js';
export { createTcpChecker } from './tcp.js';
export { createHttpChecker } from './http.js';
export { createScriptChecker } from './script.js';
export { parseStatusCodes, statusAccepted, type StatusRange } from './status-codes.js';
export { nextQuorumState, initialQuorumState } from './quorum.js';
export { createHealthMonitor, type HealthEngine, type HealthMonitor, type HealthMonitorOptions } from './monitor.js';
export { probeThreadUnavailable } from './probe/client.js';
export { buildHealthService, type HealthServiceInput } from './spec.js';
export type * from './types.js';
export { healthRoutes } from './routes.js';
