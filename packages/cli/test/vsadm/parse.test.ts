import { describe, expect, it } from 'vitest';
import type { ParsedCommand } from '../../src/vsadm/command.js';
import { VsadmExit } from '../../src/vsadm/exit.js';
import { parseCommand } from '../../src/vsadm/parse.js';
import { fakeResolver } from './fake-resolver.js';

const ctx = { program: 'vsadm', resolver: fakeResolver };
const parse = (line: string): Promise<ParsedCommand> => parseCommand(line.split(' ').filter(Boolean), ctx);

async function failure(line: string): Promise<{ code: number; stderr: string; stdout: string }> {
  try {
    await parse(line);
  } catch (err) {
    if (err instanceof VsadmExit) return { code: err.code, stderr: err.stderr, stdout: err.stdout };
    throw err;
  }
  throw new Error(`"${line}" parsed`);
}

describe('commands', () => {
  it('clusters a command with its options (-Ln, -ln, -Lnc)', async () => {
    expect((await parse('-Ln')).format.numeric).toBe(true);
    const c = await parse('-Lnc');
    expect([c.cmd, [...c.options]]).toEqual(['list', ['numeric', 'connection']]);
  });

  it('needs the command first: "-n -L" is a usage error with status 255', async () => {
    expect(await failure('-n -L')).toEqual({ code: 255, stdout: '', stderr: "Try `vsadm -h' or 'vsadm --help' for more information.\n" });
  });

  it('refuses a second command as an invalid option, naming the word popt last read', async () => {
    expect((await failure('-L -A')).stderr).toBe("invalid option `-A'\n");
    expect((await failure('-L --start-daemon master')).stderr).toBe("invalid option `master'\n");
  });

  it('prints help on stdout with status 0, naming the program', async () => {
    const r = await failure('-h');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  vsadm -A|E virtual-service [-s scheduler]');
  });

  it('reports popt errors after the options before them were handled', async () => {
    expect(await failure('-A -t 1.2.3.4:80 -q')).toEqual({ code: 255, stdout: '', stderr: '-q: unknown option\n' });
    expect((await failure('-A -t bad..addr -q')).stderr).toBe('illegal virtual server address[:port] specified\n');
  });
});

describe('virtual service addresses', () => {
  it.each([
    ['-A -t 10.0.0.1:80', 'inet', '10.0.0.1', 80],
    ['-A -t 10.1:80', 'inet', '10.0.0.1', 80],
    ['-A -t 0x0a000001:80', 'inet', '10.0.0.1', 80],
    ['-A -t www.example.com:http', 'inet', '192.0.2.10', 80],
    ['-A -t [2001:db8::1]:443', 'inet6', '2001:db8::1', 443],
    ['-A -u [2001:DB8:0:0::1]:domain', 'inet6', '2001:db8::1', 53],
  ])('%s', async (line, family, address, port) => {
    const c = await parse(`${line} -s rr`);
    expect([c.svc.family, c.svc.address, c.svc.port]).toEqual([family, address, port]);
  });

  it('takes an IPv6 address without brackets as having no port (so it needs -p)', async () => {
    expect((await failure('-A -t 2001:db8::1')).stderr).toBe('Zero port specified for non-persistent service\n');
    expect((await parse('-A -t 2001:db8::1 -p')).svc.port).toBe(0);
  });

  it.each(['80', '10.0.0.1:http-x', '[2001:db8::1]', '[2001:db8::1:80', 'nosuch.host:80', '10.0.0.1:65536', ''])('refuses "%s"', async (addr) => {
    const r = await failure(`-A -t ${addr || "''"} -s rr`.replace("''", ''));
    expect(r.code).toBe(2);
  });

  it('looks service names up for the protocol of the option', async () => {
    expect((await parse('-A -u 10.0.0.1:domain')).svc.port).toBe(53);
    expect((await failure('-A -u 10.0.0.1:http')).stderr).toBe('illegal virtual server address[:port] specified\n');
  });

  it('parses fwmarks and -6 after -f only', async () => {
    const c = await parse('-A -f 7 -6 -s rr');
    expect([c.svc.fwmark, c.svc.family, c.svc.netmask]).toEqual([7, 'inet6', 128]);
    expect((await failure('-A -6 -f 2')).stderr).toBe('-6 used before -f\n\n');
    expect((await failure('-A -f 0')).stderr).toBe("invalid fwmark value `0' specified\n");
    expect((await failure('-A -f 4294967296')).stderr).toBe("invalid fwmark value `4294967296' specified\n");
    expect((await failure('-A -f 3x')).stderr).toBe("invalid fwmark value `3x' specified\n");
  });
});

