import { createHash } from 'node:crypto';
import type { DesiredState } from '@vsd/core';

/**
 * A digest of the replicated part of the desired state (services and timeouts; the sync daemons are per node).
 * Keys are sorted, so two nodes holding equal documents compute equal digests whatever order fields were built in.
 */
export function stateDigest(state: Readonly<DesiredState>): string {
  return createHash('sha256')
    .update(canonical({ generation: state.generation, services: state.services, timeouts: state.timeouts }))
    .digest('hex')
    .slice(0, 32);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}
