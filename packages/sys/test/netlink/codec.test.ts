import { describe, expect, it } from 'vitest';
import { netlink } from '@vsd/core';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const h = (s: string): string => s.replace(/\s+/g, '');

describe('netlink attributes', () => {
  it('pads to 4 bytes and keeps the unpadded length in nla_len', () => {
    expect(hex(netlink.attrU8(13, 1))).toBe(h('0500 0d00 01 000000'));
    expect(hex(netlink.attrU16(1, 2))).toBe(h('0600 0100 0200 0000'));
    expect(hex(netlink.attrBe16(4, 80))).toBe(h('0600 0400 0050 0000'));
    expect(hex(netlink.attrU32(8, 360))).toBe(h('0800 0800 68010000'));
    expect(hex(netlink.attrU64(1, 5n))).toBe(h('0c00 0100 0500000000000000'));
    expect(hex(netlink.attrString(6, 'rr'))).toBe(h('0700 0600 727200 00'));
  });

  it('sets NLA_F_NESTED on nested attributes and parses them back with the flag masked', () => {
    const n = netlink.attrNested(1, [netlink.attrU16(1, 2), netlink.attrU32(5, 7)]);
    expect(hex(n)).toBe(h('1400 0180 0600 0100 0200 0000 0800 0500 07000000'));
    const top = netlink.parseAttrs(n);
    const inner = netlink.getNested(top, 1)!;
    expect(netlink.getU16(inner, 1)).toBe(2);
    expect(netlink.getU32(inner, 5)).toBe(7);
  });

  it('stops at a truncated attribute instead of reading past the buffer', () => {
    const b = Buffer.from(h('0800 0100 01000000 2000 0200 0000'), 'hex');
    expect([...netlink.parseAttrs(b).keys()]).toEqual([1]);
  });
});

describe('netlink messages', () => {
  it('encodes nlmsghdr + payload (the GETFAMILY request for "IPVS", byte for byte)', () => {
    const body = netlink.getFamilyRequest('IPVS');
    expect(hex(body)).toBe(h('03 01 0000  0900 0200 49505653 00 000000'));
    const msg = netlink.encodeMessage(netlink.GENL_ID_CTRL, netlink.NLM_F_REQUEST | netlink.NLM_F_ACK, 1, body);
    expect(hex(msg)).toBe(h('20000000 1000 0500 01000000 00000000') + hex(body));
  });

  it('splits a datagram into messages and reads the NLMSG_ERROR code', () => {
    const ack = netlink.encodeMessage(netlink.NLMSG_ERROR, netlink.NLM_F_CAPPED, 7, Buffer.from(h('feffffff 20000000 1000 0500 07000000 00000000'), 'hex'));
    const done = netlink.encodeMessage(netlink.NLMSG_DONE, netlink.NLM_F_MULTI, 8, Buffer.from('00000000', 'hex'));
    const msgs = netlink.parseMessages(Buffer.concat([ack, done]));
    expect(msgs.map((m) => [m.type, m.seq])).toEqual([
      [2, 7],
      [3, 8],
    ]);
    expect(netlink.errorCode(msgs[0]!.payload)).toBe(-2);
  });

  it('names errnos the way strerror does', () => {
    expect(netlink.errnoName(-17)).toBe('EEXIST');
    expect(netlink.strerror(34)).toBe('Numerical result out of range');
    expect(netlink.strerror(19)).toBe('No such device');
    expect(netlink.errnoName(4095)).toBe('errno 4095');
  });
});

describe('netlink socket on this host', () => {
  it('opens a generic netlink socket and gets ENOENT for a family that is not registered', () => {
    const s = netlink.NetlinkSocket.open(netlink.NETLINK_GENERIC, { timeoutMs: 2000 });
    try {
      expect(() => netlink.resolveFamily(s, 'VSDNOFAM')).toThrowError(/^CTRL_CMD_GETFAMILY \(family VSDNOFAM\): No such file or directory \(ENOENT\)$/);
      expect(() => netlink.resolveFamily(s, 'VSDNOFAM')).toThrowError(
        expect.objectContaining({
          code: 'VSD_ERR_SYSCALL',
          syscall: 'CTRL_CMD_GETFAMILY',
          errnoNumber: 2,
          errnoName: 'ENOENT',
          context: { family: 'VSDNOFAM' },
        }),
      );
      // The controller itself always resolves.
      expect(netlink.resolveFamily(s, 'nlctrl')).toBe(netlink.GENL_ID_CTRL);
    } finally {
      s.close();
    }
  });
});
