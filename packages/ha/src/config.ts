/**
 * The `ha:` section of vsd.yaml (DESIGN.md §8): keepalived's names, durations in seconds with fractions. Parsed
 * once at the boundary into {@link HaConfig}: camelCase options, durations in milliseconds, every default filled,
 * frozen, so the instance code never converts units or looks at the file's spelling.
 */
import { closestKey, deepFreeze, secondsToMs as ms, strictObject, unknownKeyMessage, ValidationError, withKnownKeys } from '@vsd/core';
import { z } from 'zod';
import type { ScriptTrackerOptions } from './track.js';
import type { GarpScheduleOptions } from './vrrp/garp-schedule.js';
import { familyOf, parseCidr } from './vrrp/addr.js';
import { witnessConfigSchema, type WitnessConfig } from './witness/config.js';

// The defaults are in the file's units (seconds); the parsed options carry milliseconds.

/**
 * v3 default: 0.05 s. A client sees a crash failover after Master_Down_Interval = 3 x 0.05 + skew (at most 0.05)
 * <= 0.2 s plus the VIP add and first GARP (about 1 ms), so under the 300 ms target; 0.1 s would give up to 0.4 s.
 */
export const DEFAULT_ADVERT_INT_V3 = 0.05;
/** v2 has whole seconds only; keepalived's default. */
export const DEFAULT_ADVERT_INT_V2 = 1;
export const DEFAULT_PRIORITY = 100;
/**
 * keepalived's garp_master_* defaults, except master_refresh: 10 s instead of never, so a neighbour that missed
 * every burst (a partition, a lost frame, a switch that learned the other node's port) is put right within 10 s
 * at the cost of one broadcast per VIP per 10 s (docs/ARCHITECTURE.md, "Neighbour caches").
 */
export const DEFAULT_GARP = { master_delay: 5, master_repeat: 5, master_refresh: 10, master_refresh_repeat: 1, interval: 0 };

const ip = z.string().refine((s) => familyOf(s) !== undefined, 'must be an IPv4 or IPv6 address');
const cidr = z.string().refine((s) => {
  try {
    parseCidr(s);
    return true;
  } catch {
    return false;
  }
}, 'must be ADDRESS or ADDRESS/PREFIX');
const seconds = z.number().finite().min(0);

const trackInterface = z.union([
  z.string().min(1),
  strictObject({ name: z.string().min(1), weight: z.number().int().min(-253).max(253).default(0) }, { fatal: false }),
]);

const trackScript = strictObject({
  name: z.string().min(1).optional(),
  script: z.string().min(1),
  interval: z.number().positive().default(1),
  timeout: z.number().positive().optional(),
  weight: z.number().int().min(-253).max(253).default(0),
  rise: z.number().int().min(1).default(1),
  fall: z.number().int().min(1).default(1),
  init_fail: z.boolean().default(false),
});

