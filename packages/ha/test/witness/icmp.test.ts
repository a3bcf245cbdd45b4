import { describe, expect, it } from 'vitest';
import { buildEchoRequest, parseEchoReply } from '../../src/witness/icmp-probe.js';
import { internetChecksum } from '../../src/vrrp/checksum.js';

describe('ICMP echo for gateway witnesses', () => {
  it('builds an IPv4 echo request whose checksum verifies, and an ICMPv6 one for the kernel to checksum', () => {
    const v4 = buildEchoRequest(4, 0x1234, 7);
    expect([v4[0], v4[1], v4.readUInt16BE(4), v4.readUInt16BE(6)]).toEqual([8, 0, 0x1234, 7]);
    expect(internetChecksum(v4)).toBe(0);
    const v6 = buildEchoRequest(6, 0x1234, 7);
    expect([v6[0], v6.readUInt16BE(2)]).toEqual([128, 0]);
  });

  it('reads id and seq of echo replies (IPv4 after the IP header, its length from IHL) and nothing else', () => {
    const reply = buildEchoRequest(4, 0xbeef, 9);
    reply[0] = 0;
    const ip = Buffer.alloc(24);
    ip[0] = 0x46; // IHL 6 words: 24-byte header with options
    expect(parseEchoReply(4, Buffer.concat([ip, reply]))).toEqual({ id: 0xbeef, seq: 9 });
    expect(parseEchoReply(4, Buffer.concat([ip, buildEchoRequest(4, 1, 1)]))).toBeUndefined();
    expect(parseEchoReply(4, Buffer.from([0x45, 0]))).toBeUndefined();
    const r6 = buildEchoRequest(6, 5, 6);
    r6[0] = 129;
    expect(parseEchoReply(6, r6)).toEqual({ id: 5, seq: 6 });
    expect(parseEchoReply(6, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]))).toBeUndefined();
  });
});