describe('service options', () => {
  it.each([
    ['-A -t 1.2.3.4:80 -p', 360],
    ['-A -t 1.2.3.4:80 -p60', 60],
    ['-A -t 1.2.3.4:80 -p=61', 61],
    ['-A -t 1.2.3.4:80 --persistent=62', 62],
    ['-A -t 1.2.3.4:80 -p 63 -s rr', 63],
    ['-A -t 1.2.3.4:80 -p -s rr', 360],
  ])('-p takes an optional value: %s', async (line, timeout) => {
    const c = await parse(line);
    expect([c.svc.persistent, c.svc.timeout]).toEqual([true, timeout]);
  });

  it('defaults the scheduler to wlc for -A and -E', async () => {
    expect((await parse('-E -t 1.2.3.4:80')).svc.scheduler).toBe('wlc');
  });

  it('reads -M as a dotted mask before an IPv6 service is known, a prefix after', async () => {
    expect((await parse('-A -t 1.2.3.4:80 -p -M 255.255.255.0')).svc.netmask).toBe(0xffffff00);
    expect((await parse('-A -t [2001:db8::1]:80 -p -M 64')).svc.netmask).toBe(64);
    expect((await failure('-A -t [2001:db8::1]:80 -p -M 129')).stderr).toBe('illegal ipv6 netmask specified\n');
    // inet_aton reads "64" as 0.0.0.64, then the IPv6 service resets the mask to 128.
    expect((await parse('-A -M 64 -t [2001:db8::1]:80 -p')).svc.netmask).toBe(128);
    expect((await failure('-A -M 255.255.0.x -t 1.2.3.4:80 -p')).stderr).toBe('illegal virtual server persistent mask specified\n');
  });

  it('checks scheduler flags against the final scheduler', async () => {
    expect((await parse('-A -t 1.2.3.4:80 -b sh-port,sh-fallback -s sh')).svc.schedFlags).toBe(3);
    expect((await parse('-A -t 1.2.3.4:80 -s rr -b flag-3')).svc.schedFlags).toBe(4);
    expect((await failure('-A -t 1.2.3.4:80 -b mh-port')).stderr).toBe("incompatible scheduler flag `mh-port'\n");
    expect((await failure('-A -t 1.2.3.4:80 -s sh -b sh-x')).stderr).toBe("invalid scheduler flag `sh-x'\n");
  });

  it('allows one-packet scheduling for UDP and fwmark services only', async () => {
    expect((await parse('-A -u 1.2.3.4:53 -o')).svc.onePacket).toBe(true);
    expect((await parse('-A -f 1 -o')).svc.onePacket).toBe(true);
    expect((await failure('-A -t 1.2.3.4:53 -o')).stderr).toBe('One-Packet Scheduling is only for UDP virtual services\n');
  });

  it('truncates the scheduler name as ipvsadm copies it (15 characters)', async () => {
    expect((await parse('-A -t 1.2.3.4:80 -s abcdefghijklmnopq')).svc.scheduler).toBe('abcdefghijklmno');
  });
});

describe('real servers', () => {
  it('defaults to DR, weight 1, thresholds 0, and the service port', async () => {
    const c = await parse('-a -t 1.2.3.4:80 -r 10.0.0.1');
    expect(c.dest).toMatchObject({ address: '10.0.0.1', port: 80, forwarding: 'route', weight: 1, upperThreshold: 0, lowerThreshold: 0 });
  });

  it('forces the service port for DR and TUN, keeps it for NAT and fwmark services', async () => {
    expect((await parse('-a -t 1.2.3.4:80 -r 10.0.0.1:8080 -g')).dest.port).toBe(80);
    expect((await parse('-a -t 1.2.3.4:80 -r 10.0.0.1:8080 -i')).dest.port).toBe(80);
    expect((await parse('-a -t 1.2.3.4:80 -r 10.0.0.1:8080 -m')).dest.port).toBe(8080);
    expect((await parse('-a -f 5 -r 10.0.0.1:8080')).dest.port).toBe(8080);
    expect((await parse('-d -t 1.2.3.4:80 -r 10.0.0.1:8080')).dest.port).toBe(8080);
  });

  it('takes the port a -r without port copies from the service as parsed so far', async () => {
    expect((await parse('-a -r 10.0.0.1 -t 1.2.3.4:80 -m')).dest.port).toBe(0);
  });

  it('resolves real server service names with the service protocol', async () => {
    expect((await parse('-a -t 1.2.3.4:80 -r 10.0.0.1:http-alt -m')).dest.port).toBe(8080);
    expect((await failure('-a -r 10.0.0.1:http-alt -t 1.2.3.4:80 -m')).stderr).toBe('illegal real server address[:port] specified\n');
  });

  it('allows another address family only for tunnels', async () => {
    expect((await parse('-a -t 1.2.3.4:80 -r [2001:db8::2]:80 -i')).dest.family).toBe('inet6');
    expect((await failure('-a -t 1.2.3.4:80 -r [2001:db8::2]:80 -m')).stderr).toBe('Different address family is allowed only for tunneling servers\n');
  });

  it.each([
    ['-w 65535', null],
    ['-w -1', 'illegal weight specified'],
    ['-w 1x', 'illegal weight specified'],
    ['-x 2147483647', null],
    ['-x 2147483648', 'illegal u_threshold specified'],
    ['-y -0', null],
    ['-y +5', null],
  ])('%s', async (opt, message) => {
    const line = `-a -t 1.2.3.4:80 -r 10.0.0.1 ${opt}`;
    if (message === null) await parse(line);
    else expect((await failure(line)).stderr).toBe(`${message}\n`);
  });

  it.each([
    ['--tun-type gue -i', "You need to supply the 'tun-port' option for the 'gue' tunnel type"],
    ['--tun-type ipip --tun-port 5 -i', "Illegal 'tun-port' option with the 'ipip' tunnel type"],
    ['--tun-type gre --tun-csum --tun-nocsum -i', "The option 'tun-csum' conflicts with the 'tun-nocsum' option in the 'gre' tunnel type"],
    ['--tun-type gre --tun-remcsum -i', "Illegal 'tun-remcsum' option with the 'gre' tunnel type"],
    ['--tun-type gue --tun-port 6080 -m', 'Tunnel options conflict with forward method'],
    ['--tun-type vxlan -i', 'illegal tunnel type specified'],
    ['--tun-type gue --tun-port 0 -i', 'illegal tunnel port specified'],
  ])('tunnel options: %s', async (opts, message) => {
    expect((await failure(`-a -t 1.2.3.4:80 -r 10.0.0.1 ${opts}`)).stderr).toBe(`${message}\n`);
  });

  it('keeps gue options', async () => {
    const c = await parse('-a -t 1.2.3.4:80 -r 10.0.0.1 -i --tun-type gue --tun-port 6080 --tun-remcsum');
    expect(c.dest).toMatchObject({ forwarding: 'tunnel', tunType: 'gue', tunPort: 6080, csum: 'remcsum' });
  });
});

