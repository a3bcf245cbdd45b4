/**
 * `vsctl import-keepalived FILE`: translate a keepalived.conf (its includes, vrrp_scripts, vrrp_instances and sync
 * groups, virtual_servers and groups of them, and their checkers) into vsd's YAML, whose keys are keepalived's.
 * Anything without a vsd equivalent is reported, never dropped silently: the warnings are printed and written as
 * comments at the top of the YAML. The result is checked by vsd's own config parser before it is returned: the
 * importer refuses (ImportRefusedError) rather than hand over a file vsd would refuse or serve differently.
 */
import { closestKey, ImportRefusedError, VsdError } from '@vsd/core';
import { stringify } from 'yaml';
import { vsdConfigContract } from './config-contract.js';
import { parseKeepalivedFile, type IncludeProblem } from './keepalived-include.js';
import * as KW from './keepalived-keywords.js';
import { KeepalivedSyntaxError, parseKeepalived, type ParseOptions, type Statement } from './keepalived-parse.js';

export type ImportDataplane = 'ipvs' | 'proxy';

/**
 * What a warning means for the imported cluster. `info`: nothing is lost. `ignored`: a keepalived keyword vsd has no
 * equivalent for. `unknown`: not a keepalived keyword at all (a typo, most likely). `translated`: a check replaced
 * by a weaker one. `unchecked`: a check dropped. `--strict` fails on anything but `info`.
 */
export type WarningKind = 'info' | 'ignored' | 'unknown' | 'translated' | 'unchecked';

export interface ImportWarning {
  kind: WarningKind;
  /** "line N" (the file given) or "FILE:N" (an included file). */
  where: string;
  text: string;
}

export interface ImportOptions {
  /** The dataplane the file is written for; default ipvs (keepalived always drives kernel IPVS). */
  dataplane?: ImportDataplane;
  /** keepalived's config id (`keepalived -i ID`) for `@ID` lines; keepalived's default is the host name. */
  configId?: string;
}

