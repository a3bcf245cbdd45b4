/** What the health monitor is given (per virtual service) and what it reports. */
import type { RealServer } from '../model/schema.js';
import type { CheckSpec } from './config.js';

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

export interface CheckerStatus {
  name: string;
  kind: string;
  state: 'up' | 'down';
  checks: number;
  failures: number;
  consecutiveOk: number;
  consecutiveFail: number;
  /** Retries spent on the current failure (0..retry). */
  retrying: number;
  dynamicWeight: number | null;
  last: { ok: boolean; reason: string; at: string; durationMs: number } | null;
}

export interface RealServerHealthStatus {
  key: string;
  state: 'up' | 'down';
  /** Configured weight. */
  weight: number;
  /** The weight health allows: configured, lowered by a dynamic weight; 0 while down. */
  healthWeight: number;
  transitions: number;
  failures: number;
  since: string;
  checker: string | null;
  reason: string;
  checkers: CheckerStatus[];
}

export interface ServiceHealthStatus {
  key: string;
  quorum: { up: boolean; weightSum: number; quorum: number; hysteresis: number };
  /** "ADDR:PORT" of the sorry server while it is in place. */
  sorryServer: string | null;
  realServers: RealServerHealthStatus[];
}

export interface HealthStatus {
  services: ServiceHealthStatus[];
}

export type HealthEvent =
  | { type: 'realserver'; service: string; realServer: string; alive: boolean; checker: string; reason: string }
  | { type: 'quorum'; service: string; up: boolean; weightSum: number };
