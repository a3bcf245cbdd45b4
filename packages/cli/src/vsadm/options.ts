/**
 * ipvsadm 1.31's option table, its option names (as used in its messages) and its table of legal
 * command/option combinations ('+' required, 'x' illegal, '1' at most one of these, ' ' optional).
 */
import type { PoptOption } from './popt.js';

export const COMMANDS = [
  'add-service', 'edit-service', 'delete-service', 'flush', 'list', 'add-server', 'delete-server',
  'edit-server', 'set', 'start-daemon', 'stop-daemon', 'restore', 'save', 'zero',
] as const;
export type CommandName = (typeof COMMANDS)[number];

/** In ipvsadm's bit order: the order matters for which error generic_opt_check reports first. */
export const OPTION_NAMES = [
  'numeric', 'connection', 'service-address', 'scheduler', 'persistent', 'netmask', 'real-server',
  'forwarding-method', 'weight', 'u-threshold', 'l-threshold', 'mcast-interface', 'timeout', 'daemon', 'stats',
  'rate', 'thresholds', 'persistent-conn', 'nosort', 'syncid', 'exact', 'ops', 'pe', 'sched-flags', 'mcast-group',
  'mcast-port', 'mcast-ttl', 'sync-maxlen', 'tun-info', 'tun-type', 'tun-port', 'tun-nocsum', 'tun-csum',
  'tun-remcsum',
] as const;
export type OptionName = (typeof OPTION_NAMES)[number];

// One row per command, one column per OPTION_NAMES entry.
const MATRIX: Record<CommandName, string> = {
  'add-service':    'xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx',
  'edit-service':   'xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx',
  'delete-service': 'xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  flush:            'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  list:             ' 11xxxxxxxxx11       xxxxxxx xxxxx',
  'add-server':     'xx+xxx+    xxxxxxxxxxxxxxxxxx     ',
  'delete-server':  'xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx',
  'edit-server':    'xx+xxx+    xxxxxxxxxxxxxxxxxx     ',
  set:              'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  'start-daemon':   'xxxxxxxxxxx xxxxxxx xxxx    xxxxxx',
  'stop-daemon':    'xxxxxxxxxxxxxxxxxxx xxxxxxxxxxxxxx',
  restore:          'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  save:             ' xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  zero:             'xx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
};

export function rule(cmd: CommandName, opt: OptionName): string {
  return MATRIX[cmd][OPTION_NAMES.indexOf(opt)]!;
}

const none = (long: string, short?: string): PoptOption => ({ long, short, arg: 'none', tag: short ?? long });
const str = (long: string, short?: string): PoptOption => ({ long, short, arg: 'string', tag: short ?? long });

export const POPT_TABLE: readonly PoptOption[] = [
  none('add-service', 'A'), none('edit-service', 'E'), none('delete-service', 'D'), none('clear', 'C'),
  none('list', 'L'), { long: 'list', short: 'l', arg: 'none', tag: 'l' }, none('zero', 'Z'),
  none('add-server', 'a'), none('edit-server', 'e'), none('delete-server', 'd'), none('set'), none('help', 'h'),
  none('version', 'v'), none('restore', 'R'), none('save', 'S'), str('start-daemon'), str('stop-daemon'),
  str('tcp-service', 't'), str('udp-service', 'u'), str('sctp-service'), str('fwmark-service', 'f'),
  str('scheduler', 's'), { long: 'persistent', short: 'p', arg: 'optional', tag: 'p' }, str('netmask', 'M'),
  str('real-server', 'r'), none('masquerading', 'm'), none('ipip', 'i'), none('gatewaying', 'g'), str('weight', 'w'),
  str('u-threshold', 'x'), str('l-threshold', 'y'), none('numeric', 'n'), none('connection', 'c'),
  str('mcast-interface'), str('syncid'), none('timeout'), none('daemon'), none('stats'), none('rate'),
  none('thresholds'), none('persistent-conn'), none('nosort'), none('sort'), none('exact', 'X'), none('ipv6', '6'),
  none('ops', 'o'), str('pe'), str('sched-flags', 'b'), str('mcast-group'), str('mcast-port'), str('mcast-ttl'),
  str('sync-maxlen'), none('tun-info'), str('tun-type'), str('tun-port'), none('tun-nocsum'), none('tun-csum'),
  none('tun-remcsum'),
];