export interface ImportResult {
  yaml: string;
  config: Record<string, unknown>;
  /** Every warning as one printable line ("line N: ..."). */
  warnings: string[];
  details: ImportWarning[];
  /** Something was not imported exactly (any warning but `info`): `--strict` exits nonzero. */
  lossy: boolean;
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

type Warn = (s: Statement, what: string, kind?: WarningKind) => void;

const whereOf = (s: Statement): string => (s.file ? `${s.file}:${s.line}` : `line ${s.line}`);

/** "X is not imported" for a keyword keepalived has, a did-you-mean hint for one it does not. */
function unhandled(warn: Warn, s: Statement, context: string, known: readonly string[]): void {
  const k = s.words[0]!;
  if (known.includes(k)) return warn(s, `${context}${k} is not imported`, 'ignored');
  const near = closestKey(k, known);
  warn(s, `${context}${k}: unknown keepalived keyword${near ? `, did you mean ${near}?` : ''} (not imported)`, 'unknown');
}

/** Translate keepalived.conf text (its includes are not followed: use importKeepalivedFile for a file). */
export function importKeepalived(text: string, opts: ImportOptions = {}): ImportResult {
  const skipped: ParseOptions['skipped'] = [];
  return translate(parseKeepalived(text, { configId: opts.configId, skipped }), [], skipped, opts);
}

/** Translate a keepalived.conf file, following its `include`s (keepalived-include.ts). */
export function importKeepalivedFile(file: string, opts: ImportOptions = {}): ImportResult {
  const problems: IncludeProblem[] = [];
  const skipped: ParseOptions['skipped'] = [];
  return translate(parseKeepalivedFile(file, problems, opts.configId, skipped), problems, skipped, opts);
}

interface Script {
  stmt: Statement;
  entry: Record<string, unknown>;
}

function translate(
  statements: Statement[],
  includeProblems: IncludeProblem[],
  skipped: NonNullable<ParseOptions['skipped']>,
  opts: ImportOptions,
): ImportResult {
  const dataplane = opts.dataplane ?? 'ipvs';
  const details: ImportWarning[] = [];
  const warn: Warn = (s, what, kind = 'ignored') => void details.push({ kind, where: whereOf(s), text: printable(what) });
  for (const p of includeProblems) warn(p.stmt, p.what, 'ignored');
  if (skipped.length)
    details.push({
      kind: 'info',
      where: `line ${skipped[0]!.line}`,
      text: printable(
        `${skipped.length} conditional line(s) (@ID) skipped for config id ${opts.configId === undefined ? '(none given)' : JSON.stringify(opts.configId)}: pass --config-id ID to import what \`keepalived -i ID\` would read`,
      ),
    });

  let defaultVersion: number | undefined;
  const scripts = new Map<string, Script>();
  const groups = new Map<string, Statement>();
  const instances: Array<Record<string, unknown>> = [];
  const syncGroups: Array<{ stmt: Statement; group: Record<string, unknown> }> = [];
  const virtualServers: Array<{ stmt: Statement; vs: Record<string, unknown>; group?: string }> = [];
  // Definitions first: keepalived resolves vrrp_script and virtual_server_group names after reading everything.
  for (const s of statements) {
    if (s.words[0] === 'vrrp_script') importScript(s, warn, scripts);
    else if (s.words[0] === 'virtual_server_group') {
      if (!s.words[1]) throw new KeepalivedSyntaxError(s.line, 'virtual_server_group needs a name');
      groups.set(s.words[1], s);
    }
  }
  const usedScripts = new Set<string>();
  for (const s of statements) {
    const k = s.words[0]!;
    if (k === 'global_defs') defaultVersion = importGlobals(s, warn) ?? defaultVersion;
    else if (k === 'vrrp_script' || k === 'virtual_server_group') continue;
    else if (k === 'include') warn(s, `include ${s.words[1] ?? ''}: not followed when importing text (import the file)`);
    else if (k === 'vrrp_instance') instances.push(importInstance(s, warn, scripts, usedScripts));
    else if (k === 'vrrp_sync_group') syncGroups.push({ stmt: s, group: importSyncGroup(s, warn) });
    else if (k === 'virtual_server') virtualServers.push({ stmt: s, ...importVirtualServer(s, warn) });
    else unhandled(warn, s, '', KW.TOP_LEVEL);
  }
  for (const [name, sc] of scripts) if (!usedScripts.has(name)) warn(sc.stmt, `vrrp_script ${name} is not tracked by any vrrp_instance; not imported`, 'info');

  const config: Record<string, unknown> = { dataplane };
  // keepalived's global vrrp_version (default 2) applies to instances that do not set their own.
  for (const inst of instances) inst.version ??= defaultVersion ?? 2;
  if (instances.length === 1) {
    config.ha = instances[0];
    for (const g of syncGroups) warn(g.stmt, `vrrp_sync_group ${g.group.name}: with one vrrp_instance a sync group changes nothing; not imported`, 'info');
  } else if (instances.length > 1)
    config.ha = multiInstance(
      instances,
      syncGroups.map((g) => g.group),
    );

  const services: Array<Record<string, unknown>> = [];
  const usedGroups = new Set<string>();
  for (const v of virtualServers) {
    if (v.group === undefined) {
      services.push(v.vs);
      continue;
    }
    const g = groups.get(v.group);
    if (!g) {
      const near = closestKey(v.group, [...groups.keys()]);
      throw new ImportRefusedError(
        `${whereOf(v.stmt)}: virtual_server group ${v.group}: no virtual_server_group of that name${near ? `, did you mean ${near}?` : ''}`,
        { group: v.group },
      );
    }
    usedGroups.add(v.group);
    for (const member of expandGroup(g)) services.push({ ...member, ...v.vs });
    warn(
      v.stmt,
      `virtual_server group ${v.group}: written as one virtual service per group member (vsd has no groups); a change to one applies to that one only`,
      'info',
    );
  }
  for (const [name, g] of groups) if (!usedGroups.has(name)) warn(g, `virtual_server_group ${name} is not used by any virtual_server; not imported`, 'info');
  config.virtual_servers = services;

  dataplaneNotes(config, dataplane, details);
  const header = details.map((w) => `# import-keepalived: ${w.where}: ${w.text}`).join('\n');
  const banner =
    dataplane === 'ipvs'
      ? "# dataplane: ipvs -- keepalived always programs kernel IPVS, so the import does too. vsd's own default is the\n" +
        "# proxy dataplane (userspace): there NAT real servers see the dispatcher's address instead of the client's, and\n" +
        '# DR/TUN do not start. Keep ipvs unless you mean it (vsctl import-keepalived --dataplane proxy|ipvs).\n'
      : '# dataplane: proxy -- chosen with --dataplane proxy (keepalived itself always uses kernel IPVS): real servers see\n' +
        '# connections from the dispatcher, not from the client. See the warnings above.\n';
  const yaml = `${header ? `${header}\n` : ''}${banner}${stringify(config, { aliasDuplicateObjects: false })}`;
  validate(yaml, dataplane);
  const warnings = details.map((w) => `${w.where}: ${w.text}`);
  return { yaml, config, warnings, details, lossy: details.some((w) => w.kind !== 'info') };
}

/** The proxy dataplane changes what real servers see, and refuses DR/TUN: say so (or refuse) here, not at start. */
function dataplaneNotes(config: Record<string, unknown>, dataplane: ImportDataplane, details: ImportWarning[]): void {
  if (dataplane !== 'proxy') return;
  const services = config.virtual_servers as Array<Record<string, unknown>>;
  if (services.some((s) => (s.lb_kind ?? 'NAT') === 'NAT'))
    details.push({
      kind: 'translated',
      where: '--dataplane proxy',
      text:
        'NAT services on the proxy dataplane: real servers see the dispatcher as the client (keepalived NAT keeps the client address); ' +
        'the client IP is lost unless the real servers accept a PROXY protocol v2 header (set proxy_protocol: true on the virtual server) or --dataplane ipvs is used',
    });
}

/** Run the output through vsd's own config parser (what `vsd --check` runs) and the dataplane's refusals. */
function validate(yaml: string, dataplane: ImportDataplane): void {
  if (!vsdConfigContract)
    throw new ImportRefusedError(
      "the translation cannot be checked: vsd's config parser (@vsd/daemon, installed with vsd) is not installed; install vsd (nothing was written)",
      { problem: 'no @vsd/daemon' },
    );
  const { parseConfigText, dataplaneProblems } = vsdConfigContract;
  let services: ReturnType<typeof parseConfigText>['services'];
  try {
    services = parseConfigText(yaml, 'import-keepalived output').services;
  } catch (err) {
    if (!(err instanceof VsdError)) throw err;
    const reason = err.message.replace(/^config import-keepalived output: /, '');
    throw new ImportRefusedError(`the translation is not a vsd.yaml vsd accepts: ${reason}; fix that in keepalived.conf (nothing was written)`, {
      problem: reason,
    });
  }
  const problems = dataplaneProblems(dataplane, services);
  if (problems.length)
    throw new ImportRefusedError(
      `--dataplane ${dataplane} cannot serve this configuration as keepalived does: ${problems.join('; ')}. DR and TUN (and fwmark services) need kernel IPVS: import with --dataplane ipvs (the default)`,
      { problems },
    );
}

function importGlobals(g: Statement, warn: Warn): number | undefined {
  let version: number | undefined;
  for (const s of g.children ?? []) {
    if (s.words[0] === 'vrrp_version') version = num(s.words[1]);
    else if (s.words[0] !== 'router_id') unhandled(warn, s, 'global_defs ', KW.GLOBAL_DEFS);
  }
  return version;
}

function importScript(sc: Statement, warn: Warn, scripts: Map<string, Script>): void {
  const name = sc.words[1];
  if (!name) throw new KeepalivedSyntaxError(sc.line, 'vrrp_script needs a name');
  const entry: Record<string, unknown> = { name };
  for (const s of sc.children ?? []) {
    const [k, v] = s.words;
    if (k === 'script') entry.script = s.words.slice(1).join(' ');
    else if (k === 'interval' || k === 'timeout' || k === 'rise' || k === 'fall') entry[k] = num(v);
    else if (k === 'weight') {
      entry.weight = num(v);
      if (s.words[2] === 'reverse') warn(s, `vrrp_script ${name} weight ... reverse is not imported: the weight applies as written`);
    } else if (k === 'init_fail') entry.init_fail = true;
    else if (k === 'user') warn(s, `vrrp_script ${name} user is not imported: the script runs as vsd's user`);
    else unhandled(warn, s, `vrrp_script ${name} `, KW.VRRP_SCRIPT);
  }
  if (entry.script === undefined) {
    warn(sc, `vrrp_script ${name} has no script; not imported`);
    return;
  }
  scripts.set(name, { stmt: sc, entry });
}

function importInstance(inst: Statement, warn: Warn, scripts: Map<string, Script>, usedScripts: Set<string>): Record<string, unknown> {
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
        if (v === 'MASTER' && ha.priority !== 255) warn(s, 'state MASTER: vsd starts every non-owner as BACKUP, as keepalived does below priority 255', 'info');
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
        ha.track_interfaces = (s.children ?? []).map((p) => {
          const w = p.words[1] === 'weight' ? num(p.words[2]) : undefined;
          return w === undefined ? p.words[0] : { name: p.words[0], weight: w };
        });
        break;
      case 'track_script': {
        const list: unknown[] = [];
        for (const p of s.children ?? []) {
          const name = p.words[0]!;
          const sc = scripts.get(name);
          if (!sc) {
            const near = closestKey(name, [...scripts.keys()]);
            warn(p, `track_script ${name}: no vrrp_script of that name${near ? `, did you mean ${near}?` : ''} (keepalived ignores it too); not imported`);
            continue;
          }
          usedScripts.add(name);
          const entry = { ...sc.entry };
          if (p.words[1] === 'weight' && num(p.words[2]) !== undefined) entry.weight = num(p.words[2]);
          if (p.words[3] === 'reverse') warn(p, `track_script ${name} weight ... reverse is not imported`);
          list.push(entry);
        }
        if (list.length) ha.track_scripts = list;
        break;
      }
      case 'use_vmac':
        ha.use_vmac = v ?? true;
        break;
      case 'dont_track_primary':
      case 'lower_prio_no_advert':
      case 'v3_checksum_as_v2':
        ha[k] = true;
        break;
      case 'higher_prio_send_advert':
      case 'skip_check_adv_addr':
        ha[k] = v === undefined ? true : !['false', 'off', 'no', '0'].includes(v);
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
      case 'garp_master_refresh_repeat':
        garp.master_refresh_repeat = num(v);
        break;
      case 'garp_interval':
        garp.interval = num(v);
        break;
      case 'garp_lower_prio_repeat':
        garp.lower_prio_repeat = num(v);
        break;
      case 'garp_lower_prio_delay':
        garp.lower_prio_delay = num(v);
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
        unhandled(warn, s, `vrrp_instance ${inst.words[1]} option `, KW.VRRP_INSTANCE);
    }
  }
  if (Object.keys(garp).length) ha.garp = garp;
  if (Object.keys(notify).length) ha.notify = notify;
  return ha;
}

