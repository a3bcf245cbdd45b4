/**
 * Netlink messages (struct nlmsghdr, 16 bytes: len u32, type u16, flags u16, seq u32, pid u32), the
 * NLMSG_ERROR payload (struct nlmsgerr: int error + the request's header) and the generic netlink header
 * (cmd u8, version u8, reserved u16).
 */
import { align4 } from './attrs.js';
import { GENL_HDRLEN, NLMSG_HDRLEN } from './constants.js';

export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  payload: Buffer;
}

export function encodeMessage(type: number, flags: number, seq: number, payload: Uint8Array, pid = 0): Buffer {
  const len = NLMSG_HDRLEN + payload.length;
  const b = Buffer.alloc(align4(len));
  b.writeUInt32LE(len, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(flags, 6);
  b.writeUInt32LE(seq >>> 0, 8);
  b.writeUInt32LE(pid >>> 0, 12);
  b.set(payload, NLMSG_HDRLEN);
  return b;
}

/** All messages in one datagram; a truncated tail is ignored. */
export function parseMessages(buf: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) break;
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** The error code of an NLMSG_ERROR payload: 0 for an ACK, otherwise -errno. */
export function errorCode(payload: Buffer): number {
  return payload.length >= 4 ? payload.readInt32LE(0) : -22;
}

export function genlHeader(cmd: number, version: number): Buffer {
  return Buffer.from([cmd & 0xff, version & 0xff, 0, 0]);
}

export function parseGenl(payload: Buffer): { cmd: number; version: number; body: Buffer } {
  return { cmd: payload.readUInt8(0), version: payload.readUInt8(1), body: payload.subarray(GENL_HDRLEN) };
}
