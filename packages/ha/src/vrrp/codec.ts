/**
 * VRRP advertisement codec: version 2 (RFC 3768 §5.1, IPv4 only) and version 3 (RFC 5798 §5.1/5.2,
 * IPv4 and IPv6). Decoding never throws: a malformed packet yields a drop reason that the caller counts.
 */
import { addressBytes, bytesToAddress, type Family } from './addr.js';
import { internetChecksum, pseudoHeader } from './checksum.js';

export const IPPROTO_VRRP = 112;
export const VRRP_GROUP_V4 = '224.0.0.18';
export const VRRP_GROUP_V6 = 'ff02::12';
export const VRRP_TYPE_ADVERTISEMENT = 1;
/** v2 always carries 8 bytes of authentication data after the addresses. */
export const V2_AUTH_DATA_LEN = 8;

/** Why a received packet was dropped; every reason has its own counter. */
export type DropReason =
  | 'ip_truncated'
  | 'ip_bad_header'
  | 'not_vrrp'
  | 'truncated'
  | 'bad_version'
  | 'bad_type'
  | 'bad_length'
  | 'bad_checksum'
  | 'bad_ttl'
  | 'vrid_mismatch'
  | 'addr_count'
  | 'addr_list'
  | 'advert_int'
  | 'auth_type'
  | 'own_packet'
  | 'unknown_peer'
  | 'wrong_family';

export interface VrrpAdvert {
  version: 2 | 3;
  vrid: number;
  priority: number;
  /** Advertisement interval in centiseconds (v2 seconds are scaled by 100). */
  intervalCs: number;
  addresses: string[];
  /** v2 only: authentication type (0 = none) and its 8 data bytes. */
  authType?: number;
  authData?: Buffer;
}

/** How the v3 checksum was (or is to be) computed. */
export type ChecksumForm = 'pseudo' | 'plain' | 'pseudo-group' | 'unchecked';

export interface EncodeOptions {
  family: Family;
  /** Needed for the v3 pseudo-header. */
  src?: string;
  dst?: string;
  /**
   * v3 checksum form: 'pseudo' (keepalived's default, RFC 5798) or 'plain' (RFC 9568 for IPv4,
   * keepalived `v3_checksum_as_v2`). 'unchecked' leaves it 0 (the kernel fills it for IPv6 raw sockets).
   */
  checksum?: 'pseudo' | 'plain' | 'unchecked';
}

export function encodeAdvert(advert: VrrpAdvert, options: EncodeOptions): Buffer {
  const addrLen = options.family === 4 ? 4 : 16;
  const trailer = advert.version === 2 ? V2_AUTH_DATA_LEN : 0;
  const buf = Buffer.alloc(8 + addrLen * advert.addresses.length + trailer);
  buf[0] = (advert.version << 4) | VRRP_TYPE_ADVERTISEMENT;
  buf[1] = advert.vrid;
  buf[2] = advert.priority;
  buf[3] = advert.addresses.length;
  if (advert.version === 2) {
    buf[4] = advert.authType ?? 0;
    buf[5] = Math.round(advert.intervalCs / 100);
  } else {
    buf.writeUInt16BE(advert.intervalCs & 0x0fff, 4);
  }
  advert.addresses.forEach((a, i) => {
    const bytes = addressBytes(a);
    if (bytes.length !== addrLen) throw new TypeError(`address ${a} is not IPv${options.family}`);
    bytes.copy(buf, 8 + i * addrLen);
  });
  if (advert.version === 2 && advert.authData) advert.authData.copy(buf, 8 + addrLen * advert.addresses.length, 0, 8);
  const form = options.checksum ?? 'pseudo';
  if (advert.version === 2) buf.writeUInt16BE(internetChecksum(buf), 6);
  else if (form === 'plain' && options.family === 4) buf.writeUInt16BE(internetChecksum(buf), 6);
  else if (form !== 'unchecked') buf.writeUInt16BE(checksumWithPseudo(buf, requireAddr(options.src), requireAddr(options.dst)), 6);
  return buf;
}

function requireAddr(a: string | undefined): string {
  if (!a) throw new TypeError('the v3 checksum needs source and destination addresses');
  return a;
}

function checksumWithPseudo(vrrp: Buffer, src: string, dst: string): number {
  return internetChecksum(pseudoHeader(addressBytes(src), addressBytes(dst), vrrp.length, IPPROTO_VRRP), vrrp);
}

export interface DecodeContext {
  family: Family;
  /** IP source and destination, for the v3 pseudo-header. */
  src?: string;
  dst?: string;
  /** The kernel already verified the checksum (IPv6 raw socket with IPV6_CHECKSUM). */
  checksumVerified?: boolean;
}

export type DecodeResult = { ok: true; advert: VrrpAdvert; checksumForm: ChecksumForm } | { ok: false; reason: DropReason };

