export * from './config.js';
export * from './quorum.js';
export * from './witness.js';
export { openIcmpProber, buildEchoRequest, parseEchoReply, type GatewayProber } from './icmp-probe.js';
