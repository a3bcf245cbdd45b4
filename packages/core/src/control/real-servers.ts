/** The `/v1/realservers` view of a virtual service's real servers: read by the route (routes-core.ts) and the metrics. */
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