/** Structural checks of RFC 5798 §7.1 / RFC 3768 §7.1 that need no local configuration. */
export function decodeAdvert(buf: Uint8Array, ctx: DecodeContext): DecodeResult {
  if (buf.length < 8) return { ok: false, reason: 'truncated' };
  const version = buf[0] >> 4;
  if (version !== 2 && version !== 3) return { ok: false, reason: 'bad_version' };
  if (version === 2 && ctx.family !== 4) return { ok: false, reason: 'bad_version' };
  if ((buf[0] & 0x0f) !== VRRP_TYPE_ADVERTISEMENT) return { ok: false, reason: 'bad_type' };
  const count = buf[3];
  const addrLen = ctx.family === 4 ? 4 : 16;
  const expected = 8 + count * addrLen + (version === 2 ? V2_AUTH_DATA_LEN : 0);
  if (buf.length < expected) return { ok: false, reason: 'truncated' };
  // Extra bytes are tolerated only as keepalived's non-standard trailers would be; the checksum covers `expected`.
  const vrrp = Buffer.from(buf.buffer, buf.byteOffset, expected);
  const form = verifyChecksum(vrrp, version, ctx);
  if (!form) return { ok: false, reason: 'bad_checksum' };
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) addresses.push(bytesToAddress(vrrp.subarray(8 + i * addrLen, 8 + (i + 1) * addrLen)));
  const advert: VrrpAdvert = {
    version,
    vrid: buf[1],
    priority: buf[2],
    intervalCs: version === 2 ? buf[5] * 100 : vrrp.readUInt16BE(4) & 0x0fff,
    addresses,
  };
  if (version === 2) {
    advert.authType = buf[4];
    advert.authData = Buffer.from(vrrp.subarray(expected - V2_AUTH_DATA_LEN, expected));
  }
  return { ok: true, advert, checksumForm: form };
}

function verifyChecksum(vrrp: Buffer, version: number, ctx: DecodeContext): ChecksumForm | undefined {
  if (version === 2) return internetChecksum(vrrp) === 0 ? 'plain' : undefined;
  if (ctx.checksumVerified) return 'unchecked';
  if (ctx.family === 4 && internetChecksum(vrrp) === 0) return 'plain';
  if (!ctx.src || !ctx.dst) return undefined;
  const src = addressBytes(ctx.src);
  const pseudo = (dst: string) => internetChecksum(pseudoHeader(src, addressBytes(dst), vrrp.length, IPPROTO_VRRP), vrrp) === 0;
  if (pseudo(ctx.dst)) return 'pseudo';
  // keepalived <= 1.3.6 summed unicast adverts with the multicast group as destination; receivers accept it.
  const group = ctx.family === 4 ? VRRP_GROUP_V4 : VRRP_GROUP_V6;
  if (ctx.dst !== group && pseudo(group)) return 'pseudo-group';
  return undefined;
}

export interface Ipv4Packet {
  ttl: number;
  protocol: number;
  src: string;
  dst: string;
  payload: Buffer;
}

/** The IPv4 header a raw IPv4 socket delivers in front of the payload. */
export function parseIpv4(buf: Buffer): { ok: true; packet: Ipv4Packet } | { ok: false; reason: DropReason } {
  if (buf.length < 20) return { ok: false, reason: 'ip_truncated' };
  if (buf[0] >> 4 !== 4) return { ok: false, reason: 'ip_bad_header' };
  const ihl = (buf[0] & 0x0f) * 4;
  if (ihl < 20) return { ok: false, reason: 'ip_bad_header' };
  if (buf.length < ihl) return { ok: false, reason: 'ip_truncated' };
  const total = buf.readUInt16BE(2);
  // The kernel may report total length in host order on some paths; trust the received length when they disagree.
  const end = total >= ihl && total <= buf.length ? total : buf.length;
  return {
    ok: true,
    packet: {
      ttl: buf[8],
      protocol: buf[9],
      src: bytesToAddress(buf.subarray(12, 16)),
      dst: bytesToAddress(buf.subarray(16, 20)),
      payload: buf.subarray(ihl, end),
    },
  };
}

/** What the receiving instance is configured with, for the checks that need local state. */
export interface LocalView {
  version: 2 | 3;
  vrid: number;
  family: Family;
  /** Configured VIPs (addresses only, no prefix). */
  addresses: readonly string[];
  intervalCs: number;
  authType: number;
  unicast: boolean;
  /** Own source addresses: our own packets are dropped without being an error. */
  ownAddresses: readonly string[];
  /** When unicast, adverts are only accepted from these. */
  peers: readonly string[];
}

/**
 * The receive checks of RFC 5798 §7.1 (and RFC 3768 §7.1 for v2) that need local configuration.
 * `ttl` is undefined when the transport could not tell it.
 */
export function checkAdvert(advert: VrrpAdvert, src: string, ttl: number | undefined, local: LocalView): DropReason | undefined {
  if (local.ownAddresses.includes(src)) return 'own_packet';
  if (local.unicast && local.peers.length > 0 && !local.peers.includes(src)) return 'unknown_peer';
  // keepalived skips the TTL check in unicast mode, where peers may be routed hops away.
  if (!local.unicast && ttl !== undefined && ttl !== 255) return 'bad_ttl';
  if (advert.version !== local.version) return 'bad_version';
  if (advert.vrid !== local.vrid) return 'vrid_mismatch';
  if (advert.version === 2 && (advert.authType ?? 0) !== local.authType) return 'auth_type';
  if (advert.version === 2 && advert.intervalCs !== local.intervalCs) return 'advert_int';
  // An address owner (priority 255) is believed even when its list differs (RFC 3768 §7.1).
  if (advert.priority !== 255) {
    if (advert.addresses.length !== local.addresses.length) return 'addr_count';
    const mine = new Set(local.addresses.map(canonical));
    if (!advert.addresses.every((a) => mine.has(canonical(a)))) return 'addr_list';
  }
  return undefined;
}

function canonical(address: string): string {
  try {
    return bytesToAddress(addressBytes(address));
  } catch {
    return address;
  }
}
