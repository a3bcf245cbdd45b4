/**
 * argv -> ParsedCommand, following ipvsadm 1.31's parse_options and process_options step for step, so that the
 * same command line fails with the same message and status (2 for ipvsadm's fail(), 255 for popt errors and
 * "Try ... -h"). Name lookups are the only effects, through the injected Resolver.
 */
import { emptyCommand, type ParsedCommand } from './command.js';
import { checkCommand } from './checks.js';
import { fail, tryHelp, VsadmExit } from './exit.js';
import { POPT_TABLE, type CommandName, type OptionName } from './options.js';
import {
  MAX_TIMEOUT,
  numberOrFail,
  parseFwmark,
  parseMcastGroup,
  parseNetmask4,
  parseNetmask6,
  parseSchedFlags,
  parseService,
  parseTimeout,
} from './parse-values.js';
import { poptScan, type PoptEvent } from './popt.js';
import type { Resolver } from './resolve.js';
import { usageText, VERSION_LINE } from './usage.js';

const FIRST: Record<string, CommandName> = {
  A: 'add-service',
  E: 'edit-service',
  D: 'delete-service',
  a: 'add-server',
  e: 'edit-server',
  d: 'delete-server',
  C: 'flush',
  L: 'list',
  l: 'list',
  Z: 'zero',
  set: 'set',
  R: 'restore',
  S: 'save',
  'start-daemon': 'start-daemon',
  'stop-daemon': 'stop-daemon',
};

export interface ParseContext {
  /** Shown in "Try `PROGRAM -h'" and the usage text. */
  program: string;
  resolver: Resolver;
}

/** Parse one command line (without the program name). Throws VsadmExit for -h, -v and every error. */
export async function parseCommand(args: readonly string[], ctx: ParseContext): Promise<ParsedCommand> {
  const ce = emptyCommand();
  const scan = poptScan(args, POPT_TABLE);
  const [first, ...rest] = scan.events;
  if (!first) throw tryHelp(ctx.program);
  startCommand(ce, first, ctx);

  for (const ev of rest) await applyOption(ce, ev, ctx);
  if (scan.error) throw new VsadmExit(255, `${scan.error.bad}: ${scan.error.message}\n`);

  const leftovers = [...scan.leftovers];
  if (ce.cmd === 'set') {
    if (leftovers.length < 3) throw fail(2, '--set option requires 3 timeout values');
    const [tcp, tcpfin, udp] = leftovers.splice(0, 3) as [string, string, string];
    ce.timeouts = {
      tcp: parseTimeout(tcp, 0, MAX_TIMEOUT),
      tcpfin: parseTimeout(tcpfin, 0, MAX_TIMEOUT),
      udp: parseTimeout(udp, 0, MAX_TIMEOUT),
    };
  }
  if (leftovers.length > 0) throw fail(2, `unexpected argument ${leftovers[0]}`);
  if (ce.schedFlagsArg) ce.svc.schedFlags = parseSchedFlags(ce.svc.scheduler, ce.schedFlagsArg);
  checkCommand(ce);
  return ce;
}

function startCommand(ce: ParsedCommand, ev: PoptEvent, ctx: ParseContext): void {
  if (ev.tag === 'h') throw new VsadmExit(0, '', usageText(ctx.program));
  if (ev.tag === 'v') throw new VsadmExit(0, '', VERSION_LINE);
  const cmd = FIRST[ev.tag];
  if (!cmd) throw tryHelp(ctx.program);
  ce.cmd = cmd;
  if (cmd === 'start-daemon' || cmd === 'stop-daemon') {
    if (ev.value === 'master' || ev.value === 'backup') ce.daemon.state = ev.value;
    else throw fail(2, cmd === 'start-daemon' ? 'illegal start-daemon parameter specified' : 'illegal start_daemon specified');
  }
}

function setOption(ce: ParsedCommand, name: OptionName): void {
  if (ce.options.has(name)) throw fail(2, `multiple '${name}' options specified`);
  ce.options.add(name);
}

const FLAG_OPTIONS: Record<string, [OptionName, keyof ParsedCommand['format'] | null]> = {
  c: ['connection', null],
  n: ['numeric', 'numeric'],
  timeout: ['timeout', null],
  daemon: ['daemon', null],
  stats: ['stats', 'stats'],
  rate: ['rate', 'rate'],
  thresholds: ['thresholds', 'thresholds'],
  'persistent-conn': ['persistent-conn', 'persistentConn'],
  nosort: ['nosort', 'nosort'],
  X: ['exact', 'exact'],
  'tun-info': ['tun-info', 'tunInfo'],
};