function importSyncGroup(g: Statement, warn: Warn): Record<string, unknown> {
  const group: Record<string, unknown> = { name: g.words[1], instances: [] };
  for (const s of g.children ?? []) {
    if (s.words[0] === 'group') group.instances = (s.children ?? []).map((p) => p.words[0]);
    else if (!s.children && s.words.length === 1 && !KW.VRRP_SYNC_GROUP.includes(s.words[0]!)) {
      // keepalived 1.x listed the members without `group { }` (its own lvs_syncd sample still does).
      (group.instances as unknown[]).push(s.words[0]);
      warn(s, `vrrp_sync_group ${g.words[1]}: member ${s.words[0]} read as keepalived 1.x wrote it; keepalived 2 wants it inside group { }`, 'info');
    } else unhandled(warn, s, `vrrp_sync_group ${g.words[1]} `, KW.VRRP_SYNC_GROUP);
  }
  return group;
}

/**
 * Several vrrp_instances: ha.instances, with the keys every instance shares (interface, version, advert_int, ...)
 * written once beside the list, as examples/vsd.yaml shows.
 */
function multiInstance(instances: Array<Record<string, unknown>>, syncGroups: Array<Record<string, unknown>>): Record<string, unknown> {
  const ha: Record<string, unknown> = {};
  const own = new Set(['instance', 'vrid', 'priority', 'vips']);
  for (const key of Object.keys(instances[0]!)) {
    if (own.has(key)) continue;
    const v = JSON.stringify(instances[0]![key]);
    if (instances.every((i) => JSON.stringify(i[key]) === v)) ha[key] = instances[0]![key];
  }
  ha.instances = instances.map((i) => Object.fromEntries(Object.entries(i).filter(([k]) => !(k in ha))));
  if (syncGroups.length) ha.sync_groups = syncGroups;
  return ha;
}

