/** Ones' complement sum of 16-bit big-endian words (RFC 1071), folded, not inverted. */
export function onesSum(data: Uint8Array, initial = 0): number {
  let sum = initial;
  const even = data.length & ~1;
  for (let i = 0; i < even; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (data.length & 1) sum += data[data.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The Internet checksum of the concatenation of `parts` (each part must start on an even offset). */
export function internetChecksum(...parts: Uint8Array[]): number {
  let sum = 0;
  for (const p of parts) sum = onesSum(p, sum);
  return ~sum & 0xffff;
}

/**
 * The pseudo-header RFC 5798 §5.2.8 puts in front of a VRRPv3 message (RFC 2460 §8.1 layout for IPv6;
 * for IPv4 keepalived uses src, dst, zero, protocol, 16-bit length as in the TCP pseudo-header).
 */
export function pseudoHeader(src: Buffer, dst: Buffer, length: number, protocol: number): Buffer {
  if (src.length === 4) {
    const h = Buffer.alloc(12);
    src.copy(h, 0);
    dst.copy(h, 4);
    h[9] = protocol;
    h.writeUInt16BE(length, 10);
    return h;
  }
  const h = Buffer.alloc(40);
  src.copy(h, 0);
  dst.copy(h, 16);
  h.writeUInt32BE(length, 32);
  h[39] = protocol;
  return h;
}