const instanceShape = {
  instance: z.string().min(1).default('VI_1'),
  interface: z.string().min(1),
  vrid: z.number().int().min(1).max(255),
  priority: z.number().int().min(1).max(255).default(DEFAULT_PRIORITY),
  advert_int: z.number().positive().optional(),
  version: z.union([z.literal(2), z.literal(3)]).default(3),
  preempt: z.boolean().default(true),
  preempt_delay: seconds.max(1000).default(0),
  unicast_src_ip: ip.optional(),
  unicast_peers: z.array(ip).default([]),
  vips: z.array(cidr).min(1).max(255),
  garp: strictObject({
    master_delay: seconds.default(DEFAULT_GARP.master_delay),
    master_repeat: z.number().int().min(1).max(255).default(DEFAULT_GARP.master_repeat),
    master_refresh: seconds.default(DEFAULT_GARP.master_refresh),
    master_refresh_repeat: z.number().int().min(1).max(255).default(DEFAULT_GARP.master_refresh_repeat),
    interval: seconds.default(DEFAULT_GARP.interval),
    /** keepalived garp_lower_prio_repeat: burst when a MASTER hears a lower priority; default master_repeat, 0 = none. */
    lower_prio_repeat: z.number().int().min(0).max(255).optional(),
    /** keepalived garp_lower_prio_delay: second such burst; default master_delay, 0 = none. */
    lower_prio_delay: seconds.optional(),
  }).default({}),
  track_interfaces: z.array(trackInterface).default([]),
  track_scripts: z.array(trackScript).default([]),
  notify: strictObject({ master: z.string().optional(), backup: z.string().optional(), fault: z.string().optional(), stop: z.string().optional() }).default({}),
  /** keepalived `v3_checksum_as_v2`: send the RFC 9568 IPv4 checksum (no pseudo-header). */
  v3_checksum_as_v2: z.boolean().default(false),
  /** keepalived `lower_prio_no_advert`: a master stays silent when it hears a lower priority. */
  lower_prio_no_advert: z.boolean().default(false),
  /**
   * keepalived `higher_prio_send_advert`, on by default here: a MASTER yielding to a higher priority sends one
   * advert of its own first, so the winner hears a lower priority and sends its lower_prio GARP burst even when
   * the winner's advert arrived first (after a partition heals, either order happens).
   */
  higher_prio_send_advert: z.boolean().default(true),
  /**
   * keepalived `use_vmac`: the VIPs live on a macvlan with the RFC 5798 virtual MAC (00-00-5E-00-01-VRID, IPv6
   * 00-00-5E-00-02-VRID) created over `interface`; true names it `vsd.VRID` (IPv6 `vsd6.VRID`), a string names it.
   */
  use_vmac: z
    .union([
      z.boolean(),
      z
        .string()
        .min(1)
        .max(15)
        .regex(/^[A-Za-z0-9_.-]+$/, 'must be an interface name (letters, digits, _ . -)'),
    ])
    .default(false),
  /** macvlan mode of the vmac interface: keepalived's is private. */
  vmac_mode: z.enum(['private', 'bridge']).default('private'),
  /** keepalived `dont_track_primary`: do not go FAULT when the VRRP interface goes down. */
  dont_track_primary: z.boolean().default(false),
  /** How often tracked interfaces are sampled, seconds. */
  track_interval: z.number().positive().default(0.1),
  /**
   * keepalived `skip_check_adv_addr`, default on here: a BACKUP accepts an advert whose VIP list differs from its
   * own when it comes from the master it already follows (logged once). A reload that adds or removes a VIP
   * reaches the two nodes one after the other; checking the list strictly would make the BACKUP drop the master's
   * adverts in between and take over (keepalived issue #1603). Adverts from any other source are still checked.
   */
  skip_check_adv_addr: z.boolean().default(true),
};

/** The keys of one VRRP instance (keepalived `vrrp_instance`). */
export const HA_INSTANCE_KEYS: readonly string[] = Object.keys(instanceShape);

/** One VRRP instance; unknown keys are refused with a hint at the closest known one. */
export const haConfigSchema = withKnownKeys(HA_INSTANCE_KEYS, z.object(instanceShape).strip()).superRefine((c, ctx) => {
  const families = new Set(c.vips.map((v) => familyOf(v.split('/')[0])));
  if (families.size > 1) ctx.addIssue({ code: 'custom', path: ['vips'], message: 'all VIPs must be of one address family' });
  const family = [...families][0];
  if (family === 6 && c.version === 2) ctx.addIssue({ code: 'custom', path: ['version'], message: 'VRRP version 2 is IPv4 only' });
  for (const [i, a] of [c.unicast_src_ip, ...c.unicast_peers].entries()) {
    if (a && familyOf(a) !== family)
      ctx.addIssue({ code: 'custom', path: i === 0 ? ['unicast_src_ip'] : ['unicast_peers', i - 1], message: `must be IPv${family} like the VIPs` });
  }
  if (c.use_vmac !== false && c.use_vmac === c.interface)
    ctx.addIssue({ code: 'custom', path: ['use_vmac'], message: 'must name a new interface, not the VRRP interface itself' });
  if (c.advert_int !== undefined) {
    const ok = c.version === 2 ? Number.isInteger(c.advert_int) && c.advert_int <= 255 : isCentiseconds(c.advert_int);
    const rule = c.version === 2 ? 'whole seconds 1..255 with version 2' : 'a multiple of 0.01 s in 0.01..40.95 with version 3';
    if (!ok) ctx.addIssue({ code: 'custom', path: ['advert_int'], message: `must be ${rule}` });
  }
});

function isCentiseconds(s: number): boolean {
  const cs = s * 100;
  return Math.abs(cs - Math.round(cs)) < 1e-6 && Math.round(cs) >= 1 && Math.round(cs) <= 4095;
}

export type HaConfigInput = z.input<typeof haConfigSchema>;
type HaFileConfig = z.output<typeof haConfigSchema>;

/**
 * The GARP/NA schedule of a master (keepalived garp_master_*, garp_lower_prio_*, vrrp_garp_interval), as the
 * schedule takes it, with the lower-priority burst's defaults (the master ones) filled in.
 */
export type GarpConfig = Readonly<Required<GarpScheduleOptions>>;

export interface TrackInterfaceConfig {
  readonly name: string;
  readonly weight: number;
}

