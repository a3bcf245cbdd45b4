/**
 * The partition-heal merge, on the side whose document lost: its own transactions since the last point both sides
 * shared are re-applied on top of the winner's document where they touch nothing the winner changed since that point,
 * and kept as divergence entries (for an operator to look at and replay) where they do.
 *
 * Conflict rule, by key (journal.ts): a transaction conflicts when a key it changed was changed by the winner too,
 * or belongs to something an earlier conflicting transaction of ours changed (a real server of a service whose own
 * change was kept aside), or when its changes cannot be applied on the winner's document (a real server for a service
 * the winner deleted). Re-applied transactions become new transactions (origin "merge") and replicate to the winner
 * like any other change.
 */
import { keyValue, patchToOps, type Patch, type PatchValue, type StateChange, type StateOp, type DesiredState } from '@vsd/core';

export type JournalEntry = Omit<StateChange, 'state'>;

export interface DivergenceEntry {
  id: string;
  /** When the heal kept it aside. */
  recordedAt: number;
  /** The transaction as it was made on this side during the partition. */
  generation: number;
  origin: string;
  at: number;
  ops: readonly StateOp[];
  /** Why it was not re-applied. */
  reason: string;
  /** Each key it changed: our value, and the value on the merged document (the winner's) when it was kept. */
  keys: Array<{ key: string; ours: PatchValue; theirs: PatchValue }>;
  /** What a replay applies (our values of its keys); null when only the operations are known. */
  patch: Patch | null;
}

export interface MergeTarget {
  readonly state: Readonly<DesiredState>;
  apply(ops: readonly StateOp[], origin: string): Promise<unknown>;
}

export interface MergeOutcome {
  reapplied: JournalEntry[];
  kept: DivergenceEntry[];
  /** Transactions that changed no replicated key (a counter reset): nothing to re-apply. */
  empty: JournalEntry[];
}

const parentOf = (key: string): string | null => {
  const parts = key.split('|');
  return parts[0] === 'server' ? `service|${parts[1]}` : null;
};

/**
 * Re-apply `divergent` (oldest first) on `target`, which already holds the winner's document.
 * `winnerKeys`: the keys the winner changed since the common point; null when unknown (its journal did not reach back
 * that far), which makes every transaction a conflict.
 */
export async function mergeDivergent(
  divergent: readonly JournalEntry[],
  winnerKeys: ReadonlySet<string> | null,
  target: MergeTarget,
  newId: () => string,
  origin = 'merge',
): Promise<MergeOutcome> {
  const out: MergeOutcome = { reapplied: [], kept: [], empty: [] };
  const conflicted = new Set<string>();
  const keep = (tx: JournalEntry, reason: string): void => {
    const keys = tx.patch ? Object.keys(tx.patch) : [];
    for (const k of keys) conflicted.add(k);
    out.kept.push({
      id: newId(),
      recordedAt: Date.now(),
      generation: tx.generation,
      origin: tx.origin,
      at: tx.at,
      ops: tx.ops,
      reason,
      keys: keys.map((key) => ({ key, ours: tx.patch![key]!, theirs: keyValue(target.state, key) })),
      patch: tx.patch,
    });
  };
  for (const tx of divergent) {
    if (!tx.patch) {
      keep(tx, 'a whole-document install, not tracked key by key');
      continue;
    }
    const keys = Object.keys(tx.patch);
    if (keys.length === 0) {
      out.empty.push(tx);
      continue;
    }
    if (winnerKeys === null) {
      keep(tx, "the peer's journal does not reach back to the last common point");
      continue;
    }
    const clash = keys.filter((k) => winnerKeys.has(k) || conflicted.has(k) || conflicted.has(parentOf(k) ?? ''));
    if (clash.length) {
      keep(tx, `changed on both sides: ${clash.join(', ')}`);
      continue;
    }
    try {
      await target.apply(patchToOps(tx.patch, target.state), origin);
      out.reapplied.push(tx);
    } catch (err) {
      keep(tx, `cannot be applied on the peer's document: ${(err as Error).message}`);
    }
  }
  return out;
}
