/**
 * Desired-state and session replication between the two dispatchers.
 *
 * - Every transaction committed on this node is sent to the peer in order, with its generation and the digest of the
 *   resulting state; the peer applies it only on top of the generation before it, and checks the digest.
 * - On (re)connection both sides announce (generation, digest). The higher generation wins (equal generations: the
 *   higher digest), computed the same way on both sides. The winner sends the missing transactions when the loser's
 *   state is a point of its own history, a snapshot otherwise.
 * - Generations from the peer are checked first (safe integer, at most MAX_GENERATION, no absurd jump), and a snapshot
 *   is installed only if it wins by that rule or answers our `want`; "in sync" needs equal content digests.
 * - A divergence (both sides changed the document during a partition) is merged on the losing side (merge.ts): it
 *   asks the winner which keys it changed since the common point, installs the winner's document, re-applies its own
 *   transactions that touch none of them and keeps the others in the divergence record for an operator to replay.
 * - While this node is BACKUP, changes from the API or a config reload are refused (NotMasterError): the pair only
 *   diverges when a partition made both MASTER.
 * - The sync daemon settings are per node: received start/stop-daemon operations are not applied, and snapshots keep
 *   the local ones.
 * - Persistence templates of the dataplane are sent as they appear, so a persistent client keeps its real server after
 *   a failover.
 */
import {
  diffStates,
  HaStateError,
  keyValue,
  MAX_GENERATION,
  patchToOps,
  NotMasterError,
  silentLogger,
  type Dataplane,
  type DesiredState,
  type Logger,
  type PersistenceEntry,
  type StateChange,
  type StateOp,
  type StateStore,
} from '@vsd/core';
import { knownDigest, stateDigest } from './digest.js';
import type { PeerMessage } from './protocol.js';
import { splitHostPort } from './config.js';
import { DivergenceRecord } from './divergence.js';
import { UnsyncedMark } from './unsynced-mark.js';
import { LimitedLog } from './log-limit.js';
import { mergeDivergent, type DivergenceEntry, type JournalEntry, type MergeOutcome } from './merge.js';
import { LinkManager, type LinkManagerOptions, type PeerLink } from './link.js';
import type { PeerRole, PeerSyncStatus } from '@vsd/protocol';
export type { PeerRole, PeerSyncStatus };

export interface PeerSyncOptions {
  /** This node's id in the handshake (default: hostname + listen address). */
  id: string;
  key: Buffer;
  listen?: { host: string; port: number };
  /** HOST:PORT of the peer's listener. */
  peer?: string;
  store: StateStore;
  dataplane?: Dataplane;
  logger?: Logger;
  persistIntervalMs?: number;
  /** File of the divergence record (kept transactions of a partition heal); null/absent: memory only. */
  divergencePath?: string | null;
  /** File of the unsynced mark (unsynced-mark.ts); null/absent: not kept across restarts. */
  unsyncedPath?: string | null;
  /** Limits and timers of the link (frame sizes, handshake deadline, unauthenticated connections). */
  link?: Pick<
    LinkManagerOptions,
    'maxFrameBytes' | 'maxPending' | 'authTimeoutMs' | 'heartbeatMs' | 'deadAfterMs' | 'inlineDecodeMax' | 'decodeScript' | 'decodeNice' | 'maxBadFrames'
  >;
}

export interface PeerSync {
  start(): Promise<{ port: number }>;
  stop(): Promise<void>;
  setRole(role: PeerRole, master?: string | null): void;
  status(): PeerSyncStatus;
  /** Transactions a partition heal kept aside (they conflicted with the winner's changes). */
  divergence(): readonly DivergenceEntry[];
  /** Re-apply kept transactions (all when `ids` is empty) on the current document; replayed ones leave the record. */
  replayDivergence(ids: readonly string[]): Promise<Array<{ id: string; ok: boolean; generation?: number; error?: string }>>;
  /** Forget kept transactions (all when `ids` is empty). Returns how many were dropped. */
  dropDivergence(ids: readonly string[]): Promise<number>;
}

const DAEMON_OPS = new Set(['start-daemon', 'stop-daemon']);
/** A peer may be ahead by many transactions after a long partition, never by billions. */
export const MAX_GENERATION_JUMP = 2 ** 32;
const HASH_HISTORY = 2000;

