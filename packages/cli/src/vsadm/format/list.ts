/** ipvsadm -L / -S text (list_all, list_service, print_title, print_service_entry). */
import { familyOf, isFwmark, prefixToNetmask, type VirtualService } from '@vsd/core';
import { schedFlagBits } from './flags.js';
import type { ListFormat } from '../command.js';
import { addrPort, type Namer } from './names.js';
import { largenum, left, right } from './printf.js';
import type { DestView, ServiceView } from './view.js';

export interface IpvsInfo {
  version: string;
  connTableSize: number;
}

export function formatListAll(views: readonly ServiceView[], info: IpvsInfo, f: ListFormat, namer: Namer): string {
  const head = f.rule ? '' : `IP Virtual Server version ${info.version} (size=${info.connTableSize})\n`;
  return head + title(f) + views.map((v) => serviceEntry(v, f, namer)).join('');
}

/** -L with a service: no version line. */
export function formatListService(view: ServiceView, f: ListFormat, namer: Namer): string {
  return title(f) + serviceEntry(view, f, namer);
}

const PROT = 'Prot LocalAddress:Port';

function title(f: ListFormat): string {
  const cols = (names: string[], fmt: (s: string) => string): string =>
    `${left(PROT, 33)}${names.map((n) => ` ${fmt(n)}`).join('')}\n  -> RemoteAddress:Port\n`;
  if (f.stats) return cols(['Conns', 'InPkts', 'OutPkts', 'InBytes', 'OutBytes'], (s) => right(s, 8));
  if (f.rate) return cols(['CPS', 'InPPS', 'OutPPS', 'InBPS', 'OutBPS'], (s) => right(s, 8));
  if (f.thresholds) return cols(['Uthreshold', 'Lthreshold', 'ActiveConn', 'InActConn'], (s) => left(s, 10));
  if (f.persistentConn)
    return `${left(PROT, 33)} ${left('Weight', 9)} ${left('PersistConn', 11)} ${left('ActiveConn', 10)} ${left('InActConn', 10)}\n  -> RemoteAddress:Port\n`;
  if (f.tunInfo) return 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n';
  if (f.rule) return '';
  return 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';
}

const PROTO_NAME = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' } as const;
const PROTO_OPT = { tcp: '-t', udp: '-u', sctp: '--sctp-service' } as const;

function serviceName(svc: VirtualService, f: ListFormat, namer: Namer): string {
  if (isFwmark(svc)) {
    const v6 = svc.family === 'inet6';
    return f.rule ? `-f ${svc.fwmark}${v6 ? ' -6' : ''}` : `FWM  ${svc.fwmark}${v6 ? ' IPv6' : ''}`;
  }
  const vname = addrPort(svc.address, svc.port, svc.protocol, f.numeric, namer);
  if (f.rule) return `${PROTO_OPT[svc.protocol]} ${vname}`;
  const name = `${left(PROTO_NAME[svc.protocol], 4)} ${vname}`;
  return familyOf(svc.address) === 'inet6' ? name : name.slice(0, 33);
}

function schedFlagsText(svc: VirtualService): string {
  const bits = schedFlagBits(svc.schedFlags);
  const names = svc.scheduler === 'sh' ? ['sh-fallback', 'sh-port'] : svc.scheduler === 'mh' ? ['mh-fallback', 'mh-port'] : ['flag-1', 'flag-2', 'flag-3'];
  return names.filter((_, i) => bits & (1 << i)).join(',');
}

function maskText(svc: VirtualService): string {
  const nm = svc.persistence.netmask;
  const v6 = (isFwmark(svc) ? svc.family : familyOf(svc.address)) === 'inet6';
  if (nm === undefined || nm === (v6 ? 128 : 32)) return '';
  return v6 ? String(nm) : prefixToNetmask(nm);
}

