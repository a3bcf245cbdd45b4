/** The `/v1/realservers` view of a virtual service's real servers, read by the route (routes-core.ts) and the metrics; declared in @vsd/protocol. */
export type { RealServerView, ServiceRealServers } from '@vsd/protocol';
