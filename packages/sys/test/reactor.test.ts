import { describe, expect, it } from 'vitest';
import { decodeSockaddr, encodeSockaddr, EPOLLET, EPOLLIN, netCalls } from '../src/net.js';
import { Reactor } from '../src/reactor.js';

const EFD_NONBLOCK = 0o4000;
const one = (): Buffer => Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]);

describe('sys/net sockaddr', () => {
  it('round-trips IPv4, IPv6 and IPv4-mapped IPv6 addresses with their ports', () => {
    expect(decodeSockaddr(encodeSockaddr('10.1.2.3', 8080))).toEqual({ address: '10.1.2.3', port: 8080 });
    expect(decodeSockaddr(encodeSockaddr('2001:db8::7', 443))).toEqual({ address: '2001:db8::7', port: 443 });
    expect(decodeSockaddr(encodeSockaddr('::ffff:192.0.2.1', 80))).toEqual({ address: '192.0.2.1', port: 80 });
    expect(encodeSockaddr('10.1.2.3', 1)).toHaveLength(16);
    expect(encodeSockaddr('::1', 1)).toHaveLength(28);
  });
});

describe('sys/reactor', () => {
  it('delivers events to their handler, survives a handler that throws, runs periodic tasks and stops', () => {
    const calls = netCalls();
    const wake = calls.eventfd(0, EFD_NONBLOCK);
    const a = calls.eventfd(0, EFD_NONBLOCK);
    const b = calls.eventfd(0, EFD_NONBLOCK);
    expect(Math.min(wake, a, b)).toBeGreaterThanOrEqual(0);
    const errors: Array<{ err: unknown; fd: number }> = [];
    let wakes = 0;
    const r = new Reactor(
      wake,
      () => wakes++,
      (err, fd) => errors.push({ err, fd }),
      20,
    );
    const seen: string[] = [];
    const drain = Buffer.alloc(8);
    r.add(a, EPOLLIN | EPOLLET, () => {
      calls.read(a, drain, 8);
      seen.push('a');
      throw new Error('boom');
    });
    r.add(b, EPOLLIN | EPOLLET, () => {
      calls.read(b, drain, 8);
      seen.push('b');
    });
    let ticks = 0;
    r.every(10, () => {
      ticks++;
      if (ticks === 1) {
        calls.write(a, one(), 8);
        calls.write(b, one(), 8);
        calls.write(wake, one(), 8);
      }
      if (ticks === 5) r.stop();
    });
    const started = Date.now();
    r.run(() => undefined);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(seen.sort()).toEqual(['a', 'b']);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.fd).toBe(a);
    expect((errors[0]!.err as Error).message).toBe('boom');
    expect(wakes).toBe(1);
    calls.close(a);
    calls.close(b);
  });

  it('drops events still queued for a descriptor closed earlier in the same turn', () => {
    const calls = netCalls();
    const wake = calls.eventfd(0, EFD_NONBLOCK);
    const a = calls.eventfd(0, EFD_NONBLOCK);
    const b = calls.eventfd(0, EFD_NONBLOCK);
    const r = new Reactor(wake, () => undefined);
    const seen: number[] = [];
    // Whichever of a and b is handled first closes the other: the other's queued event must not be delivered.
    r.add(a, EPOLLIN | EPOLLET, () => {
      seen.push(a);
      r.close(b);
    });
    r.add(b, EPOLLIN | EPOLLET, () => {
      seen.push(b);
      r.close(a);
    });
    calls.write(a, one(), 8);
    calls.write(b, one(), 8);
    let ticks = 0;
    r.every(10, () => {
      if (++ticks === 3) r.stop();
    });
    r.run(() => undefined);
    expect(seen).toHaveLength(1);
    calls.close(seen[0]!);
  });
});
