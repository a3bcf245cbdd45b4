/**
 * PROXY protocol version 2 header (haproxy doc/proxy-protocol.txt), sent to a real server before the client's
 * bytes so it learns the client address a full proxy otherwise hides. Only the PROXY command with TCP/UDP
 * over IPv4 or IPv6 is produced; no TLVs. For UDP the header is prepended to every datagram, since each
 * datagram must stand alone at the receiver.
 */
import { isIPv4 } from 'node:net';
import { addressBytes } from '../../model/address.js';

export const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** Version 2 in the high nibble, command PROXY (1) in the low one. */
const VERSION_PROXY = 0x21;
const AF_INET = 0x10;
const AF_INET6 = 0x20;
const STREAM = 0x01;
const DGRAM = 0x02;

export interface ProxyEndpoints {
  protocol: 'tcp' | 'udp';
  source: { address: string; port: number };
  destination: { address: string; port: number };
}

export function encodeProxyV2(e: ProxyEndpoints): Buffer {
  const src = addressBytes(unmapped(e.source.address));
  const dst = addressBytes(unmapped(e.destination.address));
  // A header carries one family: an IPv4 client of an IPv6 VIP is sent as IPv4-mapped IPv6.
  const v4 = src.length === 4 && dst.length === 4;
  const s = v4 ? src : toV6(src);
  const d = v4 ? dst : toV6(dst);
  const len = s.length * 2 + 4;
  const out = Buffer.alloc(16 + len);
  PROXY_V2_SIGNATURE.copy(out, 0);
  out[12] = VERSION_PROXY;
  out[13] = (v4 ? AF_INET : AF_INET6) | (e.protocol === 'tcp' ? STREAM : DGRAM);
  out.writeUInt16BE(len, 14);
  out.set(s, 16);
  out.set(d, 16 + s.length);
  out.writeUInt16BE(e.source.port, 16 + s.length * 2);
  out.writeUInt16BE(e.destination.port, 18 + s.length * 2);
  return out;
}

/** "::ffff:1.2.3.4" as a dual-stack listener reports IPv4 clients -> "1.2.3.4". */
export function unmapped(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m && isIPv4(m[1]!) ? m[1]! : address;
}

function toV6(bytes: Uint8Array): Uint8Array {
  if (bytes.length === 16) return bytes;
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(bytes, 12);
  return out;
}
