/**
 * The desired-state store: one document, one generation counter, one writer.
 *
 * Transactions are serialised, applied to a copy (all-or-nothing), persisted with lowdb through a durable adapter
 * (temporary file, fsync, rename, directory fsync: a crash or a power loss mid-write leaves either the old or the new
 * document, never a truncated one), and only then published on the change feed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Low } from 'lowdb';
import { GenerationError, StateCorruptError, VsdError } from '../errors.js';
import { MAX_GENERATION } from '../model/constants.js';
import { silentLogger, type Logger } from '@vsd/sys';
import { desiredStateSchema, parseVirtualService, parseWith, type DesiredState } from '../model/schema.js';
import { DurableJsonFile } from './durable-file.js';
import { diffStates, type Patch } from './journal.js';
import { applyOps, type StateOp } from './ops.js';

export interface StateChange {
  generation: number;
  ops: readonly StateOp[];
  /** Who made the change: "api", "config", "peer", ... */
  origin: string;
  at: number;
  state: Readonly<DesiredState>;
  /**
   * What the transaction changed, by key (journal.ts), for the partition-heal merge; null for a whole-document install
   * (a peer snapshot), whose changes are not tracked key by key.
   */
  patch: Patch | null;
}

export type StateListener = (change: StateChange) => void;
/** Checks a candidate document before it is committed (e.g. the dataplane refusing a forwarding method); throws to refuse. */
export type StateValidator = (next: Readonly<DesiredState>, ops: readonly StateOp[], origin: string) => void;

export interface StateStoreOptions {
  /** State file; null keeps the document in memory only. */
  path: string | null;
  logger?: Logger;
  /** How many past transactions the journal keeps (peers that catch up, the partition-heal merge). */
  historySize?: number;
}

export function emptyState(): DesiredState {
  return parseState({}, '<empty>');
}

/** Validate a whole document (state file, peer snapshot). */
export function parseState(input: unknown, source: string): DesiredState {
  const doc = parseWith(desiredStateSchema, input, 'state');
  const services = doc.services.map((s, i) => parseVirtualService(s, `state.services.${i}`));
  void source;
  return { ...doc, services };
}

export class StateStore {
  private doc: DesiredState;
  private readonly db: Low<DesiredState> | null;
  private readonly listeners = new Set<StateListener>();
  private readonly validators = new Set<StateValidator>();
  /** Past transactions without their documents (a document per entry would cost memory in proportion to the table). */
  private readonly history: Array<Omit<StateChange, 'state'>> = [];
  private queue: Promise<unknown> = Promise.resolve();
  private readonly log: Logger;
  private readonly historySize: number;

  private constructor(doc: DesiredState, db: Low<DesiredState> | null, options: StateStoreOptions) {
    this.doc = doc;
    this.db = db;
    this.log = (options.logger ?? silentLogger).child({ component: 'store' });
    this.historySize = options.historySize ?? 1000;
  }

  static async open(options: StateStoreOptions): Promise<StateStore> {
    const { path } = options;
    if (path === null) return new StateStore(emptyState(), null, options);
    await mkdir(dirname(path), { recursive: true });
    const doc = existsSync(path) ? loadFile(path) : emptyState();
    const db = new Low<DesiredState>(new DurableJsonFile<DesiredState>(path), doc);
    db.data = doc;
    return new StateStore(doc, db, options);
  }

  get state(): Readonly<DesiredState> {
    return this.doc;
  }

  get generation(): number {
    return this.doc.generation;
  }

  /** Apply a transaction. Resolves once it is persisted and published; rejects with nothing changed. */
  apply(ops: readonly StateOp[], origin = 'api'): Promise<StateChange> {
    return this.serialise(async () => {
      const next = applyOps(this.doc, ops);
      for (const v of this.validators) v(next, ops, origin);
      if (this.doc.generation >= MAX_GENERATION) throw new GenerationError(this.doc.generation + 1, `the counter reached its limit (${MAX_GENERATION})`);
      next.generation = this.doc.generation + 1;
      return this.commit(next, ops, origin, diffStates(this.doc, next, ops));
    });
  }

  /**
   * Install a whole document with its own generation (peer snapshot, partition resolution). The generation is
   * taken from `doc` so both peers agree on it. `owned`: the caller hands the document over and never touches it
   * again, so it is not copied (a peer snapshot of a big table, decoded for this call only).
   */
  install(doc: DesiredState, origin: string, options: { owned?: boolean } = {}): Promise<StateChange> {
    return this.serialise(async () => {
      if (!Number.isSafeInteger(doc.generation) || doc.generation < 0 || doc.generation > MAX_GENERATION)
        throw new GenerationError(doc.generation, `not an integer within 0..${MAX_GENERATION}`);
      return this.commit(options.owned ? doc : structuredClone(doc), [{ op: 'replace', services: doc.services }], origin, null);
    });
  }

  /** Transactions after `generation`, or null when the history no longer reaches back that far. */
  since(generation: number): Array<Omit<StateChange, 'state'>> | null {
    if (generation > this.doc.generation) return null;
    if (generation === this.doc.generation) return [];
    const first = this.history[0];
    if (!first || first.generation > generation + 1) return null;
    return this.history.filter((c) => c.generation > generation);
  }

  addValidator(validator: StateValidator): () => void {
    this.validators.add(validator);
    return () => this.validators.delete(validator);
  }

  subscribe(listener: StateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Wait for queued transactions to finish. */
  async flush(): Promise<void> {
    await this.queue.catch(() => undefined);
  }

  private serialise<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async commit(next: DesiredState, ops: readonly StateOp[], origin: string, patch: Patch | null): Promise<StateChange> {
    if (this.db) {
      this.db.data = next;
      try {
        await this.db.write();
      } catch (err) {
        this.db.data = this.doc;
        throw new VsdError('VSD_ERR_STATE_WRITE', `cannot write the state file: ${(err as Error).message}`, { cause: err });
      }
    }
    this.doc = next;
    const change: StateChange = { generation: next.generation, ops, origin, at: Date.now(), state: next, patch };
    this.history.push({ generation: change.generation, ops, origin, at: change.at, patch });
    if (this.history.length > this.historySize) this.history.shift();
    this.log.info({ generation: next.generation, origin, ops: ops.map((o) => o.op) }, 'desired state changed');
    for (const l of this.listeners) {
      try {
        l(change);
      } catch (err) {
        this.log.error({ err }, 'state listener failed');
      }
    }
    return change;
  }
}

function loadFile(path: string): DesiredState {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new StateCorruptError(path, (err as Error).message, err);
  }
  try {
    return parseState(raw, path);
  } catch (err) {
    throw new StateCorruptError(path, (err as Error).message, err);
  }
}
