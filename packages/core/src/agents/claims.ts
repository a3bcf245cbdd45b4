/**
 * Which agent may speak for which real server. An agent claims addresses in its `hello` (and the address its
 * connection comes from); a claim only counts where the dispatcher config allows it, so that holding a key does not
 * let one node drain another node's real servers:
 *
 * - A real server listed under a name in `agents.agent_keys` (`{ key_file, real_servers }`) is spoken for by that
 *   name (or those names) only. A name with such a list speaks for nothing outside it. An address the config binds
 *   on some port is the bound names' machine: no other name speaks for it on any port.
 * - Any other real server (unbound) is spoken for by exactly one unbound name: the one first seen among those that
 *   claim its address and are still remembered (so a newcomer, with the shared key or not, cannot override it; when
 *   the first is forgotten the next one takes over). With `unbound_claims: source` an unbound name's claim counts
 *   only for the address its connection comes from.
 *
 * Everything else is a refused claim: counted and shown, never applied.
 */
import type { ClaimEntry } from './config.js';

export type UnboundClaims = 'first' | 'source';

export interface ClaimantView {
  agent: string;
  /** The connection's source address (canonical), when known. */
  source: string | null;
  /** When this name was first admitted (kept while it is remembered): the tie-break among unbound claimants. */
  firstSeen: number;
}

export interface ClaimDecision<T> {
  speakers: T[];
  refused: T[];
}

export class ClaimRules {
  /** address -> names bound to some real server at that address, with the port (null: every port). */
  private readonly bound = new Map<string, Array<{ agent: string; port: number | null }>>();

  constructor(
    private readonly bindings: ReadonlyMap<string, readonly ClaimEntry[]>,
    private readonly unbound: UnboundClaims = 'first',
  ) {
    for (const [agent, entries] of bindings)
      for (const e of entries) {
        const list = this.bound.get(e.address) ?? [];
        list.push({ agent, port: e.port });
        this.bound.set(e.address, list);
      }
  }

  isBound(agent: string): boolean {
    return this.bindings.has(agent);
  }

  /** Names the config binds to this real server (empty: the real server is unbound). */
  boundTo(address: string, port: number): Set<string> {
    const out = new Set<string>();
    for (const b of this.bound.get(address) ?? []) if (b.port === null || b.port === port) out.add(b.agent);
    return out;
  }

  /** Split the agents claiming this real server's address into those that speak for it and those refused. */
  decide<T extends ClaimantView>(address: string, port: number, claimants: readonly T[]): ClaimDecision<T> {
    const owners = this.boundTo(address, port);
    if (owners.size > 0 || this.bound.has(address)) {
      const speakers = claimants.filter((c) => owners.has(c.agent));
      return { speakers, refused: claimants.filter((c) => !owners.has(c.agent)) };
    }
    let first: T | null = null;
    const refused: T[] = [];
    for (const c of claimants) {
      if (this.isBound(c.agent) || (this.unbound === 'source' && c.source !== address)) refused.push(c);
      else if (first === null || c.firstSeen < first.firstSeen || (c.firstSeen === first.firstSeen && c.agent < first.agent)) {
        if (first) refused.push(first);
        first = c;
      } else refused.push(c);
    }
    return { speakers: first ? [first] : [], refused };
  }
}
