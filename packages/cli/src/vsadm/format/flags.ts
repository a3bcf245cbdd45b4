/** The model's scheduler flag names -> IP_VS_SVC_F_SCHED1..3 (sh-fallback and mh-fallback are SCHED1, ...). */
const BIT: Record<string, number> = {
  'flag-1': 1,
  'sh-fallback': 1,
  'mh-fallback': 1,
  'flag-2': 2,
  'sh-port': 2,
  'mh-port': 2,
  'flag-3': 4,
};

export function schedFlagBits(names: readonly string[]): number {
  return names.reduce((bits, n) => bits | (BIT[n] ?? 0), 0);
}
