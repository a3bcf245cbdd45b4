import { describe, expect, it } from 'vitest';
import { errorCode, parseMessages } from '../../src/netlink/message.js';
import { addrRequest, encodeAddrRequest, encodeLinkDelete, encodeLinkUp, encodeMacvlanRequest } from '../../src/netlink/rtnetlink.js';

describe('rtnetlink address messages', () => {
  it('encodes RTM_NEWADDR for an IPv4 VIP like ip addr add', () => {
    const m = encodeAddrRequest({ op: 'add', vip: '10.77.0.100/24', ifindex: 3, seq: 7 });
    expect(m.toString('hex')).toBe(
      '28000000' +
        '1400' +
        '0506' +
        '07000000' +
        '00000000' + // nlmsghdr: len 40, RTM_NEWADDR, REQUEST|ACK|EXCL|CREATE
        '02' +
        '18' +
        '00' +
        '00' +
        '03000000' + // ifaddrmsg: AF_INET /24 ifindex 3
        '0800' +
        '0200' +
        '0a4d0064' + // IFA_LOCAL
        '0800' +
        '0100' +
        '0a4d0064', // IFA_ADDRESS
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
  it('reads the errno of the matching ack with the shared netlink decoder', () => {
    const ack = Buffer.alloc(36);
    ack.writeUInt32LE(36, 0);
    ack.writeUInt16LE(2, 4);
    ack.writeUInt32LE(7, 8);
    ack.writeInt32LE(-17, 16);
    const [m] = parseMessages(ack);
    expect([m!.type, m!.seq, errorCode(m!.payload)]).toEqual([2, 7, -17]);
    expect(parseMessages(ack).filter((x) => x.seq === 8)).toEqual([]);
    ack.writeInt32LE(0, 16);
    expect(errorCode(parseMessages(ack)[0]!.payload)).toBe(0);
    expect(parseMessages(ack.subarray(0, 10))).toEqual([]);
  });
  it('hands the socket the request without its header (type, flags, payload)', () => {
    const r = addrRequest('add', '10.77.0.100/24', 3);
    expect([r.type, r.flags]).toEqual([20, 0x605]);
    expect(Buffer.from(r.payload)).toEqual(encodeAddrRequest({ op: 'add', vip: '10.77.0.100/24', ifindex: 3, seq: 7 }).subarray(16));
    expect(() => addrRequest('add', '10.77.0.100/33', 3)).toThrow(/prefix/);
    expect(() => addrRequest('add', 'eth0/24', 3)).toThrow(/not an IP address/);
  });
});

describe('rtnetlink link messages (use_vmac)', () => {
  it('encodes RTM_NEWLINK for a macvlan like ip link add NAME link PARENT address MAC up type macvlan mode private', async () => {
    const up = encodeLinkUp(7, true, 3);
    expect(up.toString('hex')).toBe('20000000' + '1000' + '0500' + '03000000' + '00000000' + '0000' + '0000' + '07000000' + '01000000' + '01000000');
    expect(encodeLinkUp(7, false, 3).readUInt32LE(24)).toBe(0);
    const mac = Buffer.from([0, 0, 0x5e, 0, 1, 51]);
    const m = encodeMacvlanRequest({ name: 'vsd.51', parent: 3, mac, mode: 'private', seq: 5 });
    expect(m.readUInt32LE(0)).toBe(m.length);
    expect(m.readUInt16LE(4)).toBe(16); // RTM_NEWLINK
    expect(m.readUInt16LE(6)).toBe(0x1 | 0x4 | 0x200 | 0x400);
    expect(m.readUInt32LE(8)).toBe(5);
    expect(m.readUInt32LE(16 + 8)).toBe(0); // created down: addr_gen_mode is set before it goes up
    const attrs = new Map<number, Buffer>();
    for (let off = 32; off < m.length; ) {
      const len = m.readUInt16LE(off);
      attrs.set(m.readUInt16LE(off + 2) & 0x3fff, m.subarray(off + 4, off + len));
      off += (len + 3) & ~3;
    }
    expect(attrs.get(3)!.toString()).toBe('vsd.51\0');
    expect(attrs.get(5)!.readUInt32LE(0)).toBe(3);
    expect(attrs.get(1)).toEqual(mac);
    const info = attrs.get(18)!;
    expect(info.subarray(4, 12).toString()).toBe('macvlan\0');
    // IFLA_INFO_DATA { IFLA_MACVLAN_MODE = MACVLAN_MODE_PRIVATE (1) }
    expect(info.readUInt16LE(12 + 2) & 0x3fff).toBe(2);
    expect(info.readUInt32LE(12 + 8)).toBe(1);
    expect(encodeMacvlanRequest({ name: 'b', parent: 3, mac, mode: 'bridge', seq: 1 }).includes(Buffer.from([8, 0, 1, 0, 4, 0, 0, 0]))).toBe(true);
    expect(attrs.has(26)).toBe(false); // IFLA_AF_SPEC is refused in a create request
    expect(() => encodeMacvlanRequest({ name: 'a-name-too-long-x', parent: 3, mac, mode: 'private', seq: 1 })).toThrow(/15 bytes/);
    const d = encodeLinkDelete('vsd.51', 9);
    expect(d.readUInt16LE(4)).toBe(17);
    expect(d.readUInt16LE(6)).toBe(0x5);
    expect(d.subarray(32 + 4, 32 + 11).toString()).toBe('vsd.51\0');
  });
});

describe('rtnetlink on this host (requests that change nothing)', () => {
  const root = process.getuid?.() === 0;
  it.skipIf(!root)('answers per request through the shared socket: ENODEV for what is not there, a SyscallError naming the request', async () => {
    const { deleteLinkSync, openRtnetlink, removeAddressesSync, rtnetlinkSync, linkDeleteRequest } = await import('../../src/netlink/rtnetlink.js');
    expect(deleteLinkSync('vsd-nosuch0')).toBe(false);
    // A batch: each request gets its own ACK, in order.
    expect(rtnetlinkSync([linkDeleteRequest('vsd-nosuch0'), addrRequest('del', '192.0.2.1/32', 0x7ffffff0)])).toEqual([19, 19]);
    expect(removeAddressesSync([{ vip: '192.0.2.1/32', ifindex: 0x7ffffff0 }])).toEqual({ removed: [], errors: [] });
    const nl = openRtnetlink();
    try {
      await expect(nl.remove('192.0.2.1/32', 0x7ffffff0)).rejects.toMatchObject({
        code: 'VSD_ERR_SYSCALL',
        message: 'RTM_DELADDR (vip 192.0.2.1/32, ifindex 2147483632): No such device (ENODEV)',
        details: { syscall: 'RTM_DELADDR', errnoNumber: 19, errnoName: 'ENODEV', context: { vip: '192.0.2.1/32', ifindex: 0x7ffffff0 } },
      });
    } finally {
      await nl.close();
    }
  });
});
