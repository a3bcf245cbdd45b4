/** Documents of the dataplane as the control API serves them (GET /v1/status, /v1/connections, /v1/realservers). */

/** Cumulative counters and 2-second-average rates, as IPVS keeps them per service and per destination. */
export interface Counters {
  conns: number;
  inPkts: number;
  outPkts: number;
  inBytes: number;
  outBytes: number;
  cps: number;
  inPps: number;
  outPps: number;
  inBps: number;
  outBps: number;
}

export interface DestStatus {
  key: string;
  activeConns: number;
  inactiveConns: number;
  persistConns: number;
  counters: Counters;
}

export interface ServiceStatus {
  key: string;
  counters: Counters;
  dests: DestStatus[];
}

/** One connection-table entry, as `ipvsadm -Lc` shows it. */
export interface ConnectionEntry {
  protocol: 'TCP' | 'UDP' | 'SCTP' | 'IP';
  /** Seconds until the entry expires. */
  expires: number;
  /** ESTABLISHED, FIN_WAIT, TIME_WAIT, CLOSE, SYN_RECV, ... ; UDP for UDP flows; NONE for templates. */
  state: string;
  client: { address: string; port: number };
  virtual: { address: string; port: number };
  destination: { address: string; port: number };
  /** Persistence-engine name and data, when any. */
  pe?: { name: string; data: string };
  /** A persistence template rather than a real connection. */
  template?: boolean;
}

export interface DataplaneInfo {
  version: string;
  connTableSize: number;
  /** Who moves the bytes, when a dataplane has a choice (proxy: "epoll", "epoll, 2 threads", "node"). */
  engine?: string;
  /** Proxy with several epoll engine threads: each thread's TCP connections accepted since start and alive now. */
  engineThreads?: Array<{ accepted: number; connections: number }>;
  /** Proxy: UDP flows held now, their limits, and since start those evicted and refused because the table was full. */
  udpFlows?: { live: number; max: number; perService: number; evicted: number; refused: number };
}

export interface RealServerView {
  key: string;
  address: string;
  port: number;
  forwarding: string;
  weight: number;
  effectiveWeight: number;
  /** Taken out of the dataplane by a source (health check without inhibit_on_failure). */
  removed: boolean;
  sources: Record<string, { factor: number; remove?: boolean; reason?: string }>;
}

export interface ServiceRealServers {
  key: string;
  scheduler: string;
  /** Set while the service has lost quorum and the sorry server replaces its real servers. */
  sorryServer: string | null;
  realServers: RealServerView[];
}
