import { parseVirtualService, zeroCounters, type ConnectionEntry, type Counters, type ServiceStatus } from '@vsd/core';
import { describe, expect, it } from 'vitest';
import { emptyCommand, type ListFormat } from '../../src/vsadm/command.js';
import { formatListAll, formatListService } from '../../src/vsadm/format/list.js';
import { formatConnections, formatDaemons, formatTimeouts } from '../../src/vsadm/format/misc.js';
import { buildNamer, NUMERIC } from '../../src/vsadm/format/names.js';
import { largenum } from '../../src/vsadm/format/printf.js';
import { buildView } from '../../src/vsadm/format/view.js';
import { fakeResolver } from './fake-resolver.js';

const INFO = { version: '1.2.1', connTableSize: 4096 };
const fmt = (over: Partial<ListFormat> = {}): ListFormat => ({ ...emptyCommand().format, numeric: true, ...over });
const counters = (over: Partial<Counters>): Counters => ({ ...zeroCounters(), ...over });

describe('largenum', () => {
  it.each([
    [0, false, '        0'],
    [99_999_999, false, ' 99999999'],
    [100_000_000, false, '  100000K'],
    [999_999_999, false, '  999999K'],
    [1_000_000_000, false, '    1000M'],
    [99_999_999_999, false, '   99999M'],
    [100_000_000_000, false, '     100G'],
    [99_999_999_999_999, false, '   99999G'],
    [100_000_000_000_000, false, '     100T'],
    [12_345_678, true, ' 12345678'],
    [123_456_789, true, ' 123456789'],
    [100_000_000_000_000, true, ' 100000000000000'],
  ])('%d (exact %s)', (n, exact, text) => {
    expect(largenum(n, exact)).toBe(text);
  });
});

const svc = parseVirtualService({
  protocol: 'tcp',
  address: '10.0.0.1',
  port: 80,
  scheduler: 'wrr',
  realServers: [
    { address: '192.168.1.2', port: 80, forwarding: 'masq', weight: 3, upperThreshold: 100, lowerThreshold: 10 },
    { address: '192.168.1.1', port: 8080, forwarding: 'masq', weight: 0 },
  ],
});
const status: ServiceStatus[] = [
  {
    key: 'tcp 10.0.0.1:80',
    counters: counters({
      conns: 5,
      inPkts: 123_456_789,
      outPkts: 12_345_678_901_234,
      inBytes: 98_765_432_101,
      outBytes: 123_456_789_012_345,
      cps: 1,
      inPps: 2,
      outPps: 3,
      inBps: 400,
      outBps: 123_456_789,
    }),
    dests: [
      {
        key: '192.168.1.2:80',
        activeConns: 7,
        inactiveConns: 12,
        persistConns: 2,
        counters: counters({ conns: 3, cps: 11, inPps: 22, outPps: 33, inBps: 44, outBps: 555_555_555 }),
      },
      { key: '192.168.1.1:8080', activeConns: 0, inactiveConns: 1, persistConns: 0, counters: counters({ conns: 2 }) },
    ],
  },
];
const views = buildView({ services: [svc] }, status, false);

