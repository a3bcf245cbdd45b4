/**
 * `vsctl import-keepalived FILE`: translate a keepalived.conf (one vrrp_instance, its virtual_servers and their
 * checkers) into vsd's YAML, whose keys are keepalived's. Anything without a vsd equivalent is reported, never dropped
 * silently: the warnings are printed and written as comments at the top of the YAML.
 */
import { stringify } from 'yaml';
import { KeepalivedSyntaxError, parseKeepalived, type Statement } from './keepalived-parse.js';

export interface ImportResult {
  yaml: string;
  config: Record<string, unknown>;
  warnings: string[];
}

const num = (s: string | undefined): number | undefined => (s === undefined || s === '' || Number.isNaN(Number(s)) ? undefined : Number(s));
const hostPort = (ip: string, port: string | undefined): string => (ip.includes(':') ? `[${ip}]:${port ?? 0}` : `${ip}:${port ?? 0}`);

/**
 * Warnings quote the file's words, and a quoted keepalived string may hold a line break: written as a YAML comment
 * it would end the comment and put the rest into the config (and printed, control bytes reach the terminal). Control
 * characters and YAML/Unicode line breaks are written as \uXXXX.
 */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The address word of `s` (words[1]): keepalived refuses the statement without one, so does the importer. */
function addressOf(s: Statement): string {
  const a = s.words[1];
  if (a === undefined) throw new KeepalivedSyntaxError(s.line, `${s.words[0]} needs an address`);
  return a;
}

export function importKeepalived(text: string): ImportResult {
  const warnings: string[] = [];
  const warn: Warn = (s, what) => void warnings.push(`line ${s.line}: ${printable(what)}`);
  const config: Record<string, unknown> = {};
  let defaultVersion: number | undefined;
  for (const s of parseKeepalived(text)) {
    const k = s.words[0];
    if (k === 'global_defs') defaultVersion = importGlobals(s, warn) ?? defaultVersion;
    else if (k === 'vrrp_instance') {
      if (config.ha) warn(s, `vrrp_instance ${s.words[1]}: vsd runs one VRRP instance per dispatcher; only the first was imported`);
      else config.ha = importInstance(s, warn);
    } else if (k === 'virtual_server') ((config.virtual_servers ??= []) as unknown[]).push(importVirtualServer(s, warn));
    else warn(s, `${k} is not imported`);
  }
  // keepalived's global vrrp_version (default 2) applies to instances that do not set their own.
  const ha = config.ha as Record<string, unknown> | undefined;
  if (ha && ha.version === undefined) ha.version = defaultVersion ?? 2;
  const header = warnings.map((w) => `# import-keepalived: ${w}`).join('\n');
  return { yaml: `${header ? `${header}\n` : ''}${stringify(config)}`, config, warnings };
}

type Warn = (s: Statement, what: string) => void;

function importGlobals(g: Statement, warn: Warn): number | undefined {
  let version: number | undefined;
  for (const s of g.children ?? []) {
    if (s.words[0] === 'vrrp_version') version = num(s.words[1]);
    else if (s.words[0] !== 'router_id') warn(s, `global_defs ${s.words[0]} is not imported`);
  }
  return version;
}

function importInstance(inst: Statement, warn: Warn): Record<string, unknown> {
  const ha: Record<string, unknown> = { instance: inst.words[1] };
  const garp: Record<string, unknown> = {};
  const notify: Record<string, unknown> = {};
  for (const s of inst.children ?? []) {
    const [k, v] = s.words;
    switch (k) {
      case 'interface':
        ha.interface = v;
        break;
      case 'virtual_router_id':
        ha.vrid = num(v);
        break;
      case 'priority':
        ha.priority = num(v);
        break;
      case 'advert_int':
        ha.advert_int = num(v);
        break;
      case 'version':
        ha.version = num(v);
        break;
      case 'nopreempt':
        ha.preempt = false;
        break;
      case 'preempt':
        ha.preempt = true;
        break;
      case 'preempt_delay':
        ha.preempt_delay = num(v);
        break;
      case 'state':
        if (v === 'MASTER' && ha.priority !== 255) warn(s, 'state MASTER: vsd starts every non-owner as BACKUP, as keepalived does below priority 255');
        break;
      case 'unicast_src_ip':
      case 'mcast_src_ip':
        ha.unicast_src_ip = v;
        break;
      case 'unicast_peer':
        ha.unicast_peers = (s.children ?? []).map((p) => p.words[0]);
        break;
      case 'virtual_ipaddress':
        ha.vips = (s.children ?? []).map((p) => {
          if (p.words.length > 1) warn(p, `virtual_ipaddress options "${p.words.slice(1).join(' ')}" are not imported`);
          return p.words[0]!.includes('/') ? p.words[0] : `${p.words[0]}/${p.words[0]!.includes(':') ? 128 : 32}`;
        });
        break;
      case 'track_interface':
        ha.track_interfaces = (s.children ?? []).map((p) => p.words[0]);
        break;
      case 'garp_master_delay':
        garp.master_delay = num(v);
        break;
      case 'garp_master_repeat':
        garp.master_repeat = num(v);
        break;
      case 'garp_master_refresh':
        garp.master_refresh = num(v);
        break;
      case 'notify_master':
      case 'notify_backup':
      case 'notify_fault':
      case 'notify_stop':
        notify[k.slice('notify_'.length)] = s.words.slice(1).join(' ');
        break;
      case 'authentication':
        warn(s, 'authentication (VRRPv2 PASS/AH) is not imported: RFC 3768 removed it; vsd authenticates its peer channel instead');
        break;
      default:
        warn(s, `vrrp_instance option ${k} is not imported`);
    }
  }
  if (Object.keys(garp).length) ha.garp = garp;
  if (Object.keys(notify).length) ha.notify = notify;
  return ha;
}