/** Group members keepalived expands to at most this many services; a larger range is refused, not truncated. */
export const MAX_GROUP_MEMBERS = 256;

/**
 * The members of a virtual_server_group: `IP PORT`, `IP-LAST PORT` (a range of the last IPv4 octet, or of the last
 * IPv6 group in hex), `fwmark N`. Each becomes the address (or fwmark) of one virtual service.
 */
function expandGroup(g: Statement): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const m of g.children ?? []) {
    const [a, b] = m.words;
    if (a === 'fwmark') {
      const mark = num(b);
      if (mark === undefined) throw new KeepalivedSyntaxError(m.line, 'fwmark needs a number');
      out.push({ fwmark: mark, ...(m.words[2] === 'inet6' ? { family: 'inet6' } : {}) });
      continue;
    }
    const range = /^(.*[.:])([0-9a-fA-F]+)-([0-9a-fA-F]+)$/.exec(a!);
    if (!range) {
      out.push({ address: hostPort(a!, b) });
    } else {
      const v6 = a!.includes(':');
      const base = v6 ? 16 : 10;
      const from = parseInt(range[2]!, base);
      const to = parseInt(range[3]!, base);
      if (!(to >= from) || to > (v6 ? 0xffff : 255))
        throw new ImportRefusedError(`${whereOf(m)}: virtual_server_group ${g.words[1]} range ${a}: the end is below the start or out of range`);
      if (out.length + to - from + 1 > MAX_GROUP_MEMBERS)
        throw new ImportRefusedError(
          `${whereOf(m)}: virtual_server_group ${g.words[1]} expands to more than ${MAX_GROUP_MEMBERS} virtual services; split it or use a fwmark service`,
        );
      for (let n = from; n <= to; n++) out.push({ address: hostPort(`${range[1]}${n.toString(v6 ? 16 : 10)}`, b) });
    }
    if (out.length > MAX_GROUP_MEMBERS)
      throw new ImportRefusedError(`virtual_server_group ${g.words[1]} expands to more than ${MAX_GROUP_MEMBERS} virtual services`);
  }
  if (!out.length) throw new ImportRefusedError(`${whereOf(g)}: virtual_server_group ${g.words[1]} has no members`);
  return out;
}

