/**
 * The desired-state document as it crosses the wire (GET /v1/state, the operations of POST /v1/transactions).
 * @vsd/core's zod schemas validate it where it enters; its type test keeps those schemas' output and these
 * declarations assignable both ways.
 */
export type ProtocolName = 'tcp' | 'udp' | 'sctp';
export type ForwardingName = 'masq' | 'route' | 'tunnel';
export type SchedFlag = 'sh-fallback' | 'sh-port' | 'mh-fallback' | 'mh-port' | 'flag-1' | 'flag-2' | 'flag-3';

export interface TunnelDoc {
  type: 'ipip' | 'gue' | 'gre';
  port: number;
  csum: 'nocsum' | 'csum' | 'remcsum';
}

export interface RealServerDoc {
  address: string;
  port: number;
  forwarding: ForwardingName;
  weight: number;
  upperThreshold: number;
  lowerThreshold: number;
  tunnel: TunnelDoc | null;
}

interface ServiceOptionsDoc {
  scheduler: string;
  schedFlags: SchedFlag[];
  persistence: { timeout: number; netmask?: number | undefined };
  pe: string | null;
  onePacket: boolean;
  realServers: RealServerDoc[];
}

export interface InetServiceDoc extends ServiceOptionsDoc {
  protocol: ProtocolName;
  address: string;
  port: number;
}

export interface FwmarkServiceDoc extends ServiceOptionsDoc {
  fwmark: number;
  family: 'inet' | 'inet6';
}

export type VirtualServiceDoc = InetServiceDoc | FwmarkServiceDoc;

export interface TimeoutsDoc {
  tcp: number;
  tcpfin: number;
  udp: number;
}

export interface SyncDaemonDoc {
  state: 'master' | 'backup';
  mcastInterface: string;
  syncId: number;
  maxlen?: number | undefined;
  group?: string | undefined;
  port?: number | undefined;
  ttl?: number | undefined;
}

export interface DesiredStateDoc {
  version: 1;
  generation: number;
  services: VirtualServiceDoc[];
  timeouts: TimeoutsDoc;
  syncDaemons: SyncDaemonDoc[];
}