function serviceLine(v: ServiceView, f: ListFormat, name: string): string {
  const { svc, counters: c } = v;
  const persistent = svc.persistence.timeout > 0;
  const mask = maskText(svc);
  const hasFlags = schedFlagBits(svc.schedFlags) !== 0;
  if (f.rule) {
    let s = `-A ${name} -s ${svc.scheduler}`;
    if (persistent) s += ` -p ${svc.persistence.timeout}${mask ? ` -M ${mask}` : ''}`;
    if (svc.pe) s += ` --pe ${svc.pe}`;
    if (svc.onePacket) s += ' -o';
    if (hasFlags) s += ` -b ${schedFlagsText(svc)}`;
    return s;
  }
  if (f.stats) return left(name, 33) + [c.conns, c.inPkts, c.outPkts, c.inBytes, c.outBytes].map((n) => largenum(n, f.exact)).join('');
  if (f.rate) return left(name, 33) + [c.cps, c.inPps, c.outPps, c.inBps, c.outBps].map((n) => largenum(n, f.exact)).join('');
  let s = `${name} ${svc.scheduler}`;
  if (hasFlags) s += ` (${schedFlagsText(svc)})`;
  if (persistent) s += ` persistent ${svc.persistence.timeout}${mask ? ` mask ${mask}` : ''}${svc.pe ? ` pe ${svc.pe}` : ''}`;
  if (svc.onePacket) s += ' ops';
  return s;
}

function serviceEntry(v: ServiceView, f: ListFormat, namer: Namer): string {
  const name = serviceName(v.svc, f, namer);
  const proto = isFwmark(v.svc) ? null : v.svc.protocol;
  const lines = [serviceLine(v, f, name)];
  for (const d of v.dests) {
    let dname = addrPort(d.rs.address, d.rs.port, proto, f.numeric, namer);
    if (!f.rule && familyOf(d.rs.address) !== 'inet6') dname = dname.slice(0, 28);
    lines.push(destLine(d, f, name, dname));
  }
  return `${lines.join('\n')}\n`;
}

const FWD_NAME = { masq: 'Masq', route: 'Route', tunnel: 'Tunnel' } as const;
const FWD_SWITCH = { masq: '-m', route: '-g', tunnel: '-i' } as const;
const CSUM_OPT = { nocsum: '--tun-nocsum', csum: '--tun-csum', remcsum: '--tun-remcsum' } as const;
const CSUM_FLAG = { nocsum: '-c', csum: '+c', remcsum: 'r+c' } as const;

function destLine(d: DestView, f: ListFormat, svcName: string, dname: string): string {
  const { rs, counters: c } = d;
  if (f.rule) {
    const base = `-a ${svcName} -r ${dname} ${FWD_SWITCH[rs.forwarding]} -w ${rs.weight}`;
    const t = rs.forwarding === 'tunnel' ? rs.tunnel : null;
    if (!t) return base;
    if (t.type === 'gre') return `${base} --tun-type gre ${CSUM_OPT[t.csum]}`;
    if (t.type === 'gue') return `${base} --tun-type gue --tun-port ${t.port} ${CSUM_OPT[t.csum]}`;
    return `${base} --tun-type ipip`;
  }
  const arrow = `  -> ${left(dname, 28)}`;
  if (f.stats) return arrow + [c.conns, c.inPkts, c.outPkts, c.inBytes, c.outBytes].map((n) => largenum(n, f.exact)).join('');
  if (f.rate) return `${arrow} ${right(c.cps, 8)} ${right(c.inPps, 8)} ${right(c.outPps, 8)}${largenum(c.inBps, f.exact)}${largenum(c.outBps, f.exact)}`;
  if (f.thresholds) return `${arrow} ${left(rs.upperThreshold, 10)} ${left(rs.lowerThreshold, 10)} ${left(d.activeConns, 10)} ${left(d.inactiveConns, 10)}`;
  if (f.persistentConn) return `${arrow} ${left(rs.weight, 9)} ${left(d.persistConns, 11)} ${left(d.activeConns, 10)} ${left(d.inactiveConns, 10)}`;
  const tail = `${left(rs.weight, 6)} ${left(d.activeConns, 10)} ${left(d.inactiveConns, 10)}`;
  if (f.tunInfo) return `${arrow} ${left(FWD_NAME[rs.forwarding], 7)} ${left(tunInfo(rs), 13)} ${tail}`;
  return `${arrow} ${left(FWD_NAME[rs.forwarding], 7)} ${tail}`;
}

function tunInfo(rs: DestView['rs']): string {
  const t = rs.forwarding === 'tunnel' ? rs.tunnel : null;
  if (!t) return 'n/a';
  if (t.type === 'gue') return `gue:${t.port}:${CSUM_FLAG[t.csum]}`;
  if (t.type === 'gre') return `gre:${CSUM_FLAG[t.csum]}`;
  return 'ipip';
}
