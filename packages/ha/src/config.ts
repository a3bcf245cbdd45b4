/**
 * The `ha:` section of vsd.yaml (DESIGN.md §8), keepalived's names, durations in seconds with fractions.
 * Validated once at the boundary; the result is frozen.
 */
import { ValidationError } from '@vsd/core';
import { z } from 'zod';
import { familyOf, parseCidr } from './vrrp/addr.js';

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
  z.object({ name: z.string().min(1), weight: z.number().int().min(-253).max(253).default(0) }).strict(),
]);

const trackScript = z
  .object({
    name: z.string().min(1).optional(),
    script: z.string().min(1),
    interval: z.number().positive().default(1),
    timeout: z.number().positive().optional(),
    weight: z.number().int().min(-253).max(253).default(0),
    rise: z.number().int().min(1).default(1),
    fall: z.number().int().min(1).default(1),
    init_fail: z.boolean().default(false),
  })
  .strict();

export const haConfigSchema = z
  .object({
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
    garp: z
      .object({
        master_delay: seconds.default(DEFAULT_GARP.master_delay),
        master_repeat: z.number().int().min(1).max(255).default(DEFAULT_GARP.master_repeat),
        master_refresh: seconds.default(DEFAULT_GARP.master_refresh),
        master_refresh_repeat: z.number().int().min(1).max(255).default(DEFAULT_GARP.master_refresh_repeat),
        interval: seconds.default(DEFAULT_GARP.interval),
        /** keepalived garp_lower_prio_repeat: burst when a MASTER hears a lower priority; default master_repeat, 0 = none. */
        lower_prio_repeat: z.number().int().min(0).max(255).optional(),
        /** keepalived garp_lower_prio_delay: second such burst; default master_delay, 0 = none. */
        lower_prio_delay: seconds.optional(),
      })
      .strict()
      .default({}),
    track_interfaces: z.array(trackInterface).default([]),
    track_scripts: z.array(trackScript).default([]),
    notify: z
      .object({ master: z.string().optional(), backup: z.string().optional(), fault: z.string().optional(), stop: z.string().optional() })
      .strict()
      .default({}),
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
    /** keepalived `dont_track_primary`: do not go FAULT when the VRRP interface goes down. */
    dont_track_primary: z.boolean().default(false),
    /** How often tracked interfaces are sampled, seconds. */
    track_interval: z.number().positive().default(0.1),
  })
  .strict()
  .superRefine((c, ctx) => {
    const families = new Set(c.vips.map((v) => familyOf(v.split('/')[0])));
    if (families.size > 1) ctx.addIssue({ code: 'custom', path: ['vips'], message: 'all VIPs must be of one address family' });
    const family = [...families][0];
    if (family === 6 && c.version === 2) ctx.addIssue({ code: 'custom', path: ['version'], message: 'VRRP version 2 is IPv4 only' });
    for (const [i, a] of [c.unicast_src_ip, ...c.unicast_peers].entries()) {
      if (a && familyOf(a) !== family) ctx.addIssue({ code: 'custom', path: i === 0 ? ['unicast_src_ip'] : ['unicast_peers', i - 1], message: `must be IPv${family} like the VIPs` });
    }
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
type ParsedHa = z.output<typeof haConfigSchema>;
export type HaConfig = Readonly<Omit<ParsedHa, 'garp'>> & {
  readonly advert_int: number;
  readonly garp: Readonly<ParsedHa['garp'] & { lower_prio_repeat: number; lower_prio_delay: number }>;
};

/** Validates the `ha:` section; throws ValidationError naming the field (`ha.<path>`) and the value. */
export function parseHaConfig(input: unknown, prefix = 'ha'): HaConfig {
  const r = haConfigSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = [prefix, ...issue.path].join('.');
    throw new ValidationError(field, valueAt(input, issue.path), issue.message);
  }
  const advert_int = r.data.advert_int ?? (r.data.version === 2 ? DEFAULT_ADVERT_INT_V2 : DEFAULT_ADVERT_INT_V3);
  const g = r.data.garp;
  const garp = { ...g, lower_prio_repeat: g.lower_prio_repeat ?? g.master_repeat, lower_prio_delay: g.lower_prio_delay ?? g.master_delay };
  return Object.freeze({ ...r.data, advert_int, garp });
}

function valueAt(input: unknown, path: (string | number)[]): unknown {
  let v: unknown = input;
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined;
  return v;
}

/** Advertisement interval in centiseconds. */
export function intervalCs(config: HaConfig): number {
  return Math.round(config.advert_int * 100);
}
