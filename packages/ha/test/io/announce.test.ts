import { describe, expect, it } from 'vitest';
import { buildGratuitousArp, buildUnsolicitedNa } from '../../src/io/announce.js';
import { internetChecksum, pseudoHeader } from '../../src/vrrp/checksum.js';
import { addressBytes } from '../../src/vrrp/addr.js';

const MAC = Buffer.from('5e494d8986a4', 'hex');

describe('announcement frames', () => {
  it('builds the GARP keepalived sends: ARP request, sender = target = VIP, target HW broadcast', () => {
    expect(buildGratuitousArp(MAC, '10.77.0.100').toString('hex')).toBe(
      'ffffffffffff' + '5e494d8986a4' + '0806' + '0001' + '0800' + '06' + '04' + '0001' + '5e494d8986a4' + '0a4d0064' + 'ffffffffffff' + '0a4d0064',
    );
  });
  it('builds an unsolicited NA: ff02::1, hop limit 255, Override, TLLA option, valid ICMPv6 checksum', () => {
    const f = buildUnsolicitedNa(MAC, 'fd00:77::100', false);
    expect(f.subarray(0, 6).toString('hex')).toBe('333300000001');
    expect(f.readUInt16BE(12)).toBe(0x86dd);
    const ip = f.subarray(14, 54);
    expect(ip[6]).toBe(58);
    expect(ip[7]).toBe(255);
    expect(ip.subarray(24, 40)).toEqual(addressBytes('ff02::1'));
    const icmp = f.subarray(54);
    expect(icmp[0]).toBe(136);
    expect(icmp[4]).toBe(0x20);
    expect(icmp.subarray(8, 24)).toEqual(addressBytes('fd00:77::100'));
    expect([...icmp.subarray(24, 26)]).toEqual([2, 1]);
    expect(icmp.subarray(26, 32)).toEqual(MAC);
    expect(internetChecksum(pseudoHeader(addressBytes('fd00:77::100'), addressBytes('ff02::1'), 32, 58), icmp)).toBe(0);
    expect(buildUnsolicitedNa(MAC, 'fd00:77::100', true)[54 + 4]).toBe(0xa0);
  });
});
