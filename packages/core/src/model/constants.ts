/** Limits and defaults, the same as IPVS and ipvsadm 1.31 (see docs/ARCHITECTURE.md for where they differ from keepalived). */
export const DEFAULT_SCHEDULER = 'wlc';
/** `-p` without a value: ipvsadm's code uses IPVS_SVC_PERSISTENT_TIMEOUT (6 * 60), whatever its man page says. */
export const DEFAULT_PERSISTENCE_TIMEOUT = 360;
/** Upper bound of persistence and protocol timeouts: 31 days. */
export const MAX_TIMEOUT = 2_678_400;
export const MAX_WEIGHT = 65_535;
export const DEFAULT_WEIGHT = 1;
export const MAX_THRESHOLD = 2_147_483_647;
/** ipvsadm's default forwarding method is direct routing (keepalived's is NAT). */
export const DEFAULT_FORWARDING = 'route';
export const DEFAULT_TIMEOUTS = Object.freeze({ tcp: 900, tcpfin: 120, udp: 300 });
export const SCHED_NAME_MAX = 15;
export const IPVS_VERSION = '1.2.1';
export const CONN_TAB_SIZE = 4096;
/** Every scheduler IPVS has (ipvsadm 1.31's list plus twos). */
export const KNOWN_SCHEDULERS = Object.freeze(['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'twos']);
export const KNOWN_PERSISTENCE_ENGINES = Object.freeze(['sip']);
/**
 * Highest generation a desired-state document may carry: far below 2^53 (where +1 stops changing a double, which froze
 * the counter) and out of reach of real use (a thousand transactions a second for 8,900 years).
 */
export const MAX_GENERATION = 2 ** 48;