describe('option rules (generic_opt_check)', () => {
  it.each([
    ['-A -s rr', "You need to supply the 'service-address' option for the 'add-service' command"],
    ['-a -t 1.2.3.4:80', "You need to supply the 'real-server' option for the 'add-server' command"],
    ['-D -t 1.2.3.4:80 -s rr', "Illegal 'scheduler' option with the 'delete-service' command"],
    ['-L -c --timeout', "The option 'timeout' conflicts with the 'connection' option in the 'list' command"],
    ['-L -n -n', "multiple 'numeric' options specified"],
    ['-A -t 1.2.3.4:80 -f 3', "multiple 'service-address' options specified"],
    ['-a -t 1.2.3.4:80 -r 10.0.0.1 -m -g', "multiple 'forwarding-method' options specified"],
    ['-L --timeout --stats', 'options conflicts in the list command'],
    ['-L --daemon --persistent-conn', 'options conflicts in the list command'],
    ['-C -n', "Illegal 'numeric' option with the 'flush' command"],
    ['-Z -t 1.2.3.4:80 -n', "Illegal 'numeric' option with the 'zero' command"],
    ['-A -t 1.2.3.4:80 extra', 'unexpected argument extra'],
  ])('%s', async (line, message) => {
    expect(await failure(line)).toEqual({ code: 2, stdout: '', stderr: `${message}\n` });
  });

  it('accepts --sort as a no-op and --nosort/--exact/--tun-info as formats', async () => {
    const c = await parse('-L --sort --nosort --exact --tun-info');
    expect(c.format).toMatchObject({ nosort: true, exact: true, tunInfo: true });
  });
});

describe('--set and the sync daemon', () => {
  it('takes three timeouts from anywhere on the line', async () => {
    expect((await parse('--set 10 0 20')).timeouts).toEqual({ tcp: 10, tcpfin: 0, udp: 20 });
    expect((await failure('--set 1 2')).stderr).toBe('--set option requires 3 timeout values\n');
    expect((await failure('--set 1 2 x')).stderr).toBe("invalid timeout value `x' specified\n");
    expect((await failure('--set 1 2 3 4')).stderr).toBe('unexpected argument 4\n');
  });

  it('parses daemon options with their defaults', async () => {
    const c = await parse('--start-daemon backup --syncid 9 --mcast-group ff02::81 --mcast-port 9000 --mcast-ttl 3 --sync-maxlen 1200');
    expect(c.daemon).toEqual({ state: 'backup', mcastInterface: 'eth0', syncId: 9, maxlen: 1200, group: 'ff02::81', port: 9000, ttl: 3 });
    expect((await failure('--start-daemon master --mcast-group 10.0.0.1')).stderr).toBe("invalid IPv4 mcast-group `10.0.0.1'\n");
    expect((await failure('--start-daemon master --mcast-group 2001:db8::1')).stderr).toBe("invalid IPv6 mcast-group `2001:db8::1'\n");
    expect((await failure('--stop-daemon slave')).stderr).toBe('illegal start_daemon specified\n');
    expect((await failure('--stop-daemon master --mcast-interface eth1')).stderr).toBe("Illegal 'mcast-interface' option with the 'stop-daemon' command\n");
  });
});
