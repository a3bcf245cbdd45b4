/** What one ipvsadm command line means, once parsed (ipvsadm's `struct ipvs_command_entry` plus its flags). */
import type { CommandName, OptionName } from './options.js';
import type { Proto } from './resolve.js';

export interface ServiceSpec {
  family: 'inet' | 'inet6' | null;
  protocol: Proto | null;
  address: string | null;
  port: number;
  fwmark: number;
  scheduler: string;
  persistent: boolean;
  timeout: number;
  /** IPv4: the dotted mask as a u32; IPv6: a prefix length. */
  netmask: number;
  onePacket: boolean;
  /** IP_VS_SVC_F_SCHED1..3 as bits 0..2. */
  schedFlags: number;
  pe: string;
}

export interface DestSpec {
  family: 'inet' | 'inet6' | null;
  address: string | null;
  port: number;
  forwarding: 'masq' | 'route' | 'tunnel';
  weight: number;
  upperThreshold: number;
  lowerThreshold: number;
  tunType: 'ipip' | 'gue' | 'gre';
  tunPort: number;
  csum: 'nocsum' | 'csum' | 'remcsum';
}

export interface DaemonSpec {
  state: 'master' | 'backup';
  mcastInterface: string;
  syncId: number;
  maxlen: number;
  group: string | null;
  port: number;
  ttl: number;
}

export interface ListFormat {
  numeric: boolean;
  exact: boolean;
  stats: boolean;
  rate: boolean;
  thresholds: boolean;
  persistentConn: boolean;
  nosort: boolean;
  tunInfo: boolean;
  /** -S: ipvsadm-save rules instead of a table. */
  rule: boolean;
}

export interface ParsedCommand {
  cmd: CommandName;
  options: Set<OptionName>;
  svc: ServiceSpec;
  dest: DestSpec;
  daemon: DaemonSpec;
  timeouts: { tcp: number; tcpfin: number; udp: number };
  format: ListFormat;
  /** The -b text: ipvsadm parses it after every option, once the scheduler is known. */
  schedFlagsArg: string;
}

export const SCHED_FLAG_BITS = { 'flag-1': 1, 'flag-2': 2, 'flag-3': 4 } as const;

export function emptyCommand(): ParsedCommand {
  return {
    cmd: 'list',
    options: new Set(),
    svc: {
      family: null,
      protocol: null,
      address: null,
      port: 0,
      fwmark: 0,
      scheduler: '',
      persistent: false,
      timeout: 0,
      netmask: 0xffffffff,
      onePacket: false,
      schedFlags: 0,
      pe: '',
    },
    dest: {
      family: null,
      address: null,
      port: 0,
      forwarding: 'route',
      weight: 1,
      upperThreshold: 0,
      lowerThreshold: 0,
      tunType: 'ipip',
      tunPort: 0,
      csum: 'nocsum',
    },
    daemon: { state: 'master', mcastInterface: '', syncId: 0, maxlen: 0, group: null, port: 0, ttl: 0 },
    timeouts: { tcp: 0, tcpfin: 0, udp: 0 },
    schedFlagsArg: '',
    format: { numeric: false, exact: false, stats: false, rate: false, thresholds: false, persistentConn: false, nosort: false, tunInfo: false, rule: false },
  };
}