function importVirtualServer(vs: Statement, warn: Warn): { vs: Record<string, unknown>; group?: string } {
  const out: Record<string, unknown> = {};
  const [, a, b] = vs.words;
  let group: string | undefined;
  if (a === 'fwmark') out.fwmark = num(b);
  else if (a === 'group') {
    if (!b) throw new KeepalivedSyntaxError(vs.line, 'virtual_server group needs a group name');
    group = b;
  } else out.address = hostPort(addressOf(vs), b);
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
        unhandled(warn, s, 'virtual_server option ', KW.VIRTUAL_SERVER);
    }
  }
  out.real_servers = realServers;
  return group === undefined ? { vs: out } : { vs: out, group };
}

function importRealServer(rs: Statement, warn: Warn): Record<string, unknown> {
  const address = hostPort(addressOf(rs), rs.words[2]);
  const out: Record<string, unknown> = { address };
  const checks: unknown[] = [];
  const dropped: Statement[] = [];
  for (const s of rs.children ?? []) {
    const [k, v] = s.words;
    if (k === 'weight') out.weight = num(v);
    else if (k === 'uthreshold' || k === 'lthreshold') out[k] = num(v);
    else if (k === 'inhibit_on_failure') out.inhibit_on_failure = true;
    else if (KW.SUPPORTED_CHECKS.includes(k!)) checks.push(importCheck(s, warn));
    else if (KW.UNSUPPORTED_CHECKS.includes(k!)) {
      const substitute = tcpSubstitute(s, rs.words[2]);
      if (substitute.length) {
        checks.push(...substitute);
        const ports = [...new Set(substitute.map((c) => (c.tcp_check as Record<string, unknown>).connect_port ?? rs.words[2]))].join(', ');
        warn(
          s,
          `${k} is not supported by vsd: real server ${address} is checked by TCP_CHECK on port ${ports} instead (a connect, not the ${k.replace('_CHECK', '')} dialogue)`,
          'translated',
        );
      } else dropped.push(s);
    } else unhandled(warn, s, `real_server ${address} option `, KW.REAL_SERVER);
  }
  for (const s of dropped) {
    const why = `${s.words[0]} is not supported by vsd and has no TCP equivalent here`;
    if (checks.length) warn(s, `${why}: real server ${address} keeps its other checks only`, 'unchecked');
    else
      warn(
        s,
        `${why}: real server ${address} would stay in rotation with NO check (a dead server keeps receiving traffic); add a TCP_CHECK or MISC_CHECK`,
        'unchecked',
      );
  }
  if (checks.length) out.checks = checks;
  return out;
}

