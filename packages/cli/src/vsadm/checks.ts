/** The checks process_options runs once every option is parsed (generic_opt_check, tunnel_opt_check, ...). */
import type { ParsedCommand } from './command.js';
import { fail } from './exit.js';
import { OPTION_NAMES, rule, type OptionName } from './options.js';

export function checkCommand(ce: ParsedCommand): void {
  genericOptCheck(ce);
  const { svc, dest } = ce;
  if (ce.cmd === 'add-service' || ce.cmd === 'edit-service') {
    if (!svc.fwmark && !svc.port && !svc.persistent) throw fail(2, 'Zero port specified for non-persistent service');
    if (svc.onePacket && !svc.fwmark && svc.protocol !== 'udp') throw fail(2, 'One-Packet Scheduling is only for UDP virtual services');
    if (!svc.scheduler) svc.scheduler = 'wlc';
  }
  if (ce.cmd === 'start-daemon' && !ce.daemon.mcastInterface) ce.daemon.mcastInterface = 'eth0';
  if (ce.cmd === 'add-server' || ce.cmd === 'edit-server') {
    // DR and TUN cannot change the port: the kernel forwards to the service port (fwmark services excepted).
    if (!svc.fwmark && dest.forwarding !== 'masq') dest.port = svc.port;
    if (dest.family !== svc.family && dest.forwarding !== 'tunnel') throw fail(2, 'Different address family is allowed only for tunneling servers');
    const tunnelOpts: OptionName[] = ['tun-type', 'tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum'];
    if (tunnelOpts.some((o) => ce.options.has(o)) && dest.forwarding !== 'tunnel') throw fail(2, 'Tunnel options conflict with forward method');
    tunnelOptCheck(ce);
  }
  if (ce.cmd === 'list') {
    const has = (...o: OptionName[]): boolean => o.some((x) => ce.options.has(x));
    if ((has('connection', 'timeout', 'daemon') && has('stats', 'rate', 'thresholds')) || (has('timeout', 'daemon') && has('persistent-conn')))
      throw fail(2, 'options conflicts in the list command');
  }
}

function genericOptCheck(ce: ParsedCommand): void {
  let last: OptionName | null = null;
  for (const opt of OPTION_NAMES) {
    const r = rule(ce.cmd, opt);
    if (!ce.options.has(opt)) {
      if (r === '+') throw fail(2, `You need to supply the '${opt}' option for the '${ce.cmd}' command`);
      continue;
    }
    if (r === 'x') throw fail(2, `Illegal '${opt}' option with the '${ce.cmd}' command`);
    if (r === '1') {
      if (last) throw fail(2, `The option '${opt}' conflicts with the '${last}' option in the '${ce.cmd}' command`);
      last = opt;
    }
  }
}

// Per tunnel type: tun-port, tun-nocsum, tun-csum, tun-remcsum.
const TUNNEL_RULES = { ipip: 'xxxx', gue: '+111', gre: 'x11x' } as const;
const TUNNEL_OPTS: OptionName[] = ['tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum'];

function tunnelOptCheck(ce: ParsedCommand): void {
  const type = ce.dest.tunType;
  let last: OptionName | null = null;
  TUNNEL_OPTS.forEach((opt, j) => {
    const r = TUNNEL_RULES[type][j];
    if (!ce.options.has(opt)) {
      if (r === '+') throw fail(2, `You need to supply the '${opt}' option for the '${type}' tunnel type`);
      return;
    }
    if (r === 'x') throw fail(2, `Illegal '${opt}' option with the '${type}' tunnel type`);
    if (r === '1') {
      if (last) throw fail(2, `The option '${opt}' conflicts with the '${last}' option in the '${type}' tunnel type`);
      last = opt;
    }
  });
}