async function applyOption(ce: ParsedCommand, ev: PoptEvent, ctx: ParseContext): Promise<void> {
  const v = ev.value ?? '';
  const flag = FLAG_OPTIONS[ev.tag];
  if (flag) {
    setOption(ce, flag[0]);
    if (flag[1]) ce.format[flag[1]] = true;
    return;
  }
  switch (ev.tag) {
    case 't':
    case 'u':
    case 'sctp-service': {
      setOption(ce, 'service-address');
      ce.svc.protocol = ev.tag === 't' ? 'tcp' : ev.tag === 'u' ? 'udp' : 'sctp';
      const a = await parseService(v, ce.svc.protocol, ctx.resolver);
      if (!a) throw fail(2, 'illegal virtual server address[:port] specified');
      Object.assign(ce.svc, { family: a.family, address: a.address, port: a.port ?? ce.svc.port });
      if (a.family === 'inet6') ce.svc.netmask = 128;
      return;
    }
    case 'f':
      setOption(ce, 'service-address');
      Object.assign(ce.svc, { family: 'inet', protocol: 'tcp', fwmark: parseFwmark(v) });
      return;
    case 's':
      setOption(ce, 'scheduler');
      ce.svc.scheduler = v.slice(0, 15);
      return;
    case 'p':
      setOption(ce, 'persistent');
      ce.svc.persistent = true;
      ce.svc.timeout = parseTimeout(ev.value, 1, MAX_TIMEOUT);
      return;
    case 'M':
      setOption(ce, 'netmask');
      if (ce.svc.family === 'inet6') ce.svc.netmask = parseNetmask6(v);
      else {
        const mask = await parseNetmask4(v, ctx.resolver);
        if (mask === null) throw fail(2, 'illegal virtual server persistent mask specified');
        ce.svc.netmask = mask;
      }
      return;
    case 'r': {
      setOption(ce, 'real-server');
      const a = await parseService(v, ce.svc.protocol, ctx.resolver);
      if (!a) throw fail(2, 'illegal real server address[:port] specified');
      Object.assign(ce.dest, { family: a.family, address: a.address, port: a.port ?? ce.svc.port });
      return;
    }
    case 'i':
    case 'g':
    case 'm':
      setOption(ce, 'forwarding-method');
      ce.dest.forwarding = ev.tag === 'i' ? 'tunnel' : ev.tag === 'g' ? 'route' : 'masq';
      return;
    case 'w':
      setOption(ce, 'weight');
      // ipvsadm 1.31 takes any int here and leaves the range to the kernel (recorded: -w 65536 is accepted).
      ce.dest.weight = numberOrFail(v, 0, 2147483647, 'illegal weight specified');
      return;
    case 'x':
      setOption(ce, 'u-threshold');
      ce.dest.upperThreshold = numberOrFail(v, 0, 2147483647, 'illegal u_threshold specified');
      return;
    case 'y':
      setOption(ce, 'l-threshold');
      ce.dest.lowerThreshold = numberOrFail(v, 0, 2147483647, 'illegal l_threshold specified');
      return;
    default:
      return applyOtherOption(ce, ev, v);
  }
}

function applyOtherOption(ce: ParsedCommand, ev: PoptEvent, v: string): void {
  switch (ev.tag) {
    case 'mcast-interface':
      setOption(ce, 'mcast-interface');
      ce.daemon.mcastInterface = v.slice(0, 15);
      return;
    case 'syncid':
      setOption(ce, 'syncid');
      ce.daemon.syncId = numberOrFail(v, 0, 255, 'illegal syncid specified');
      return;
    case 'sort':
      return;
    case '6':
      if (!ce.svc.fwmark) throw fail(2, '-6 used before -f\n');
      ce.svc.family = 'inet6';
      ce.svc.netmask = 128;
      return;
    case 'o':
      setOption(ce, 'ops');
      ce.svc.onePacket = true;
      return;
    case 'pe':
      setOption(ce, 'pe');
      ce.svc.pe = v.slice(0, 16);
      return;
    case 'b':
      setOption(ce, 'sched-flags');
      ce.schedFlagsArg = v.slice(0, 127);
      return;
    case 'mcast-group':
      setOption(ce, 'mcast-group');
      ce.daemon.group = parseMcastGroup(v);
      return;
    case 'mcast-port':
      setOption(ce, 'mcast-port');
      ce.daemon.port = numberOrFail(v, 1, 65535, 'illegal mcast-port specified');
      return;
    case 'mcast-ttl':
      setOption(ce, 'mcast-ttl');
      ce.daemon.ttl = numberOrFail(v, 1, 255, 'illegal mcast-ttl specified');
      return;
    case 'sync-maxlen':
      setOption(ce, 'sync-maxlen');
      ce.daemon.maxlen = numberOrFail(v, 1, 65535 - 20 - 8, 'illegal sync-maxlen specified');
      return;
    case 'tun-type': {
      setOption(ce, 'tun-type');
      if (v !== 'ipip' && v !== 'gue' && v !== 'gre') throw fail(2, 'illegal tunnel type specified');
      ce.dest.tunType = v;
      return;
    }
    case 'tun-port':
      setOption(ce, 'tun-port');
      ce.dest.tunPort = numberOrFail(v, 1, 65535, 'illegal tunnel port specified');
      return;
    case 'tun-nocsum':
    case 'tun-csum':
    case 'tun-remcsum':
      setOption(ce, ev.tag);
      if (ev.tag !== 'tun-nocsum') ce.dest.csum = ev.tag === 'tun-csum' ? 'csum' : 'remcsum';
      return;
    default:
      throw fail(2, `invalid option \`${ev.bad}'`);
  }
}
