/**
 * `ha.witness:` — the split-brain guard's settings (docs/ARCHITECTURE.md, "Split-brain guard"):
 *
 *   witness:
 *     agents: [web1, web2]      # vsd-agent names (their `name:`), or `all` = every name in agents.agent_keys
 *     gateways: [192.0.2.1]     # optional: addresses probed with ICMP echo; a majority must answer
 *     probe_interval: 0.05      # seconds between renewals / probes (default: advert_int)
 *     lease: 0.5                # seconds an agent's vote lasts without renewal
 *
 * A list that can never give a majority is refused here (empty, duplicates) or by checkWitnessElectorate (names
 * that can never connect), so the daemon never starts a dispatcher that could not become MASTER. The parsed form,
 * {@link WitnessConfig}, has its durations in milliseconds.
 */
import { deepFreeze, secondsToMs, strictObject } from '@vsd/core';
import { z } from 'zod';
import { familyOf } from '../vrrp/addr.js';
import { majority } from './quorum.js';

/** Seconds, as in the file. */
export const DEFAULT_WITNESS_LEASE = 0.5;

const agentName = z.string().min(1).max(253);
const ip = z
  .string()
  .refine((s) => familyOf(s) !== undefined, 'must be an IPv4 or IPv6 address')
  // A link-local address needs a zone the probe socket does not carry: it would never be reached (no quorum, ever).
  .refine((s) => !/^fe[89ab]/i.test(s), 'an IPv6 link-local gateway cannot be probed: use its global address');

export const witnessConfigSchema = strictObject({
  /** Set false to keep the section but switch the guard off. */
  enabled: z.boolean().default(true),
  agents: z.union([z.literal('all'), z.array(agentName).max(64)]).default([]),
  gateways: z.array(ip).max(16).default([]),
  probe_interval: z.number().min(0.01).max(10).optional(),
  lease: z.number().min(0.05).max(60).default(DEFAULT_WITNESS_LEASE),
})
  .superRefine((w, ctx) => {
    if (!w.enabled) return;
    const agents = w.agents === 'all' ? null : w.agents;
    if (agents !== null && agents.length === 0 && w.gateways.length === 0)
      ctx.addIssue({ code: 'custom', path: ['agents'], message: 'no witnesses: list agents (or `all`) and/or gateways, or set enabled: false' });
    for (const [key, list] of [
      ['agents', agents ?? []],
      ['gateways', w.gateways],
    ] as const) {
      const seen = new Set<string>();
      list.forEach((x, i) => {
        // A witness listed twice would count twice: a "majority" of such a list is not a majority of the witnesses.
        if (seen.has(x)) ctx.addIssue({ code: 'custom', path: [key, i], message: `${x} is listed twice; each witness counts once` });
        seen.add(x);
      });
    }
    if (w.probe_interval !== undefined && w.lease < 2 * w.probe_interval)
      ctx.addIssue({
        code: 'custom',
        path: ['lease'],
        message: `must be at least twice probe_interval (${w.probe_interval} s): the MASTER renews its votes every probe_interval`,
      });
  })
  .transform(
    (w): WitnessConfig =>
      deepFreeze({
        enabled: w.enabled,
        agents: w.agents,
        gateways: w.gateways,
        ...(w.probe_interval !== undefined ? { probeIntervalMs: Math.round(secondsToMs(w.probe_interval)) } : {}),
        leaseMs: Math.round(secondsToMs(w.lease)),
      }),
  );

export type WitnessConfigInput = z.input<typeof witnessConfigSchema>;

/** `ha.witness` as parsed: frozen, durations in whole milliseconds. */
export interface WitnessConfig {
  readonly enabled: boolean;
  /** Agent names, or `all` (every name in agents.agent_keys: see checkWitnessElectorate). */
  readonly agents: 'all' | readonly string[];
  readonly gateways: readonly string[];
  /** probe_interval; absent = the daemon's default (the fastest advert_int, at most a quarter of the lease). */
  readonly probeIntervalMs?: number;
  readonly leaseMs: number;
}

/** What the dispatcher's `agents:` section says about who can connect. */
export interface AgentsAdmission {
  /** Names bound to a key of their own (agents.agent_keys). */
  named: readonly string[];
  /** agents.require_agent_key: nobody else connects. */
  requireAgentKey: boolean;
}

export interface ElectorateIssue {
  path: (string | number)[];
  message: string;
}

/**
 * The agent witnesses as names, checked against what the `agents:` section admits: `all` needs agent_keys (a fixed
 * electorate both dispatchers agree on: "whoever connected" is no majority of anything), listed agents need an
 * agents listener, and names that can never connect (require_agent_key without a key of their own) must leave a
 * majority that can. Returns the electorate, or the problem naming the field.
 */
export function checkWitnessElectorate(w: WitnessConfig, agents: AgentsAdmission | null): { electorate: string[] } | ElectorateIssue {
  if (!w.enabled) return { electorate: [] };
  const electorate = w.agents === 'all' ? [...(agents?.named ?? [])].sort() : [...w.agents];
  if (w.agents === 'all' && electorate.length === 0)
    return { path: ['agents'], message: '`all` means every agent named in agents.agent_keys, and there is none: list the agents, or bind their names to keys' };
  if (electorate.length === 0) return { electorate };
  if (!agents) return { path: ['agents'], message: 'agent witnesses need the `agents:` section (the listener they connect to)' };
  if (agents.requireAgentKey) {
    const never = electorate.filter((a) => !agents.named.includes(a));
    const can = electorate.length - never.length;
    if (can < majority(electorate.length))
      return {
        path: ['agents'],
        message: `can never reach a majority: ${never.join(', ')} cannot connect (agents.require_agent_key and no key in agents.agent_keys), leaving ${can} of ${electorate.length} (needs ${majority(electorate.length)})`,
      };
  }
  return { electorate };
}
