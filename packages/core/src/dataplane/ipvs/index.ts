export { IpvsClient, encodeOp, type IpvsOp, type IpvsClientOptions } from './client.js';
export type { DestSpec, KernelDest, KernelService, KernelDaemon } from './codec.js';
export { createIpvsDataplane, syncDaemonsTo, type IpvsDataplane, type IpvsDataplaneOptions } from './dataplane.js';
export { planReconcile, destSpec, expectedKernelEntry, type KernelEntry, type PlanOptions } from './plan.js';
export { parseIpvsConn, readIpvsConn, IP_VS_CONN_PATH } from './conn.js';