export function createPeerSync(options: PeerSyncOptions): PeerSync {
  const { store, dataplane } = options;
  const log = (options.logger ?? silentLogger).child({ component: 'peer-sync' });
  const hashes = new Map<number, string>();
  let role: PeerRole = null;
  let master: string | null = null;
  let inSync = false;
  let lastAgreed = store.generation;
  let peerGeneration: number | null = null;
  let lastApplyLagMs: number | null = null;
  let lastSyncAt: number | null = null;
  let divergences = 0;
  let peerHash: string | null = null;
  let refusedGenerations = 0;
  let refusedSnapshots = 0;
  /** We asked the peer for a snapshot (a transaction we could not apply): its answer may carry our own generation. */
  let wanted = false;
  const limited = new LimitedLog(log);
  let handling: Promise<void> = Promise.resolve();
  const record = new DivergenceRecord(options.divergencePath ?? null, log);
  let pendingMerge: { link: PeerLink; incoming: DesiredState; common: number; divergent: JournalEntry[] } | null = null;
  let persistTimer: NodeJS.Timeout | null = null;
  const sentPersist = new Map<string, string>();
  const unsubs: Array<() => void> = [];

  const remember = (generation: number, hash: string): void => {
    hashes.set(generation, hash);
    if (hashes.size > HASH_HISTORY) hashes.delete(hashes.keys().next().value!);
  };
  remember(store.generation, stateDigest(store.state));
  const mark = new UnsyncedMark(options.unsyncedPath ?? null, log);
  const marked = mark.read();
  if (marked && marked.generation <= store.generation) {
    // Restarted with changes the peer may not have: the divergence began at the marked point, not at our generation.
    remember(marked.generation, marked.hash);
    lastAgreed = marked.generation;
    log.warn(
      { since: marked.generation, generation: store.generation },
      'this node has changes made while not in sync with its peer; the next heal merges from the marked point',
    );
  }

  const announce = (link: PeerLink): void => link.send({ t: 'announce', generation: store.generation, hash: stateDigest(store.state) });
  const sendSnapshot = (link: PeerLink): void => {
    const { generation, services, timeouts, version } = store.state;
    link.send({ t: 'snapshot', state: { version, generation, services, timeouts }, hash: stateDigest(store.state), history: [...hashes] });
  };
  const want = (link: PeerLink): void => {
    wanted = true;
    link.send({ t: 'want' });
  };
  /**
   * A generation from the peer that can be a real one: a safe integer, at most MAX_GENERATION, and not absurdly far
   * ahead of ours. Anything else is refused with a log and a counter and never reaches the store (a 2^53 once froze
   * the counter, since 2^53 + 1 === 2^53, and emptied both tables).
   */
  const plausible = (generation: number, what: string): boolean => {
    let why: string | null = null;
    if (!Number.isSafeInteger(generation) || generation < 0) why = 'not a safe integer';
    else if (generation > MAX_GENERATION) why = `above the limit of ${MAX_GENERATION}`;
    else if (generation > store.generation + MAX_GENERATION_JUMP) why = `more than ${MAX_GENERATION_JUMP} ahead of ours (${store.generation})`;
    if (!why) return true;
    refusedGenerations++;
    limited.warn(
      'generation',
      { code: 'VSD_ERR_PEER_GENERATION', what, peerGeneration: generation, generation: store.generation, reason: why, refused: refusedGenerations },
      `peer ${what} refused: implausible generation`,
    );
    return false;
  };
  const agreed = (generation: number): void => {
    if (generation === store.generation) mark.clear();
    inSync = true;
    lastAgreed = generation;
    lastSyncAt = Date.now();
  };

  const links = new LinkManager(
    {
      id: options.id,
      key: options.key,
      listen: options.listen,
      peer: options.peer ? splitHostPort(options.peer) : undefined,
      logger: log,
      ...options.link,
    },
    {
      up(link) {
        log.info({ peer: link.peerId }, 'peer link up');
        inSync = false;
        sentPersist.clear();
        announce(link);
      },
      down(link, reason) {
        inSync = false;
        if (pendingMerge?.link === link) pendingMerge = null;
        log.warn({ peer: link.peerId, reason }, 'peer link down');
      },
      message: (link, msg, decoded) => {
        // One message at a time, in arrival order: a transaction must see the store its predecessor left.
        handling = handling
          .then(() => onMessage(link, msg, decoded.digest))
          .catch((err: Error) => {
            log.error({ err, peer: link.peerId, t: msg.t }, 'applying a peer message failed; asking for a snapshot');
            if (links.link === link) want(link);
          });
      },
    },
  );

  async function onMessage(link: PeerLink, msg: PeerMessage, digest: string | undefined): Promise<void> {
    switch (msg.t) {
      case 'announce':
        return onAnnounce(link, msg.generation, msg.hash);
      case 'tx':
        return onTx(link, msg.generation, msg.ops, msg.hash, msg.at);
      case 'snapshot':
        if ((await onSnapshot(link, msg.state, msg.hash, msg.history, digest)) === 'held') return;
        return announce(link); // acknowledges (or, refused, tells the peer where we stand)
      case 'want-changes':
        return link.send({ t: 'changes', since: msg.since, upTo: store.generation, keys: changedKeys(msg.since) });
      case 'changes':
        if (await onChanges(link, msg.since, msg.upTo, msg.keys)) announce(link);
        return;
      case 'want':
        return sendSnapshot(link);
      case 'persist':
        dataplane?.importPersistence?.(msg.entries);
        return;
      default:
        return; // handshake frames after authentication: ignored
    }
  }

  function onAnnounce(link: PeerLink, generation: number, hash: string): void {
    if (!plausible(generation, 'announce')) {
      inSync = false;
      return;
    }
    peerGeneration = generation;
    peerHash = hash;
    const mine = { generation: store.generation, hash: stateDigest(store.state) };
    if (generation === mine.generation && hash === mine.hash) return agreed(generation);
    const peerWins = generation > mine.generation || (generation === mine.generation && hash > mine.hash);
    if (peerWins) {
      log.info({ peerGeneration: generation, generation: mine.generation }, 'peer is ahead: catching up');
      return;
    }
    const missing = hashes.get(generation) === hash ? store.since(generation) : null;
    if (missing) for (const c of missing) sendTx(link, c);
    else sendSnapshot(link);
    agreed(mine.generation);
  }

  async function onTx(link: PeerLink, generation: number, rawOps: readonly StateOp[], hash: string, at: number): Promise<void> {
    if (!plausible(generation, 'transaction')) return;
    peerGeneration = generation;
    peerHash = hash;
    if (pendingMerge) {
      // The winner moved on while we held its snapshot for the merge: start over from a fresh one.
      pendingMerge = null;
      return want(link);
    }
    if (generation <= store.generation) {
      // Either we diverged (settled the announce way) or we hold it already: a resend after the link was replaced,
      // the acknowledgement of the first copy gone with the old link. Both need our announce, or the sender never
      // learns that we have it and the pair never reads "in sync".
      announce(link);
      return;
    }
    if (generation !== store.generation + 1) return want(link);
    const ops = rawOps.filter((o) => !DAEMON_OPS.has(o.op));
    await store.apply(ops, 'peer');
    lastApplyLagMs = Math.max(0, Date.now() - at);
    if (stateDigest(store.state) !== hash) {
      log.warn({ generation }, 'state digest differs from the peer after applying its transaction');
      return want(link);
    }
    agreed(generation);
    announce(link); // acknowledges, so the sender knows the pair is in sync
  }

  /** The last generation at which both nodes held the same document, by digest; else the last one agreed on a link. */
  function commonPoint(theirs: ReadonlyArray<readonly [number, string]>): number {
    let best = -1;
    for (const [g, h] of theirs) if (g > best && hashes.get(g) === h) best = g;
    return best >= 0 ? best : lastAgreed;
  }

  async function onSnapshot(
    link: PeerLink,
    state: DesiredState,
    hash: string,
    theirHistory: ReadonlyArray<readonly [number, string]>,
    digest: string | undefined,
    // biome-ignore lint/suspicious/noConfusingVoidType: the branches return install()'s Promise<void> as is.
  ): Promise<void | 'held'> {
    if (!plausible(state.generation, 'snapshot')) return;
    // Only a snapshot that wins by the announce rule is installed (or one we asked for, which may carry our own
    // generation): a late or replayed one must not roll the table back.
    const mine = { generation: store.generation, hash: stateDigest(store.state) };
    const wins = state.generation > mine.generation || (state.generation === mine.generation && (hash > mine.hash || wanted));
    if (!wins) {
      refusedSnapshots++;
      limited.warn(
        'snapshot',
        { code: 'VSD_ERR_PEER_GENERATION', peerGeneration: state.generation, generation: mine.generation, refused: refusedSnapshots },
        'peer snapshot refused: it does not win over our document (lower generation, or equal and not asked for)',
      );
      return;
    }
    wanted = false;
    const incoming: DesiredState = { ...state, syncDaemons: structuredClone(store.state.syncDaemons) };
    const actual = digest ?? stateDigest(incoming);
    if (actual !== hash) {
      log.warn({ generation: incoming.generation, hash, actual, code: 'VSD_ERR_BAD_MESSAGE' }, 'peer snapshot refused: its content does not match its digest');
      return;
    }
    knownDigest(incoming, actual);
    const common = commonPoint(theirHistory);
    const local = store.since(common);
    if (local === null) {
      // Our journal does not reach back to the common point (a restart, or more transactions than it keeps): what we
      // changed cannot be told transaction by transaction. Keep each key where we hold a value the winner does not
      // (an entry per key, so the operator replays them one by one), then take the winner's document. Keys we lack
      // are left out: our deletion and the winner's addition cannot be told apart, and replaying one would delete.
      const patch = diffStates(incoming, store.state, [{ op: 'clear' }]);
      const now = Date.now();
      const kept = Object.entries(patch)
        .filter(([, ours]) => ours !== null)
        .map(([key, ours]) => ({
          id: record.newId(),
          recordedAt: now,
          generation: store.generation,
          origin: 'unknown',
          at: now,
          ops: [],
          reason: `this side's journal does not reach back to the last common generation ${common} (restarted since?): our value differs from the peer's`,
          keys: [{ key, ours, theirs: keyValue(incoming, key) }],
          patch: { [key]: ours },
        }));
      await install(incoming);
      if (kept.length) await keepDivergence({ reapplied: [], kept, empty: [] }, incoming.generation, common);
      return;
    }
    const divergent = local.filter((c) => c.origin !== 'peer');
    if (!divergent.length) return install(incoming);
    // A divergence: ask the winner which keys it changed since the common point before anything is installed, so a
    // link lost meanwhile loses nothing (the next link starts over).
    pendingMerge = { link, incoming, common, divergent };
    link.send({ t: 'want-changes', since: common });
    return 'held';
  }

  async function install(incoming: DesiredState): Promise<void> {
    await store.install(incoming, 'peer', { owned: true });
    agreed(incoming.generation);
  }

  /** The winner's answer to want-changes: merge our divergent transactions on top of its document. */
  async function onChanges(link: PeerLink, since: number, upTo: number, keys: string[] | null): Promise<boolean> {
    const p = pendingMerge;
    // The keys must cover exactly the document held: an answer to an older request is stale (a newer one follows).
    if (!p || p.link !== link || p.common !== since || upTo !== p.incoming.generation) return false;
    pendingMerge = null;
    await install(p.incoming);
    const outcome = await mergeDivergent(p.divergent, keys ? new Set(keys) : null, store, () => record.newId());
    await keepDivergence(outcome, p.incoming.generation, since);
    return true;
  }

  async function keepDivergence(outcome: MergeOutcome, winnerGeneration: number, common: number): Promise<void> {
    divergences++;
    await record.add(outcome.kept);
    const brief = (c: { generation: number; origin: string; at: number; ops: readonly StateOp[] }) => ({
      generation: c.generation,
      origin: c.origin,
      at: new Date(c.at).toISOString(),
      ops: c.ops,
    });
    log.warn(
      {
        code: 'VSD_DIVERGENCE',
        common,
        winnerGeneration,
        reapplied: outcome.reapplied.map(brief),
        kept: outcome.kept.map((e) => ({ id: e.id, ...brief(e), reason: e.reason, keys: e.keys.map((k) => k.key) })),
        empty: outcome.empty.map((c) => c.generation),
      },
      outcome.kept.length
        ? 'partition healed: the peer had the higher generation; our changes that do not conflict were re-applied, the others are kept (vsctl sync --divergence)'
        : 'partition healed: the peer had the higher generation; all our changes were re-applied on top of it',
    );
  }

  /** The winner side of a merge: the keys this side changed after `since` (null: the journal does not tell). */
  function changedKeys(since: number): string[] | null {
    const entries = store.since(since);
    if (!entries || entries.some((e) => !e.patch)) return null;
    const keys = new Set<string>();
    for (const e of entries) for (const k of Object.keys(e.patch!)) keys.add(k);
    return [...keys];
  }

  /** Replay divergence entries (all when `ids` is empty) on the current document; each replayed entry leaves the record. */
  async function replayDivergence(ids: readonly string[]): Promise<Array<{ id: string; ok: boolean; generation?: number; error?: string }>> {
    // On the BACKUP a replay is allowed because it reaches the MASTER at once; with the link down it would only make
    // this node diverge again.
    if (role === 'backup' && !(links.link && inSync))
      throw new HaStateError(
        'replay-divergence',
        'BACKUP and not in sync with its peer',
        `run it on the MASTER${master ? ` (${master})` : ''}, or here once \`vsctl sync\` says in sync`,
      );
    const chosen = ids.length ? ids.map((id) => record.get(id) ?? id) : [...record.list()];
    const results: Array<{ id: string; ok: boolean; generation?: number; error?: string }> = [];
    for (const e of chosen) {
      if (typeof e === 'string') {
        results.push({ id: e, ok: false, error: 'no such divergence entry' });
        continue;
      }
      try {
        const ops = e.patch ? patchToOps(e.patch, store.state) : e.ops.filter((o) => !DAEMON_OPS.has(o.op));
        const change = await store.apply(ops, 'replay');
        await record.remove([e.id]);
        results.push({ id: e.id, ok: true, generation: change.generation });
        log.info({ id: e.id, generation: change.generation, keys: e.keys.map((k) => k.key) }, 'divergence entry replayed');
      } catch (err) {
        results.push({ id: e.id, ok: false, error: (err as Error).message });
      }
    }
    return results;
  }

  function sendTx(link: PeerLink, change: Omit<StateChange, 'state'>): void {
    link.send({
      t: 'tx',
      generation: change.generation,
      ops: change.ops as unknown[],
      hash: hashes.get(change.generation) ?? '',
      at: change.at,
    });
  }

  function pushPersistence(): void {
    if (!links.link || !dataplane?.exportPersistence) return;
    // The proxy's epoll engine answers from its own thread, so the export may be a promise.
    void Promise.resolve(dataplane.exportPersistence()).then(sendPersistence, (err: unknown) => log.warn({ err }, 'persistence export failed'));
  }

  function sendPersistence(entries: readonly PersistenceEntry[]): void {
    const link = links.link;
    if (!link) return;
    const fresh: PersistenceEntry[] = [];
    for (const e of entries) {
      const k = `${e.service}|${e.client}`;
      const v = `${e.dest}|${e.expiresAt}`;
      if (sentPersist.get(k) === v) continue;
      sentPersist.set(k, v);
      fresh.push(e);
    }
    if (fresh.length) link.send({ t: 'persist', entries: fresh });
    if (sentPersist.size > 200_000) sentPersist.clear();
  }

  return {
    async start() {
      unsubs.push(
        store.addValidator((_next, ops, origin) => {
          // The heal's re-applied transactions and an operator's replay are allowed on the BACKUP: both replicate to
          // the MASTER at once (the pair is linked and in sync when they run).
          if (role !== 'backup' || origin === 'peer' || origin === 'ha' || origin === 'merge' || origin === 'replay') return;
          if (ops.length === 0) return;
          throw new NotMasterError('BACKUP', master);
        }),
      );
      unsubs.push(
        store.subscribe((change) => {
          remember(change.generation, stateDigest(change.state));
          if (change.origin === 'peer') return;
          const link = links.link;
          if (!(link && inSync)) {
            const h = hashes.get(lastAgreed);
            if (h) mark.set({ generation: lastAgreed, hash: h });
          }
          if (link && inSync) sendTx(link, change);
          else if (link) announce(link);
        }),
      );
      const port = await links.start();
      persistTimer = setInterval(pushPersistence, options.persistIntervalMs ?? 200);
      persistTimer.unref();
      log.info({ port, peer: options.peer ?? null }, 'peer sync started');
      return { port };
    },
    async stop() {
      if (persistTimer) clearInterval(persistTimer);
      for (const u of unsubs.splice(0)) u();
      await links.stop();
    },
    divergence: () => record.list(),
    replayDivergence,
    async dropDivergence(ids) {
      const gone = ids.length ? ids.filter((id) => record.get(id)) : record.list().map((e) => e.id);
      await record.remove(gone);
      if (gone.length) log.info({ ids: gone }, 'divergence entries dropped');
      return gone.length;
    },
    setRole(next, currentMaster = null) {
      role = next;
      master = currentMaster;
    },
    status() {
      return {
        id: options.id,
        peer: options.peer ?? null,
        peerId: links.link?.peerId ?? null,
        connected: links.link !== null,
        // Equal generations are not enough: the content digests must agree too.
        inSync: links.link !== null && inSync && peerGeneration === store.generation && peerHash === stateDigest(store.state),
        digest: stateDigest(store.state),
        peerDigest: peerHash,
        refusedGenerations,
        refusedSnapshots,
        role,
        generation: store.generation,
        peerGeneration,
        lastApplyLagMs,
        lastSyncAt,
        divergences,
        divergenceEntries: record.list().length,
        badFrames: links.stats.badFrames,
        authFailures: links.stats.authFailures,
        refused: { ...links.stats.refused },
        pendingConnections: links.stats.pending,
        lastError: links.stats.lastError,
      };
    },
  };
}

export type { StateOp };
