import { describe, expect, it } from 'vitest';
import { encodeAddrRequest, parseAck } from '../../src/io/rtnetlink.js';

describe('rtnetlink address messages', () => {
  it('encodes RTM_NEWADDR for an IPv4 VIP like ip addr add', () => {
    const m = encodeAddrRequest({ op: 'add', vip: '10.77.0.100/24', ifindex: 3, seq: 7 });
    expect(m.toString('hex')).toBe(
      '28000000' + '1400' + '0506' + '07000000' + '00000000' + // nlmsghdr: len 40, RTM_NEWADDR, REQUEST|ACK|EXCL|CREATE
        '02' + '18' + '00' + '00' + '03000000' + // ifaddrmsg: AF_INET /24 ifindex 3
        '0800' + '0200' + '0a4d0064' + // IFA_LOCAL
        '0800' + '0100' + '0a4d0064', // IFA_ADDRESS
    );
  });
  it('encodes RTM_DELADDR and IPv6 with NODAD and link scope for fe80::/10', () => {
    const d = encodeAddrRequest({ op: 'del', vip: '10.77.0.100/24', ifindex: 3, seq: 8 });
    expect(d.readUInt16LE(4)).toBe(21);
    expect(d.readUInt16LE(6)).toBe(0x5);
    const v6 = encodeAddrRequest({ op: 'add', vip: 'fe80::52/64', ifindex: 4, seq: 9 });
    expect(v6.length).toBe(16 + 8 + 20 + 20);
    expect([...v6.subarray(16, 20)]).toEqual([10, 64, 0x02, 253]);
  });
  it('reads the errno of the matching ack', () => {
    const ack = Buffer.alloc(36);
    ack.writeUInt32LE(36, 0);
    ack.writeUInt16LE(2, 4);
    ack.writeUInt32LE(7, 8);
    ack.writeInt32LE(-17, 16);
    expect(parseAck(ack, 7)).toBe(17);
    expect(parseAck(ack, 8)).toBeUndefined();
    ack.writeInt32LE(0, 16);
    expect(parseAck(ack, 7)).toBe(0);
    expect(parseAck(ack.subarray(0, 10), 7)).toBeUndefined();
  });
});
