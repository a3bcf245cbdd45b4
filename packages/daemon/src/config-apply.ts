/**
 * Which wins, the config file or the state file?
 *
 * The state file is the running truth: it holds every runtime change (vsadm, vsctl, peer sync) and survives
 * restarts. The config file's virtual services replace the running table only when the table the file
 * describes differs from the one applied last (its hash is recorded in a sidecar next to the state file,
 * `<state>.config.json`), or when there is no state file yet. So: edit the config file and SIGHUP/restart ->
 * the config wins; restart without editing it -> runtime changes survive. Comments, `ha:` and other sections
 * do not count as a change of the table.
 *
 * A record that exists but cannot be read or makes no sense (truncated by a full disk, edited by hand) says
 * nothing about what was applied: treating it as absent would let the config file replace the table and drop
 * every runtime change. So a damaged record keeps the running table, is logged as damaged, and is written
 * again for the current config file.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { logYamlWarnings, type Logger, type StateStore } from '@vsd/core';
import type { LoadedConfig } from './config-load.js';

export interface AppliedRecord {
  servicesHash: string;
  configPath: string;
  generation: number;
  appliedAt: string;
}

export type ApplyOutcome = 'applied' | 'unchanged' | 'kept-state' | 'no-config';

export function sidecarPath(statePath: string): string {
  return `${statePath}.config.json`;
}

/** The record, null when there is none, or why it is damaged. */
export type RecordRead = { record: AppliedRecord } | { record: null; damaged?: string };

export async function readAppliedRecord(statePath: string | null): Promise<RecordRead> {
  if (!statePath) return { record: null };
  let text: string;
  try {
    text = await readFile(sidecarPath(statePath), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { record: null };
    return { record: null, damaged: `cannot read it: ${(err as Error).message}` };
  }
  let r: Partial<AppliedRecord> | null;
  try {
    r = JSON.parse(text) as Partial<AppliedRecord> | null;
  } catch (err) {
    return { record: null, damaged: `not JSON (${(err as Error).message})` };
  }
  if (r === null || typeof r !== 'object' || typeof r.servicesHash !== 'string' || !/^[0-9a-f]{16,}$/.test(r.servicesHash))
    return { record: null, damaged: 'no valid servicesHash' };
  if (typeof r.generation !== 'number' || typeof r.configPath !== 'string') return { record: null, damaged: 'missing generation or configPath' };
  return { record: r as AppliedRecord };
}

async function writeAppliedRecord(statePath: string | null, record: AppliedRecord): Promise<void> {
  if (!statePath) return;
  const tmp = `${sidecarPath(statePath)}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`);
  await rename(tmp, sidecarPath(statePath));
}

export interface ApplyConfigOptions {
  store: StateStore;
  loaded: LoadedConfig;
  statePath: string | null;
  /** Whether the state file existed when the daemon started (only meaningful at start). */
  stateExisted: boolean;
  log: Logger;
  reason: 'start' | 'reload';
  /** Where the record lives without a state file (--state none): kept in memory for reloads. */
  memory?: { record: AppliedRecord | null };
}

/** The state file keeps its table (runtime changes included); the record is written again for this config file. */
async function keepOnDamagedRecord(o: ApplyConfigOptions, damaged: string): Promise<ApplyOutcome> {
  const { store, loaded, log } = o;
  const record = sidecarPath(o.statePath!);
  log.warn(
    { config: loaded.path, record, damaged, generation: store.generation, services: store.state.services.length },
    'config record damaged: cannot tell whether the config file changed, so the state file wins (runtime changes kept); ' +
      'the record is written again for the current config file (to make the file win, delete the record and reload)',
  );
  const applied = { servicesHash: loaded.servicesHash, configPath: loaded.path, generation: store.generation, appliedAt: new Date().toISOString() };
  await writeAppliedRecord(o.statePath, applied).catch((err: unknown) => log.error({ err, record }, 'cannot write the config record'));
  return 'kept-state';
}

export async function applyConfig(o: ApplyConfigOptions): Promise<ApplyOutcome> {
  const { store, loaded, log } = o;
  logYamlWarnings(log, loaded.path, loaded.warnings);
  const running = store.state.services.length;
  if (loaded.absent) {
    if (running === 0) log.info({ config: loaded.path }, 'no config file: starting with an empty table');
    else log.info({ config: loaded.path, services: running }, 'no config file: keeping the virtual services of the state file');
    return 'no-config';
  }
  const read: RecordRead = o.statePath ? await readAppliedRecord(o.statePath) : { record: o.memory?.record ?? null };
  if ('damaged' in read && read.damaged && o.stateExisted) return keepOnDamagedRecord(o, read.damaged);
  const record = read.record;
  const changed = !o.stateExisted || !record || record.servicesHash !== loaded.servicesHash;
  if (!changed) {
    log.info(
      { config: loaded.path, appliedAtGeneration: record!.generation, generation: store.generation, services: running },
      'config file unchanged since it was last applied: the state file wins (runtime changes preserved)',
    );
    return 'kept-state';
  }
  let outcome: ApplyOutcome = 'unchanged';
  if (!isDeepStrictEqual(loaded.services, store.state.services)) {
    await store.apply([{ op: 'replace', services: loaded.services }], 'config');
    outcome = 'applied';
  }
  const applied = { servicesHash: loaded.servicesHash, configPath: loaded.path, generation: store.generation, appliedAt: new Date().toISOString() };
  if (o.memory) o.memory.record = applied;
  await writeAppliedRecord(o.statePath, applied);
  const why = !o.stateExisted ? 'no state file yet' : !record ? 'never applied before' : 'config file changed since last applied';
  if (loaded.services.length === 0 && outcome === 'unchanged')
    log.info({ config: loaded.path }, 'config file has no virtual services: starting with an empty table');
  else
    log.info(
      { config: loaded.path, services: loaded.services.length, generation: store.generation, reason: o.reason, why },
      outcome === 'applied' ? 'config file applied: its virtual services replace the running table' : 'config file matches the running table',
    );
  return outcome;
}
