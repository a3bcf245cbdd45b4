/**
 * The fuzz loop: for a time budget, feed a decoder inputs made from valid seeds (mutated), random bytes, and the
 * seeds themselves; the target's `check` asserts the properties (typed errors only, state unchanged on refusal,
 * round trips). Every input is timed: one above `perInputMs` fails the run (a decoder must not hang or go
 * quadratic on hostile input). A failure names the target, seed and iteration and writes the input to a file.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, fuzzSeed, hashName } from './prng.js';

export interface FuzzTarget<I> {
  name: string;
  seeds: readonly I[];
  mutate(rng: Rng, seed: I, corpus: readonly I[]): I;
  random(rng: Rng): I;
  check(input: I): void | Promise<void>;
  /** For the failure file. */
  serialize(input: I): Buffer | string;
  budgetMs?: number;
  perInputMs?: number;
  /** A run with fewer inputs than this fails: the budget was eaten elsewhere and nothing was tested. */
  minRuns?: number;
}

export interface FuzzStats {
  seed: number;
  runs: number;
  slowestMs: number;
}

export const DEFAULT_BUDGET_MS = Number(process.env.VSD_FUZZ_MS ?? 5000);

export async function fuzz<I>(t: FuzzTarget<I>): Promise<FuzzStats> {
  const seed = (fuzzSeed() ^ hashName(t.name)) >>> 0;
  process.stdout.write(`fuzz ${t.name}: run seed ${fuzzSeed()} (replay: VSD_FUZZ_SEED=${fuzzSeed()})\n`);
  const budget = t.budgetMs ?? DEFAULT_BUDGET_MS;
  const perInput = t.perInputMs ?? 1000;
  const end = Date.now() + budget;
  let runs = 0;
  let slowest = 0;
  for (const s of t.seeds) await attempt(t, s, -1, perInput, (ms) => (slowest = Math.max(slowest, ms)));
  while (Date.now() < end) {
    const rng = new Rng((seed + Math.imul(runs + 1, 0x9e3779b1)) >>> 0);
    const roll = rng.int(100);
    const input = roll < 85 ? t.mutate(rng, rng.pick(t.seeds), t.seeds) : roll < 95 ? t.random(rng) : rng.pick(t.seeds);
    await attempt(t, input, runs, perInput, (ms) => (slowest = Math.max(slowest, ms)));
    runs++;
  }
  if (runs < (t.minRuns ?? 50)) throw new Error(`fuzz ${t.name}: only ${runs} inputs in ${budget} ms`);
  process.stdout.write(`fuzz ${t.name}: ${runs} inputs, slowest ${slowest.toFixed(1)} ms\n`);
  return { seed, runs, slowestMs: slowest };
}

async function attempt<I>(t: FuzzTarget<I>, input: I, iteration: number, perInput: number, took: (ms: number) => void): Promise<void> {
  const t0 = performance.now();
  let failure: unknown = null;
  try {
    await t.check(input);
  } catch (err) {
    failure = err;
  }
  const ms = performance.now() - t0;
  took(ms);
  if (failure === null && ms > perInput) failure = new Error(`input took ${ms.toFixed(0)} ms (limit ${perInput} ms)`);
  if (failure === null) return;
  const file = join(tmpdir(), `vsd-fuzz-${t.name}-${fuzzSeed()}-${iteration}.bin`);
  writeFileSync(file, t.serialize(input));
  const why = failure instanceof Error ? (failure.stack ?? failure.message) : String(failure);
  throw new Error(`fuzz ${t.name}: iteration ${iteration} (VSD_FUZZ_SEED=${fuzzSeed()}) failed; input in ${file}\n${why}`);
}

/** Fail unless `err` is one of the typed errors the decoder may throw. */
export function expectTyped(err: unknown, allowed: ReadonlyArray<abstract new (...args: never[]) => Error>): void {
  if (allowed.some((c) => err instanceof c)) return;
  const e = err as Error;
  throw new Error(`untyped error ${e?.constructor?.name ?? typeof err}: ${e?.stack ?? String(err)}`);
}
