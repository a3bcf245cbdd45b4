/** keepalived's checker defaults (check_data.c, check_parser.c), in seconds as the config takes them. */
export const DEFAULT_DELAY_LOOP = 60;
export const DEFAULT_CONNECT_TIMEOUT = 5;
export const DEFAULT_RETRY = 1;
/** MISC_CHECK retries nothing by default. */
export const DEFAULT_RETRY_MISC = 0;
export const DEFAULT_DELAY_BEFORE_RETRY = 1;
/** HTTP_GET and SSL_GET wait longer before a retry. */
export const DEFAULT_DELAY_BEFORE_RETRY_HTTP = 3;
export const DEFAULT_QUORUM = 1;
export const DEFAULT_HYSTERESIS = 0;
/** keepalived's HTTP checker identifies itself so; some backends whitelist it. */
export const HTTP_USER_AGENT = 'KeepAliveClient';
/** A timed-out script gets SIGTERM, then SIGKILL this long after if its process group is still there. */
export const SCRIPT_KILL_GRACE_MS = 1000;
/** The name the health monitor's adjustments carry in the weight overlay. */
export const HEALTH_SOURCE = 'health';
/** quorum_up / quorum_down scripts are killed after this (keepalived leaves notify scripts unbounded). */
export const NOTIFY_SCRIPT_TIMEOUT_MS = 10_000;
