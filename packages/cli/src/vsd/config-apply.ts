/**
 * Which wins, the config file or the state file?
 *
 * The state file is the running truth: it holds every runtime change (vsadm, vsctl, peer sync) and survives
 * restarts. The config file's virtual services replace the running table only when the table the file
 * describes differs from the one applied last (its hash is recorded in a sidecar next to the state file,
 * `<state>.config.json`), or when there is no state file yet. So: edit the config file and SIGHUP/restart ->
 * the config wins; restart without editing it -> runtime changes survive. Comments, `ha:` and other sections
 * do not count as a change of the table.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import type { Logger, StateStore } from '@vsd/core';
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

export async function readAppliedRecord(statePath: string | null): Promise<AppliedRecord | null> {
  if (!statePath) return null;
  try {
    const r = JSON.parse(await readFile(sidecarPath(statePath), 'utf8')) as AppliedRecord;
    return typeof r.servicesHash === 'string' ? r : null;
  } catch {
    return null;
  }
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

export async function applyConfig(o: ApplyConfigOptions): Promise<ApplyOutcome> {
  const { store, loaded, log } = o;
  const running = store.state.services.length;
  if (loaded.absent) {
    if (running === 0) log.info({ config: loaded.path }, 'no config file: starting with an empty table');
    else log.info({ config: loaded.path, services: running }, 'no config file: keeping the virtual services of the state file');
    return 'no-config';
  }
  const record = o.statePath ? await readAppliedRecord(o.statePath) : (o.memory?.record ?? null);
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
