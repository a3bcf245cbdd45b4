/** The health monitor's document (GET /v1/health). */

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
