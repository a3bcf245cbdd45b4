export { createProxyDataplane } from './dataplane.js';
export type { ProxyDataplane } from './dataplane.js';
export type { ProxyCounters, ProxyDataplaneOptions, ProxyProtocolOption } from './types.js';
export { encodeProxyV2, PROXY_V2_SIGNATURE } from './proxy-protocol.js';
export type { ProxyEndpoints } from './proxy-protocol.js';
export { proxyIgnoreReason } from './servable.js';
