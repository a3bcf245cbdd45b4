import { createHash } from 'node:crypto';
import type { DesiredState } from '@vsd/core';

/** Digests already computed, per document object: the store publishes a new object per commit and never mutates one. */
const cache = new WeakMap<object, string>();

/**
 * A digest of the replicated part of the desired state (generation, services and timeouts; the sync daemons are per
 * node). Keys are sorted, so two nodes holding equal documents compute equal digests whatever order fields were built
 * in. Equal digests mean equal content at that generation: this, not the generation alone, is what "in sync" means.
 */
export function stateDigest(state: Readonly<DesiredState>): string {
  const hit = cache.get(state);
  if (hit !== undefined) return hit;
  const digest = createHash('sha256')
    .update(JSON.stringify({ generation: state.generation, services: state.services, timeouts: state.timeouts }, sortedKeys))
    .digest('hex')
    .slice(0, 32);
  cache.set(state, digest);
  return digest;
}

/** Record a digest computed elsewhere (the decode thread) for a document known to hold the same content. */
export function knownDigest(state: Readonly<DesiredState>, digest: string): void {
  cache.set(state, digest);
}

function sortedKeys(_key: string, v: unknown): unknown {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) out[k] = (v as Record<string, unknown>)[k];
  return out;
}