/**
 * SMTP_CHECK talks to a TCP port: a TCP connect to the same port (each `host` block's, else the real server's) is a
 * sound if weaker substitute. UDP, ICMP, DNS (over UDP), BFD and file checks have none.
 */
function tcpSubstitute(c: Statement, realServerPort: string | undefined): Array<Record<string, unknown>> {
  if (c.words[0] !== 'SMTP_CHECK') return [];
  const common: Record<string, unknown> = {};
  const hosts: Array<Record<string, unknown>> = [];
  const target = (stmts: Statement[]): Record<string, unknown> => {
    const t: Record<string, unknown> = {};
    for (const s of stmts) {
      if (s.words[0] === 'connect_ip') t.connect_ip = s.words[1];
      else if (s.words[0] === 'connect_port') t.connect_port = num(s.words[1]);
    }
    return t;
  };
  for (const s of c.children ?? []) {
    const [k, v] = s.words;
    if (k === 'host') hosts.push(target(s.children ?? []));
    else if (k === 'connect_timeout' || k === 'retry' || k === 'delay_before_retry' || k === 'delay_loop' || k === 'warmup') common[k] = num(v);
  }
  const base = target(c.children ?? []);
  const targets = hosts.length ? hosts.map((h) => ({ ...base, ...h })) : [base];
  const port = num(realServerPort);
  if (targets.some((t) => t.connect_port === undefined && !port)) return [];
  return targets.map((t) => ({ tcp_check: t, ...common }));
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
      if (kind !== 'HTTP_GET' && kind !== 'SSL_GET') {
        warn(s, `${kind} option url is not imported`);
        continue;
      }
      if (body.path !== undefined) {
        warn(s, `${kind}: a second url block is not imported (vsd checks one URL per check)`);
        continue;
      }
      for (const u of s.children ?? []) {
        const [uk, uv] = u.words;
        if (uk === 'path' || uk === 'digest' || uk === 'virtualhost') body[uk] = uv;
        else if (uk === 'status_code') body.status_code = u.words.slice(1).join(' ');
        else unhandled(warn, u, 'url option ', KW.URL_BLOCK);
      }
    } else if ((k === 'virtualhost' || k === 'sni_name') && kind !== 'TCP_CHECK' && kind !== 'MISC_CHECK') body[k] = v;
    else if (k === 'enable_sni' && kind === 'SSL_GET') body.enable_sni = true;
    else if (k === 'misc_path' && kind === 'MISC_CHECK') body.misc_path = s.words.slice(1).join(' ');
    else if (k === 'misc_timeout' && kind === 'MISC_CHECK') body.misc_timeout = num(v);
    else if (k === 'misc_dynamic' && kind === 'MISC_CHECK') body.misc_dynamic = true;
    else unhandled(warn, s, `${kind} option `, KW.CHECKER);
  }
  const key = { TCP_CHECK: 'tcp_check', HTTP_GET: 'http_get', SSL_GET: 'ssl_get', MISC_CHECK: 'misc_check' }[kind]!;
  return { [key]: body, ...check };
}
