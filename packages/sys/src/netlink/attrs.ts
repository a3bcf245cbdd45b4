/**
 * Netlink attributes (struct nlattr): 2-byte length (header + payload, unpadded), 2-byte type, payload,
 * padding to 4 bytes. Integers are host byte order (little-endian on every platform vsd targets) unless
 * the attribute is documented as network order; the helpers name which one they write.
 */
import { NLA_F_NESTED, NLA_HDRLEN, NLA_TYPE_MASK } from './constants.js';

export const align4 = (n: number): number => (n + 3) & ~3;

export function attr(type: number, payload: Uint8Array): Buffer {
  const len = NLA_HDRLEN + payload.length;
  const b = Buffer.alloc(align4(len));
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  b.set(payload, NLA_HDRLEN);
  return b;
}

export const attrU8 = (type: number, v: number): Buffer => attr(type, Uint8Array.of(v & 0xff));

export function attrU16(type: number, v: number): Buffer {
  const p = Buffer.alloc(2);
  p.writeUInt16LE(v, 0);
  return attr(type, p);
}

/** A u16 in network byte order (ports). */
export function attrBe16(type: number, v: number): Buffer {
  const p = Buffer.alloc(2);
  p.writeUInt16BE(v, 0);
  return attr(type, p);
}

export function attrU32(type: number, v: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32LE(v >>> 0, 0);
  return attr(type, p);
}

export function attrU64(type: number, v: bigint): Buffer {
  const p = Buffer.alloc(8);
  p.writeBigUInt64LE(v, 0);
  return attr(type, p);
}

/** A NUL-terminated string (NLA_NUL_STRING / NLA_STRING both accept the terminator). */
export const attrString = (type: number, s: string): Buffer => attr(type, Buffer.from(`${s}\0`, 'utf8'));

export function attrNested(type: number, children: readonly Uint8Array[]): Buffer {
  return attr(type | NLA_F_NESTED, Buffer.concat(children));
}

/** Attributes by type (flags masked off). A repeated type keeps the last one, as nla_parse does. */
export type Attrs = Map<number, Buffer>;

export function parseAttrs(buf: Buffer, offset = 0, end = buf.length): Attrs {
  const out: Attrs = new Map();
  let off = offset;
  while (off + NLA_HDRLEN <= end) {
    const len = buf.readUInt16LE(off);
    if (len < NLA_HDRLEN || off + len > end) break;
    out.set(buf.readUInt16LE(off + 2) & NLA_TYPE_MASK, buf.subarray(off + NLA_HDRLEN, off + len));
    off += align4(len);
  }
  return out;
}

export const getU8 = (a: Attrs, t: number): number | undefined => a.get(t)?.readUInt8(0);
export const getU16 = (a: Attrs, t: number): number | undefined => a.get(t)?.readUInt16LE(0);
export const getBe16 = (a: Attrs, t: number): number | undefined => a.get(t)?.readUInt16BE(0);
export const getU32 = (a: Attrs, t: number): number | undefined => a.get(t)?.readUInt32LE(0);
export const getU64 = (a: Attrs, t: number): bigint | undefined => a.get(t)?.readBigUInt64LE(0);

export function getString(a: Attrs, t: number): string | undefined {
  const b = a.get(t);
  if (!b) return undefined;
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('utf8');
}

export function getNested(a: Attrs, t: number): Attrs | undefined {
  const b = a.get(t);
  return b ? parseAttrs(b) : undefined;
}
