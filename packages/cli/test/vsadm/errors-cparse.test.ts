import { describe, expect, it } from 'vitest';
import { atoi, inetAton, stringToNumber } from '../../src/vsadm/cparse.js';
import { ipvsStrerror } from '../../src/vsadm/errors.js';
import { syncMaxlen } from '../../src/vsadm/netdev.js';
import { parseServices } from '../../src/vsadm/resolve.js';

describe('ipvsStrerror', () => {
  it.each([
    ['add-service', 'EEXIST', 'Service already exists'],
    ['edit-service', 'ENOENT', 'Scheduler or persistence engine not found'],
    ['delete-service', 'ESRCH', 'No such service'],
    ['add-server', 'ESRCH', 'Service not defined'],
    ['delete-server', 'ENOENT', 'No such destination'],
    ['start-daemon', 'EEXIST', 'Daemon has already run'],
    ['stop-daemon', 'ESRCH', 'No daemon is running'],
    ['add-server', 'EINVAL', 'Invalid operation.  Possibly wrong module version, address not unicast, ...'],
    ['add-server', 'ERANGE', 'Numerical result out of range'],
    ['flush', 'EPERM', 'Permission denied (you must be root)'],
    ['add-service', 'ESRCH', 'No such process'],
  ] as const)('%s %s', (op, errno, message) => {
    expect(ipvsStrerror(op, errno)).toBe(message);
  });

  it('treats a missing errno as EINVAL, as libipvs does', () => {
    expect(ipvsStrerror('flush', undefined)).toMatch(/^Invalid operation/);
  });
});

describe('libc conversions', () => {
  it.each([
    ['80', 80],
    [' 80', 80],
    ['+80', 80],
    ['-0', 0],
    ['80x', -1],
    ['', -1],
    ['65536', -1],
    ['99999999999999999999', -1],
  ])('string_to_number(%j, 0, 65535)', (s, n) => {
    expect(stringToNumber(s, 0, 65535)).toBe(n);
  });

  it.each([
    ['10.0.0.1', '10.0.0.1'],
    ['10.1', '10.0.0.1'],
    ['10', '0.0.0.10'],
    ['0x7f.1', '127.0.0.1'],
    ['010.0.0.1', '8.0.0.1'],
    ['256.0.0.1', null],
    ['1.2.3.4.5', null],
    ['1..2', null],
    ['a.b.c.d', null],
  ])('inet_aton(%j)', (s, out) => {
    expect(inetAton(s)).toBe(out);
  });

  it('atoi reads the leading integer', () => {
    expect([atoi('64abc'), atoi('x'), atoi(' -3')]).toEqual([64, 0, -3]);
  });

  it('reads /etc/services lines', () => {
    expect(parseServices(['http 80/tcp www', 'bad line', 'x 1/udp'])).toEqual([
      { name: 'http', port: 80, proto: 'tcp', aliases: ['www'] },
      { name: 'x', port: 1, proto: 'udp', aliases: [] },
    ]);
  });
});

describe('sync daemon message size', () => {
  it('follows start_sync_thread', () => {
    expect(syncMaxlen('master', 0, 65536, false)).toBe(1472);
    expect(syncMaxlen('backup', 0, 65536, false)).toBe(65507);
    expect(syncMaxlen('backup', 0, 1400, false)).toBe(1472);
    expect(syncMaxlen('backup', 500, 1500, false)).toBe(1024);
    expect(syncMaxlen('master', 0, 1500, true)).toBe(1452);
  });
});
