import { parseOps } from '@vsd/core';
import { describe, expect, it } from 'vitest';
import { buildOp, schedFlagNames } from '../../src/vsadm/build.js';
import { parseCommand } from '../../src/vsadm/parse.js';
import { fakeResolver } from './fake-resolver.js';

const op = async (line: string) => buildOp(await parseCommand(line.split(' '), { program: 'vsadm', resolver: fakeResolver }));

describe('buildOp', () => {
  it('builds a whole virtual service that vsd accepts', async () => {
    const o = await op('-A -u 10.0.0.1:53 -s sh -b sh-fallback,flag-3 -p 30 -M 255.255.0.0 --pe sip -o');
    expect(o).toEqual({
      op: 'add-service',
      service: {
        protocol: 'udp',
        address: '10.0.0.1',
        port: 53,
        scheduler: 'sh',
        schedFlags: ['sh-fallback', 'flag-3'],
        persistence: { timeout: 30, netmask: 16 },
        pe: 'sip',
        onePacket: true,
        realServers: [],
      },
    });
    expect(parseOps([o])).toHaveLength(1);
  });

  it('keeps an IPv6 prefix and an fwmark family', async () => {
    expect(await op('-E -f 9 -6 -p -M 64')).toMatchObject({
      op: 'edit-service',
      service: { fwmark: 9, family: 'inet6', persistence: { timeout: 360, netmask: 64 } },
    });
  });

  it('refuses a non-contiguous IPv4 mask the model cannot hold', async () => {
    await expect(op('-A -t 10.0.0.1:80 -p -M 255.0.255.0')).rejects.toMatchObject({ code: 2, stderr: 'illegal virtual server persistent mask specified\n' });
  });

  it('builds whole real servers, tunnels included', async () => {
    expect(await op('-e -t 10.0.0.1:80 -r 10.1.1.1 -i --tun-type gue --tun-port 6080 --tun-csum')).toEqual({
      op: 'edit-server',
      service: { protocol: 'tcp', address: '10.0.0.1', port: 80 },
      server: {
        address: '10.1.1.1',
        port: 80,
        forwarding: 'tunnel',
        weight: 1,
        upperThreshold: 0,
        lowerThreshold: 0,
        tunnel: { type: 'gue', port: 6080, csum: 'csum' },
      },
    });
  });

  it('zeroes one service or all, deletes by identity', async () => {
    expect(await op('-Z')).toEqual({ op: 'zero' });
    expect(await op('-Z -f 4')).toEqual({ op: 'zero', service: { fwmark: 4, family: 'inet' } });
    expect(await op('-d -t 10.0.0.1:80 -r 10.1.1.1:81')).toEqual({
      op: 'delete-server',
      service: { protocol: 'tcp', address: '10.0.0.1', port: 80 },
      server: { address: '10.1.1.1', port: 81 },
    });
    expect(await op('--set 0 0 60')).toEqual({ op: 'set-timeouts', timeouts: { tcp: 0, tcpfin: 0, udp: 60 } });
  });

  it('names scheduler flag bits after the scheduler', () => {
    expect(schedFlagNames('mh', 3)).toEqual(['mh-fallback', 'mh-port']);
    expect(schedFlagNames('rr', 5)).toEqual(['flag-1', 'flag-3']);
  });
});
