/** What the health monitor is given (per virtual service) and what it reports. */
import type { RealServer } from '../model/schema.js';
import type { CheckSpec } from './config.js';
import type { CheckerStatus, RealServerHealthStatus, ServiceHealthStatus, HealthStatus } from '@vsd/protocol';
export type { CheckerStatus, RealServerHealthStatus, ServiceHealthStatus, HealthStatus };

export interface HealthRealServerSpec {
  address: string;
  port: number;
  /** The operator's configured weight: what quorum counts, and the ceiling of a dynamic weight. */
  weight: number;
  /** All must pass. None: the real server is always alive. */
  checks: CheckSpec[];
  /** keepalived's real_server-level inhibit_on_failure; the virtual server's when absent. */
  inhibitOnFailure?: boolean;
}

export interface HealthServiceSpec {
  /** serviceKey() of the virtual service. */
  key: string;
  /** The virtual server's delay_loop, for checks without their own. */
  delayLoopMs: number;
  quorum: number;
  hysteresis: number;
  /** Installed in place of the real servers while quorum is lost. */
  sorryServer: RealServer | null;
  /** A failed real server keeps its connections at weight 0 instead of being removed. */
  inhibitOnFailure: boolean;
  /** Real servers start down until their first successful check. */
  alpha: boolean;
  /** On stop: quorum_down runs and the service's health adjustments and sorry server are cleared. */
  omega: boolean;
  quorumUp?: string;
  quorumDown?: string;
  realServers: HealthRealServerSpec[];
}

export type HealthEvent =
  | { type: 'realserver'; service: string; realServer: string; alive: boolean; checker: string; reason: string }
  | { type: 'quorum'; service: string; up: boolean; weightSum: number };
