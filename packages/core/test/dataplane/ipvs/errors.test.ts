import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IpvsClient, IpvsKernelError, IpvsUnavailableError, VsdError } from '@vsd/core';
import { ipvsError } from '../../../src/dataplane/ipvs/errors.js';

const id = { protocol: 'tcp' as const, address: '10.0.0.1', port: 80 };
const dest = { address: '192.168.1.1', port: 80, upperThreshold: 1, lowerThreshold: 5 };

describe('IPVS errno mapping', () => {
  it.each([
    [17, 'NEW_SERVICE', 'VSD_ERR_SERVICE_EXISTS', 'EEXIST'],
    [17, 'NEW_DEST', 'VSD_ERR_REAL_SERVER_EXISTS', 'EEXIST'],
    [17, 'NEW_DAEMON', 'VSD_ERR_DAEMON_RUNNING', 'EEXIST'],
    [3, 'SET_SERVICE', 'VSD_ERR_SERVICE_NOT_FOUND', 'ESRCH'],
    [3, 'NEW_DEST', 'VSD_ERR_SERVICE_NOT_FOUND', 'ESRCH'],
    [3, 'DEL_DAEMON', 'VSD_ERR_NO_DAEMON', 'ESRCH'],
    [2, 'NEW_SERVICE', 'VSD_ERR_SCHEDULER_NOT_FOUND', 'ENOENT'],
    [2, 'DEL_DEST', 'VSD_ERR_REAL_SERVER_NOT_FOUND', 'ENOENT'],
    [34, 'NEW_DEST', 'VSD_ERR_THRESHOLD_RANGE', 'ERANGE'],
    [22, 'NEW_SERVICE', 'VSD_ERR_IPVS_KERNEL', 'EINVAL'],
    [1, 'FLUSH', 'VSD_ERR_IPVS_KERNEL', 'EPERM'],
    [19, 'NEW_DAEMON', 'VSD_ERR_IPVS_KERNEL', 'ENODEV'],
  ] as const)('errno %i on %s -> %s (%s)', (errno, command, code, name) => {
    const e = ipvsError(errno, { command, service: id, scheduler: 'rr', dest, daemonState: 'master' });
    expect(e).toBeInstanceOf(VsdError);
    expect(e.code).toBe(code);
    expect(e.errno).toBe(name);
    expect(e.details.command).toBe(command);
  });

  it('keeps the errno name and strerror text of errnos outside the Errno union', () => {
    const e = ipvsError(16, { command: 'FLUSH' });
    expect(e).toBeInstanceOf(IpvsKernelError);
    expect(e.errno).toBeUndefined();
    expect(e.details).toMatchObject({ errnoName: 'EBUSY', text: 'Device or resource busy' });
  });
});

describe('IpvsClient on this host', () => {
  it('names ip_vs and the proxy dataplane when the kernel has no IPVS, and opens otherwise', () => {
    if (existsSync('/proc/net/ip_vs')) {
      const c = IpvsClient.open({ loadModule: false });
      expect(c.info().version).toMatch(/^\d+\.\d+\.\d+$/);
      c.close();
      return;
    }
    let err: unknown;
    try {
      IpvsClient.open({ loadModule: false });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(IpvsUnavailableError);
    expect((err as VsdError).code).toBe('VSD_ERR_IPVS_UNAVAILABLE');
    expect((err as Error).message).toMatch(/ip_vs/);
    expect((err as Error).message).toMatch(/proxy/);
  });
});