describe('listings with traffic', () => {
  it('-Ln shows connection counts and sorts real servers by address', () => {
    expect(formatListAll(views, INFO, fmt(), NUMERIC)).toBe(
      'IP Virtual Server version 1.2.1 (size=4096)\n' +
        'Prot LocalAddress:Port Scheduler Flags\n' +
        '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n' +
        'TCP  10.0.0.1:80 wrr\n' +
        '  -> 192.168.1.1:8080             Masq    0      0          1         \n' +
        '  -> 192.168.1.2:80               Masq    3      7          12        \n',
    );
  });

  it('--stats scales large counters to K, M, G and T', () => {
    expect(formatListService(views[0]!, fmt({ stats: true }), NUMERIC)).toBe(
      'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n' +
        '  -> RemoteAddress:Port\n' +
        'TCP  10.0.0.1:80                         5  123456K   12345G   98765M     123T\n' +
        '  -> 192.168.1.1:8080                    2        0        0        0        0\n' +
        '  -> 192.168.1.2:80                      3        0        0        0        0\n',
    );
  });

  it('--stats --exact prints every digit', () => {
    const line = formatListService(views[0]!, fmt({ stats: true, exact: true }), NUMERIC).split('\n')[2];
    expect(line).toBe('TCP  10.0.0.1:80                         5 123456789 12345678901234 98765432101 123456789012345');
  });

  it('--rate prints real server CPS and packet rates unscaled', () => {
    expect(formatListService(views[0]!, fmt({ rate: true }), NUMERIC)).toBe(
      'Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n' +
        '  -> RemoteAddress:Port\n' +
        'TCP  10.0.0.1:80                         1        2        3      400  123456K\n' +
        '  -> 192.168.1.1:8080                    0        0        0        0        0\n' +
        '  -> 192.168.1.2:80                     11       22       33       44  555555K\n',
    );
  });

  it('--thresholds and --persistent-conn', () => {
    expect(
      formatListService(views[0]!, fmt({ thresholds: true }), NUMERIC)
        .split('\n')
        .slice(4, 5),
    ).toEqual(['  -> 192.168.1.2:80               100        10         7          12        ']);
    expect(formatListService(views[0]!, fmt({ persistentConn: true }), NUMERIC)).toBe(
      'Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n' +
        '  -> RemoteAddress:Port\n' +
        'TCP  10.0.0.1:80 wrr\n' +
        '  -> 192.168.1.1:8080             0         0           0          1         \n' +
        '  -> 192.168.1.2:80               3         2           7          12        \n',
    );
  });

  it('--nosort shows real servers newest first, as the kernel keeps them', () => {
    const dests = buildView({ services: [svc] }, status, true)[0]!.dests.map((d) => d.rs.address);
    expect(dests).toEqual(['192.168.1.1', '192.168.1.2']);
  });

  it('sorts services as libipvs does, including its signed 32-bit address difference', () => {
    const mk = (address: string, protocol: 'tcp' | 'udp' = 'tcp') => parseVirtualService({ protocol, address, port: 80 });
    const list = [mk('192.168.0.1'), mk('10.0.0.1'), mk('10.0.0.1', 'udp'), parseVirtualService({ fwmark: 3 }), mk('1.2.3.4')];
    const order = buildView({ services: list }, [], false).map((v) => ('fwmark' in v.svc ? `fwm ${v.svc.fwmark}` : `${v.svc.protocol} ${v.svc.address}`));
    expect(order).toEqual(['tcp 192.168.0.1', 'tcp 1.2.3.4', 'tcp 10.0.0.1', 'udp 10.0.0.1', 'fwm 3']);
  });

  it('cuts long IPv4 names at 33 (service) and 28 (real server) characters', async () => {
    const long = parseVirtualService({
      protocol: 'tcp',
      address: '192.0.2.10',
      port: 8080,
      realServers: [{ address: '192.0.2.10', port: 8080, forwarding: 'masq' }],
    });
    const view = buildView({ services: [long] }, [], false);
    const namer = { host: () => 'a-rather-long-host-name.example.com', service: () => 'webcache' };
    const out = formatListService(view[0]!, fmt({ numeric: false }), namer).split('\n');
    expect(out[2]).toBe('TCP  a-rather-long-host-name.exam wlc');
    expect(out[3]).toBe('  -> a-rather-long-host-name.exam Masq    1      0          0         ');
  });

  it('-S without -n uses host and service names', async () => {
    const local = parseVirtualService({
      protocol: 'tcp',
      address: '127.0.0.1',
      port: 80,
      persistence: { timeout: 300, netmask: 24 },
      realServers: [{ address: '127.0.0.1', port: 8080, forwarding: 'masq' }],
    });
    const view = buildView({ services: [local] }, [], false);
    const namer = await buildNamer(['127.0.0.1'], fakeResolver);
    expect(formatListAll(view, INFO, fmt({ numeric: false, rule: true }), namer)).toBe(
      '-A -t localhost:http -s wlc -p 300 -M 255.255.255.0\n-a -t localhost:http -r localhost:http-alt -m -w 1\n',
    );
  });
});