/** A track script with its defaults filled: the name (`scriptN`), the timeout (its interval). */
export type TrackScriptConfig = Readonly<ScriptTrackerOptions>;

export interface NotifyConfig {
  readonly master?: string;
  readonly backup?: string;
  readonly fault?: string;
  readonly stop?: string;
}

/**
 * One VRRP instance as the code uses it: the keys of vsd.yaml in camelCase, durations in milliseconds (`...Ms`),
 * the defaults that depend on other keys resolved (advert_int on the version, the lower-priority GARP on the master
 * ones, a track script's name and timeout). Plain frozen data: it crosses from the config parser thread as JSON.
 */
export interface HaConfig {
  readonly instance: string;
  readonly interface: string;
  readonly vrid: number;
  readonly priority: number;
  /** advert_int: a multiple of 10 ms with version 3, of 1000 ms with version 2. */
  readonly advertIntMs: number;
  readonly version: 2 | 3;
  readonly preempt: boolean;
  readonly preemptDelayMs: number;
  readonly unicastSrcIp?: string;
  readonly unicastPeers: readonly string[];
  readonly vips: readonly string[];
  readonly garp: GarpConfig;
  /** The file's plain names are `{ name, weight: 0 }` here. */
  readonly trackInterfaces: readonly TrackInterfaceConfig[];
  readonly trackScripts: readonly TrackScriptConfig[];
  readonly notify: NotifyConfig;
  readonly v3ChecksumAsV2: boolean;
  readonly lowerPrioNoAdvert: boolean;
  readonly higherPrioSendAdvert: boolean;
  /** false, true (`vsd.VRID` / `vsd6.VRID`, see {@link vmacName}) or the interface name. */
  readonly useVmac: boolean | string;
  readonly vmacMode: 'private' | 'bridge';
  readonly dontTrackPrimary: boolean;
  readonly trackIntervalMs: number;
  readonly skipCheckAdvAddr: boolean;
}

/**
 * Each option's key in vsd.yaml, for what is said back to operators (the keys a reload changed): they know the
 * file's names, not the code's.
 */
export const HA_FILE_KEYS: Readonly<Record<keyof HaConfig, string>> = Object.freeze({
  instance: 'instance',
  interface: 'interface',
  vrid: 'vrid',
  priority: 'priority',
  advertIntMs: 'advert_int',
  version: 'version',
  preempt: 'preempt',
  preemptDelayMs: 'preempt_delay',
  unicastSrcIp: 'unicast_src_ip',
  unicastPeers: 'unicast_peers',
  vips: 'vips',
  garp: 'garp',
  trackInterfaces: 'track_interfaces',
  trackScripts: 'track_scripts',
  notify: 'notify',
  v3ChecksumAsV2: 'v3_checksum_as_v2',
  lowerPrioNoAdvert: 'lower_prio_no_advert',
  higherPrioSendAdvert: 'higher_prio_send_advert',
  useVmac: 'use_vmac',
  vmacMode: 'vmac_mode',
  dontTrackPrimary: 'dont_track_primary',
  trackIntervalMs: 'track_interval',
  skipCheckAdvAddr: 'skip_check_adv_addr',
});

/** keepalived `vrrp_sync_group`: instances that change state together. */
export interface SyncGroupConfig {
  readonly name: string;
  readonly instances: readonly string[];
}

/** The `ha:` section as the daemon uses it, whichever form the file had. */
export interface HaSection {
  /** In file order; the first is the primary instance (peer-sync role and connection sync daemon follow it). */
  readonly instances: readonly HaConfig[];
  /** `sync_groups:`. */
  readonly syncGroups: readonly SyncGroupConfig[];
  /** The split-brain guard (witness/config.ts), one for the dispatcher, shared by its instances; absent = off. */
  readonly witness?: WitnessConfig;
}

const syncGroupSchema = withKnownKeys(['name', 'instances'], z.object({ name: z.string().min(1), instances: z.array(z.string().min(1)).min(1) }).strip());

const SECTION_KEYS = ['instances', 'sync_groups', 'witness'];

/**
 * The `ha:` section: one instance (the original form, its keys at the top), or `instances:` (a list) whose entries
 * inherit the keys written beside it (interface, advert_int, ...), plus `sync_groups:`. Either way the output is
 * the {@link HaSection}. Problems are reported at the path the user wrote (`ha.vrid` in the single form,
 * `ha.instances.1.vrid` in the list form).
 */
