import { decodeSockaddr, encodeSockaddr, foldSockaddr } from '@vsd/sys';
import { describe, expect, it } from 'vitest';
import { foldAddress } from '../../../src/model/address.js';

// The epoll engine folds the peer's sockaddr (@vsd/sys) where the schedulers fold address text (core's model).
describe('sockaddr folding', () => {
  it('folds a sockaddr as the schedulers fold the text of its address', () => {
    for (const a of ['10.1.2.3', '255.255.255.254', '2001:db8::7', 'fe80::1:2:3:4', '::ffff:192.0.2.1', '::1']) {
      const b = encodeSockaddr(a, 80);
      expect(foldSockaddr(b)).toBe(foldAddress(decodeSockaddr(b).address));
    }
  });
});
