/**
 * keepalived's quorum rule (ipwrapper.c update_quorum_state), with hysteresis:
 * gained when weight_sum >= quorum + hysteresis, lost when weight_sum < quorum - hysteresis or weight_sum = 0.
 * weight_sum is the sum of the weights of the live real servers.
 */
export interface QuorumRule {
  quorum: number;
  hysteresis: number;
}

/** The quorum state after weight_sum became `weightSum`, given the state before. */
export function nextQuorumState(up: boolean, weightSum: number, rule: QuorumRule): boolean {
  if (up) return !(weightSum === 0 || weightSum < rule.quorum - rule.hysteresis);
  return weightSum > 0 && weightSum >= rule.quorum + rule.hysteresis;
}

/** The state at start: no history, so no hysteresis either way. */
export function initialQuorumState(weightSum: number, rule: QuorumRule): boolean {
  return weightSum > 0 && weightSum >= rule.quorum;
}