export const haSectionSchema = z.unknown().transform((input, ctx): HaSection => {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    ctx.addIssue({ code: 'custom', message: 'expected a mapping (one instance, or `instances:` with a list)' });
    return z.NEVER;
  }
  const raw = input as Record<string, unknown>;
  const multi = 'instances' in raw;
  const known = [...HA_INSTANCE_KEYS, ...SECTION_KEYS];
  for (const key of Object.keys(raw)) {
    if (known.includes(key)) continue;
    ctx.addIssue({ code: 'custom', path: [key], message: unknownKeyMessage(key, known), fatal: true });
    return z.NEVER;
  }
  const { instances: list, sync_groups: groupsRaw, witness: witnessRaw, ...defaults } = raw;
  let entries: { value: unknown; path: (string | number)[] }[];
  if (!multi) entries = [{ value: defaults, path: [] }];
  else if (!Array.isArray(list) || list.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['instances'], message: 'expected a list of at least one instance' });
    return z.NEVER;
  } else
    entries = list.map((e, i) => ({
      // Keys beside `instances:` are defaults; an instance's own keys win (whole values, nested ones too).
      value: e !== null && typeof e === 'object' && !Array.isArray(e) ? { ...defaults, ...(e as object) } : e,
      path: ['instances', i],
    }));
  const instances: HaConfig[] = [];
  for (const { value, path } of entries) {
    const r = haConfigSchema.safeParse(value);
    if (!r.success) {
      for (const issue of r.error.issues) ctx.addIssue({ ...issue, path: [...path, ...issue.path] } as z.IssueData);
      return z.NEVER;
    }
    instances.push(toHaConfig(r.data));
  }
  const groups = z.array(syncGroupSchema).default([]).safeParse(groupsRaw);
  if (!groups.success) {
    for (const issue of groups.error.issues) ctx.addIssue({ ...issue, path: ['sync_groups', ...issue.path] } as z.IssueData);
    return z.NEVER;
  }
  const witness = witnessConfigSchema.optional().safeParse(witnessRaw);
  if (!witness.success) {
    for (const issue of witness.error.issues) ctx.addIssue({ ...issue, path: ['witness', ...issue.path] } as z.IssueData);
    return z.NEVER;
  }
  const at = (i: number, key: string) => (multi ? ['instances', i, key] : [key]);
  if (witness.data?.enabled) {
    // The witnesses vote per VRID: two instances with one VRID (on other interfaces) would share one vote.
    const byVrid = new Map<number, string>();
    instances.forEach((c, i) => {
      const other = byVrid.get(c.vrid);
      if (other !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: at(i, 'vrid'),
          message: `VRID ${c.vrid} is also used by instance ${other}: with ha.witness every instance needs a VRID of its own (the agents vote per VRID)`,
        });
      byVrid.set(c.vrid, c.instance);
    });
  }
  const names = new Map<string, number>();
  const elections = new Map<string, number>();
  const vmacs = new Map<string, number>();
  instances.forEach((c, i) => {
    const other = names.get(c.instance);
    if (other !== undefined) ctx.addIssue({ code: 'custom', path: at(i, 'instance'), message: `duplicate instance name (also instances.${other})` });
    names.set(c.instance, i);
    // Two instances with one (interface, VRID, family) would answer each other's adverts: one election, not two.
    const key = `${c.interface}/${c.vrid}/${familyOf(c.vips[0]!.split('/')[0]!)}`;
    const clash = elections.get(key);
    if (clash !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: at(i, 'vrid'),
        message: `VRID ${c.vrid} on ${c.interface} is already used by instance ${instances[clash]!.instance} (same address family)`,
      });
    elections.set(key, i);
    const vmac = vmacName(c);
    const vmacClash = vmac === undefined ? undefined : vmacs.get(vmac);
    if (vmacClash !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: at(i, 'use_vmac'),
        message: `vmac interface ${vmac} is already used by instance ${instances[vmacClash]!.instance}`,
      });
    if (vmac !== undefined) vmacs.set(vmac, i);
  });
  const member = new Map<string, string>();
  const groupNames = new Set<string>();
  groups.data.forEach((g, gi) => {
    if (groupNames.has(g.name)) ctx.addIssue({ code: 'custom', path: ['sync_groups', gi, 'name'], message: 'duplicate sync group name' });
    groupNames.add(g.name);
    g.instances.forEach((name, k) => {
      const path = ['sync_groups', gi, 'instances', k];
      if (!names.has(name)) {
        const near = closestKey(name, [...names.keys()]);
        ctx.addIssue({ code: 'custom', path, message: `no such instance${near ? `, did you mean ${near}?` : `; instances: ${[...names.keys()].join(', ')}`}` });
      } else if (member.has(name))
        ctx.addIssue({
          code: 'custom',
          path,
          message: `instance ${name} is already in sync group ${member.get(name)} (one group per instance, as in keepalived)`,
        });
      member.set(name, g.name);
    });
  });
  return deepFreeze({
    instances,
    syncGroups: groups.data,
    ...(witness.data ? { witness: witness.data } : {}),
  });
});

