import { describe, expect, it } from 'vitest';
import { addressBytes, bytesToAddress, compareAddresses, parseCidr } from '../../src/vrrp/addr.js';

describe('addresses', () => {
  it('round-trips IPv4 and IPv6 text and bytes', () => {
    for (const a of ['10.77.0.1', '::', '::1', 'fe80::5c49:4dff:fe89:86a4', 'fd00:99::100', '2001:db8:0:1:1:1:1:1', 'ff02::12']) {
      expect(bytesToAddress(addressBytes(a))).toBe(a);
    }
    expect(bytesToAddress(addressBytes('::ffff:10.1.2.3'))).toBe('::ffff:a01:203');
  });
  it('compares unsigned in network order', () => {
    expect(compareAddresses('10.0.0.200', '10.0.0.12')).toBeGreaterThan(0);
    expect(compareAddresses('128.0.0.1', '127.255.255.255')).toBeGreaterThan(0);
    expect(compareAddresses('fe80::2', 'fe80::10')).toBeLessThan(0);
  });
  it('parses CIDR', () => {
    expect(parseCidr('10.0.0.1/24')).toEqual({ address: '10.0.0.1', prefix: 24, family: 4 });
    expect(parseCidr('fd00::1')).toEqual({ address: 'fd00::1', prefix: 128, family: 6 });
    expect(() => parseCidr('10.0.0.1/33')).toThrow();
    expect(() => parseCidr('10.0.0.1/2x')).toThrow();
  });
});