describe('--tun-info', () => {
  it('shows the tunnel type, port and checksum flag', () => {
    const t = parseVirtualService({
      protocol: 'udp',
      address: '10.0.0.1',
      port: 53,
      realServers: [
        { address: '10.1.0.1', port: 53, forwarding: 'tunnel', tunnel: { type: 'gue', port: 6080, csum: 'remcsum' } },
        { address: '10.1.0.2', port: 53, forwarding: 'tunnel', tunnel: { type: 'gre', csum: 'csum' } },
        { address: '10.1.0.3', port: 53, forwarding: 'route' },
      ],
    });
    expect(
      formatListService(buildView({ services: [t] }, [], false)[0]!, fmt({ tunInfo: true }), NUMERIC)
        .split('\n')
        .slice(3, 6),
    ).toEqual([
      '  -> 10.1.0.1:53                  Tunnel  gue:6080:r+c  1      0          0         ',
      '  -> 10.1.0.2:53                  Tunnel  gre:+c        1      0          0         ',
      '  -> 10.1.0.3:53                  Route   n/a           1      0          0         ',
    ]);
  });
});

describe('-L -c', () => {
  const conns: ConnectionEntry[] = [
    {
      protocol: 'TCP',
      expires: 899,
      state: 'ESTABLISHED',
      client: { address: '127.0.0.1', port: 41234 },
      virtual: { address: '127.0.0.1', port: 80 },
      destination: { address: '127.0.0.1', port: 8080 },
    },
    {
      protocol: 'UDP',
      expires: 6000.7,
      state: 'UDP',
      client: { address: '2001:db8::5', port: 5353 },
      virtual: { address: '2001:db8::1', port: 53 },
      destination: { address: '2001:db8::2', port: 53 },
      pe: { name: 'sip', data: 'call-1' },
    },
  ];

  it('prints minutes:seconds and the three endpoints', () => {
    expect(formatConnections(conns, fmt(), NUMERIC)).toBe(
      'IPVS connection entries\n' +
        'pro expire state       source             virtual            destination\n' +
        'TCP 14:59  ESTABLISHED 127.0.0.1:41234    127.0.0.1:80       127.0.0.1:8080\n' +
        'UDP 100:00 UDP         [2001:db8::5]:5353 [2001:db8::1]:53   [2001:db8::2]:53\n',
    );
  });

  it('uses names without -n and adds persistence-engine columns with --persistent-conn', async () => {
    const namer = await buildNamer(['127.0.0.1', '2001:db8::5'], fakeResolver);
    const text = formatConnections(conns, fmt({ numeric: false, persistentConn: true }), namer).split('\n');
    expect(text[1]).toBe('pro expire state       source             virtual            destination        pe name          pe_data');
    expect(text[2]).toBe('TCP 14:59  ESTABLISHED localhost:41234    localhost:http     localhost:http-alt');
    expect(text[3]).toBe('UDP 100:00 UDP         [2001:db8::5]:5353 [2001:db8::1]:domain [2001:db8::2]:domain sip                call-1');
  });
});

describe('--timeout and --daemon', () => {
  it('formats timeouts', () => {
    expect(formatTimeouts({ tcp: 900, tcpfin: 120, udp: 300 })).toBe('Timeout (tcp tcpfin udp): 900 120 300\n');
  });

  it('lists the master before the backup, with the values the kernel reports', () => {
    const text = formatDaemons([
      { state: 'backup', mcastInterface: 'eth1', syncId: 3, group: 'ff02::81' },
      { state: 'master', mcastInterface: 'eth0', syncId: 0, maxlen: 1400, port: 8849, ttl: 2 },
    ]);
    expect(text).toBe(
      'master sync daemon (mcast=eth0, syncid=0, maxlen=1400, group=224.0.0.81, port=8849, ttl=2)\n' +
        'backup sync daemon (mcast=eth1, syncid=3, maxlen=1452, group=ff02::81, port=8848, ttl=1)\n',
    );
  });
});

describe('effective weights', () => {
  it('lists what the dataplane runs: weights after health feedback, removed real servers left out', () => {
    const effective = new Map([
      ['tcp 10.0.0.1:80|192.168.1.2:80', { effectiveWeight: 0, removed: false }],
      ['tcp 10.0.0.1:80|192.168.1.1:8080', { effectiveWeight: 0, removed: true }],
    ]);
    const view = buildView({ services: [svc] }, status, false, effective);
    expect(formatListService(view[0]!, fmt(), NUMERIC).split('\n').slice(3)).toEqual([
      '  -> 192.168.1.2:80               Masq    0      7          12        ',
      '',
    ]);
  });
});