/** The file's instance as options; resolves the defaults that depend on other keys. */
function toHaConfig(c: HaFileConfig): HaConfig {
  const g = c.garp;
  return deepFreeze({
    instance: c.instance,
    interface: c.interface,
    vrid: c.vrid,
    priority: c.priority,
    advertIntMs: ms(c.advert_int ?? (c.version === 2 ? DEFAULT_ADVERT_INT_V2 : DEFAULT_ADVERT_INT_V3)),
    version: c.version,
    preempt: c.preempt,
    preemptDelayMs: ms(c.preempt_delay),
    ...(c.unicast_src_ip !== undefined ? { unicastSrcIp: c.unicast_src_ip } : {}),
    unicastPeers: c.unicast_peers,
    vips: c.vips,
    garp: {
      delayMs: ms(g.master_delay),
      repeat: g.master_repeat,
      refreshMs: ms(g.master_refresh),
      refreshRepeat: g.master_refresh_repeat,
      intervalMs: ms(g.interval),
      lowerPrioRepeat: g.lower_prio_repeat ?? g.master_repeat,
      lowerPrioDelayMs: ms(g.lower_prio_delay ?? g.master_delay),
    },
    trackInterfaces: c.track_interfaces.map((t) => (typeof t === 'string' ? { name: t, weight: 0 } : t)),
    trackScripts: c.track_scripts.map((s, i) => ({
      name: s.name ?? `script${i}`,
      script: s.script,
      intervalMs: ms(s.interval),
      timeoutMs: ms(s.timeout ?? s.interval),
      weight: s.weight,
      rise: s.rise,
      fall: s.fall,
      initFail: s.init_fail,
    })),
    notify: c.notify,
    v3ChecksumAsV2: c.v3_checksum_as_v2,
    lowerPrioNoAdvert: c.lower_prio_no_advert,
    higherPrioSendAdvert: c.higher_prio_send_advert,
    useVmac: c.use_vmac,
    vmacMode: c.vmac_mode,
    dontTrackPrimary: c.dont_track_primary,
    trackIntervalMs: ms(c.track_interval),
    skipCheckAdvAddr: c.skip_check_adv_addr,
  });
}

/** Validates one instance (the single form of `ha:`); throws ValidationError naming the field (`ha.<path>`) and the value. */
export function parseHaConfig(input: unknown, prefix = 'ha'): HaConfig {
  const r = haConfigSchema.safeParse(input);
  if (!r.success) throw issueError(input, r.error.issues[0]!, prefix);
  return toHaConfig(r.data);
}

/** Validates the whole `ha:` section, either form; throws ValidationError naming the field and the value. */
export function parseHaSection(input: unknown, prefix = 'ha'): HaSection {
  const r = haSectionSchema.safeParse(input);
  if (!r.success) throw issueError(input, r.error.issues[0]!, prefix);
  return r.data;
}

function issueError(input: unknown, issue: z.ZodIssue, prefix: string): ValidationError {
  const field = [prefix, ...issue.path].join('.');
  return new ValidationError(field, valueAt(input, issue.path), issue.message);
}

function valueAt(input: unknown, path: (string | number)[]): unknown {
  let v: unknown = input;
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined;
  return v;
}

/** The vmac interface's name, or undefined without use_vmac. */
export function vmacName(config: Pick<HaConfig, 'useVmac' | 'vrid' | 'vips'>): string | undefined {
  if (config.useVmac === false) return undefined;
  if (typeof config.useVmac === 'string') return config.useVmac;
  return `${familyOf(config.vips[0].split('/')[0]) === 6 ? 'vsd6' : 'vsd'}.${config.vrid}`;
}

/** RFC 5798 §7.3: 00-00-5E-00-01-{VRID} for IPv4, 00-00-5E-00-02-{VRID} for IPv6. */
export function virtualMac(vrid: number, family: 4 | 6): Buffer {
  return Buffer.from([0x00, 0x00, 0x5e, 0x00, family === 6 ? 0x02 : 0x01, vrid]);
}

/** Advertisement interval in centiseconds (the unit of the VRRPv3 header). */
export function intervalCs(config: Pick<HaConfig, 'advertIntMs'>): number {
  return Math.round(config.advertIntMs / 10);
}
