/** The health monitor's record of one real server, and its status() view. */
import type { RealServerRunner } from './runner.js';
import type { CheckerStatus, HealthRealServerSpec, RealServerHealthStatus } from './types.js';

/** One real server as the monitor (monitor.ts) keeps it. */
export interface RsEntry {
  spec: HealthRealServerSpec;
  key: string;
  fingerprint: string;
  runner: RealServerRunner;
  alive: boolean;
  weight: number | undefined;
  transitions: number;
  failures: number;
  since: number;
  checker: string | null;
  reason: string;
}

export function realServerStatus(rs: RsEntry, healthWeight: number): RealServerHealthStatus {
  return {
    key: rs.key,
    state: rs.alive ? 'up' : 'down',
    weight: rs.spec.weight,
    healthWeight,
    transitions: rs.transitions,
    failures: rs.failures,
    since: new Date(rs.since).toISOString(),
    checker: rs.checker,
    reason: rs.reason,
    checkers: rs.runner.checks.map(
      ({ checker, state }): CheckerStatus => ({
        name: checker.name,
        kind: checker.kind,
        state: state.up ? 'up' : 'down',
        checks: state.checks,
        failures: state.failures,
        consecutiveOk: state.okStreak,
        consecutiveFail: state.failStreak,
        retrying: state.retryIt,
        dynamicWeight: state.weight ?? null,
        last: state.last
          ? { ok: state.last.ok, reason: state.last.reason, at: new Date(state.last.at).toISOString(), durationMs: state.last.durationMs }
          : null,
      }),
    ),
  };
}