function importVirtualServer(vs: Statement, warn: Warn): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const [, a, b] = vs.words;
  if (a === 'fwmark') out.fwmark = num(b);
  else if (a === 'group') warn(vs, 'virtual_server group is not imported');
  else out.address = hostPort(addressOf(vs), b);
  const realServers: unknown[] = [];
  for (const s of vs.children ?? []) {
    const [k, v] = s.words;
    switch (k) {
      case 'lb_algo':
      case 'lvs_sched':
        out.lb_algo = v;
        break;
      case 'lb_kind':
      case 'lvs_method':
        out.lb_kind = v;
        if (s.words.length > 2) warn(s, `tunnel options "${s.words.slice(2).join(' ')}" are not imported`);
        break;
      case 'protocol':
        out.protocol = v?.toLowerCase();
        break;
      case 'persistence_timeout':
        out.persistence_timeout = num(v) ?? 360;
        break;
      case 'persistence_granularity':
        out.persistence_granularity = v;
        break;
      case 'quorum':
      case 'hysteresis':
      case 'delay_loop':
        out[k] = num(v);
        break;
      case 'sorry_server':
        out.sorry_server = hostPort(addressOf(s), s.words[2]);
        break;
      case 'inhibit_on_failure':
      case 'alpha':
      case 'omega':
        out[k] = true;
        break;
      case 'real_server':
        realServers.push(importRealServer(s, warn));
        break;
      default:
        warn(s, `virtual_server option ${k} is not imported`);
    }
  }
  out.real_servers = realServers;
  return out;
}

function importRealServer(rs: Statement, warn: Warn): Record<string, unknown> {
  const out: Record<string, unknown> = { address: hostPort(addressOf(rs), rs.words[2]) };
  const checks: unknown[] = [];
  for (const s of rs.children ?? []) {
    const [k, v] = s.words;
    if (k === 'weight') out.weight = num(v);
    else if (k === 'uthreshold' || k === 'lthreshold') out[k] = num(v);
    else if (k === 'inhibit_on_failure') out.inhibit_on_failure = true;
    else if (k === 'TCP_CHECK' || k === 'HTTP_GET' || k === 'SSL_GET' || k === 'MISC_CHECK') checks.push(importCheck(s, warn));
    else warn(s, `real_server option ${k} is not imported`);
  }
  if (checks.length) out.checks = checks;
  return out;
}

const COMMON = new Set(['connect_timeout', 'retry', 'nb_get_retry', 'delay_before_retry', 'delay_loop', 'warmup']);

function importCheck(c: Statement, warn: Warn): Record<string, unknown> {
  const kind = c.words[0]!;
  const check: Record<string, unknown> = {};
  const body: Record<string, unknown> = {};
  for (const s of c.children ?? []) {
    const [k, v] = s.words;
    if (COMMON.has(k!)) check[k === 'nb_get_retry' ? 'retry' : k!] = num(v);
    else if (k === 'connect_port' || k === 'connect_ip') body[k] = k === 'connect_port' ? num(v) : v;
    else if (k === 'url') {
      for (const u of s.children ?? []) {
        const [uk, uv] = u.words;
        if (uk === 'path' || uk === 'digest' || uk === 'virtualhost') body[uk] = uv;
        else if (uk === 'status_code') body.status_code = u.words.slice(1).join(' ');
        else warn(u, `url option ${uk} is not imported`);
      }
    } else if (k === 'virtualhost' || k === 'sni_name') body[k] = v;
    else if (k === 'enable_sni') body.enable_sni = true;
    else if (k === 'misc_path') body.misc_path = v;
    else if (k === 'misc_timeout') body.misc_timeout = num(v);
    else if (k === 'misc_dynamic') body.misc_dynamic = true;
    else warn(s, `${kind} option ${k} is not imported`);
  }
  const key = { TCP_CHECK: 'tcp_check', HTTP_GET: 'http_get', SSL_GET: 'ssl_get', MISC_CHECK: 'misc_check' }[kind]!;
  return { [key]: body, ...check };
}
