export * from './config.js';
export * from './instance-api.js';
export * from './instance.js';
export * from './notify.js';
export * from './sync-group.js';
export * from './track.js';
export * from './vrrp/addr.js';
export * from './vrrp/codec.js';
export * from './vrrp/garp-schedule.js';
export * from './vrrp/state-machine.js';
export { openVrrpTransport, type ReceivedPacket, type VrrpTransport, type VrrpTransportOptions } from './io/vrrp-socket.js';
export {
  openRtnetlink,
  encodeAddrRequest,
  encodeLinkDelete,
  encodeMacvlanRequest,
  parseAck,
  removeAddressesSync,
  deleteLinkSync,
  type AddressManager,
  type AddrRequest,
  type MacvlanRequest,
} from './io/rtnetlink.js';
export { VipLedger, processVipLedger, type LedgerRelease } from './io/vip-ledger.js';
export { openAnnouncer, buildGratuitousArp, buildUnsolicitedNa, type Announcer } from './io/announce.js';
export * from './sync/index.js';
export * from './cleanup.js';
export * from './witness/index.js';
