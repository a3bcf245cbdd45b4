/**
 * What the status page shows (and GET /status.json returns): per virtual service its real servers with configured and
 * effective weight and why they differ, health, the agent's load and storage, counters and rates; the two
 * dispatchers' VRRP states; peer sync; agents. A pure function of a snapshot, so the page and its JSON cannot disagree.
 *
 * The peer's VRRP state is inferred, and the view says from what: a BACKUP hears the MASTER's adverts (its address is
 * the master address); a MASTER hears nothing from a healthy BACKUP (backups are silent in VRRP), so it reports the
 * peer as BACKUP only while peer sync shows the peer alive.
 */
import type { AgentStatus, CheckerStatus, Counters } from '@vsd/core';
import { mountProblem } from '@vsd/core';
import type { VrrpStatus } from '@vsd/ha';
import type { Snapshot } from './snapshot.js';

export type RealServerState = 'serving' | 'reduced' | 'drained' | 'removed' | 'quiesced' | 'sorry';

export interface RealServerRow {
  key: string;
  forwarding: string;
  weight: number;
  effectiveWeight: number;
  state: RealServerState;
  /** Why the effective weight is below the configured one: [who, what]. Empty when serving at full weight. */
  why: Array<{ source: string; reason: string }>;
  health: {
    state: 'up' | 'down';
    checker: string | null;
    reason: string;
    since: string;
    transitions: number;
    /** The most recent check of any of its checkers. */
    last: { checker: string; ok: boolean; reason: string; at: string; durationMs: number } | null;
  } | null;
  agent: {
    name: string;
    state: AgentStatus['state'];
    weightPct: number | null;
    loadPerCore: number | null;
    ageSeconds: number | null;
    storage: string[];
  } | null;
  activeConns: number;
  inactiveConns: number;
  counters: CounterView;
}

export interface CounterView {
  conns: number;
  inBytes: number;
  outBytes: number;
  connsPerSecond: number;
  inBytesPerSecond: number;
  outBytesPerSecond: number;
}

export interface ServiceRow {
  key: string;
  scheduler: string;
  sorryServer: string | null;
  quorum: { up: boolean; liveWeight: number; quorum: number } | null;
  activeConns: number;
  inactiveConns: number;
  counters: CounterView;
  realServers: RealServerRow[];
}

export interface DispatcherRow {
  which: 'this node' | 'peer';
  name: string;
  address: string | null;
  state: string;
  priority: number | null;
  /** Where the state comes from. */
  source: string;
  vips: string[];
}

export interface StatusView {
  generatedAt: string;
  node: string;
  dataplane: string;
  engine: string | null;
  generation: number;
  refresh: number;
  dispatchers: DispatcherRow[];
  sync: {
    connected: boolean;
    inSync: boolean;
    role: string;
    generation: number;
    peerGeneration: number | null;
    applyLagMs: number | null;
    lastError: string | null;
  } | null;
  services: ServiceRow[];
  agents: Array<{
    name: string;
    state: AgentStatus['state'];
    connected: boolean;
    weightPct: number | null;
    loadPerCore: number | null;
    ageSeconds: number | null;
    storage: string[];
    mounts: Array<{ path: string; problem: string | null }>;
    realServers: string[];
  }>;
  proxy: { connectFailures: number; retries: number; noDestination: number; liveConnections: number } | null;
  /** The BGP announcer; null without a `bgp:` section. */
  bgp: {
    daemon: string;
    reachable: boolean | null;
    error: string | null;
    drained: boolean;
    sessions: string;
    vips: Array<{ vip: string; state: string; reason: string }>;
  } | null;
  /** Sources that failed this time: the page says so instead of showing stale or empty data as fact. */
  failed: Record<string, string>;
}

export function buildStatusView(snap: Snapshot, refresh: number): StatusView {
  const status = new Map(snap.status.map((s) => [s.key, s]));
  const health = new Map((snap.health?.services ?? []).map((s) => [s.key, s]));
  const agentOf = new Map<string, AgentStatus>();
  for (const a of snap.agents?.agents ?? []) for (const m of a.realServers) agentOf.set(`${m.service}\n${m.server}`, a);

  const services: ServiceRow[] = snap.realServers.map((svc) => {
    const st = status.get(svc.key);
    const dests = new Map((st?.dests ?? []).map((d) => [d.key, d]));
    const h = health.get(svc.key);
    const hrs = new Map((h?.realServers ?? []).map((r) => [r.key, r]));
    const rows = svc.realServers.map((rs): RealServerRow => {
      const why: RealServerRow['why'] = [];
      if (rs.weight === 0) why.push({ source: 'operator', reason: 'quiesced: configured weight 0' });
      if (svc.sorryServer) why.push({ source: 'sorry server', reason: `quorum lost: ${svc.sorryServer} serves instead` });
      for (const [source, a] of Object.entries(rs.sources)) {
        if (a.factor >= 1 && !a.remove) continue;
        const text = a.reason ?? `factor ${a.factor}`;
        const reason = text.startsWith(`${source}: `) ? text.slice(source.length + 2) : text;
        why.push({ source, reason: a.remove ? `${reason} (removed from the dataplane)` : reason });
      }
      const d = dests.get(rs.key);
      const hr = hrs.get(rs.key);
      const ag = agentOf.get(`${svc.key}\n${rs.key}`);
      return {
        key: rs.key,
        forwarding: rs.forwarding,
        weight: rs.weight,
        effectiveWeight: rs.effectiveWeight,
        state: rowState(rs.weight, rs.effectiveWeight, rs.removed, svc.sorryServer !== null),
        why,
        // A real server without checks of its own is listed by the monitor as up: show it as unchecked.
        health:
          hr && hr.checkers.length > 0
            ? { state: hr.state, checker: hr.checker, reason: hr.reason, since: hr.since, transitions: hr.transitions, last: lastCheck(hr.checkers) }
            : null,
        agent: ag ? agentSummary(ag) : null,
        activeConns: d?.activeConns ?? 0,
        inactiveConns: d?.inactiveConns ?? 0,
        counters: counterView(d?.counters),
      };
    });
    return {
      key: svc.key,
      scheduler: svc.scheduler,
      sorryServer: svc.sorryServer,
      quorum: h ? { up: h.quorum.up, liveWeight: h.quorum.weightSum, quorum: h.quorum.quorum } : null,
      activeConns: (st?.dests ?? []).reduce((n, d) => n + d.activeConns, 0),
      inactiveConns: (st?.dests ?? []).reduce((n, d) => n + d.inactiveConns, 0),
      counters: counterView(st?.counters),
      realServers: rows,
    };
  });

  const s = snap.sync;
  return {
    generatedAt: new Date(snap.at).toISOString(),
    node: snap.node,
    dataplane: snap.dataplane,
    engine: snap.info?.engine ?? null,
    generation: snap.generation,
    refresh,
    dispatchers: dispatchers(snap),
    sync: s
      ? {
          connected: s.connected,
          inSync: s.inSync,
          role: s.role ?? 'none',
          generation: s.generation,
          peerGeneration: s.peerGeneration,
          applyLagMs: s.lastApplyLagMs,
          lastError: s.lastError,
        }
      : null,
    services,
    agents: (snap.agents?.agents ?? []).map((a) => ({
      ...agentSummary(a),
      connected: a.connected,
      mounts: (a.report?.mounts ?? []).map((m) => ({ path: m.path, problem: mountProblem(m) })),
      realServers: a.realServers.map((m) => `${m.service} ${m.server}`),
    })),
    proxy: snap.proxy
      ? {
          connectFailures: snap.proxy.counters.connectFailures,
          retries: snap.proxy.counters.retries,
          noDestination: snap.proxy.counters.noDestination,
          liveConnections: snap.proxy.liveConnections,
        }
      : null,
    bgp: snap.bgp
      ? {
          daemon: snap.bgp.daemon,
          reachable: snap.bgp.reachable,
          error: snap.bgp.error?.message ?? null,
          drained: snap.bgp.drained,
          sessions: `${snap.bgp.sessions.filter((x) => x.info.startsWith('Established')).length}/${snap.bgp.sessions.length} established`,
          vips: snap.bgp.vips.map((v) => ({ vip: v.vip, state: v.state, reason: v.reason })),
        }
      : null,
    failed: { ...snap.failed },
  };
}

function lastCheck(checkers: readonly CheckerStatus[]): NonNullable<RealServerRow['health']>['last'] {
  let best: NonNullable<RealServerRow['health']>['last'] = null;
  for (const c of checkers) if (c.last && (!best || c.last.at > best.at)) best = { checker: c.name, ...c.last };
  return best;
}

function rowState(weight: number, effective: number, removed: boolean, sorry: boolean): RealServerState {
  if (sorry) return 'sorry';
  if (removed) return 'removed';
  if (weight === 0) return 'quiesced';
  if (effective === 0) return 'drained';
  if (effective < weight) return 'reduced';
  return 'serving';
}

function agentSummary(a: AgentStatus) {
  return {
    name: a.agent,
    state: a.state,
    weightPct: a.weightPct,
    loadPerCore: a.report?.load.loadPerCore ?? null,
    ageSeconds: a.ageMs === null ? null : Math.round(a.ageMs / 100) / 10,
    storage: a.storageProblems,
  };
}

function counterView(c: Counters | undefined): CounterView {
  return {
    conns: c?.conns ?? 0,
    inBytes: c?.inBytes ?? 0,
    outBytes: c?.outBytes ?? 0,
    connsPerSecond: c?.cps ?? 0,
    inBytesPerSecond: c?.inBps ?? 0,
    outBytesPerSecond: c?.outBps ?? 0,
  };
}

function dispatchers(snap: Snapshot): DispatcherRow[] {
  const rows: DispatcherRow[] = [];
  const sync = snap.sync;
  if (snap.vrrp.length === 0) {
    rows.push({ which: 'this node', name: snap.node, address: null, state: 'no VRRP', priority: null, source: 'no ha: section', vips: [] });
    if (sync) rows.push(peerFromSync(sync.peerId ?? sync.peer ?? 'peer', sync.peer, sync.connected));
    return rows;
  }
  for (const v of snap.vrrp) {
    const instance = snap.vrrp.length > 1 ? ` (${v.instance})` : '';
    const w = snap.witness?.instances.find((i) => i.vrid === v.vrid);
    const guard = w
      ? `; witness ${w.quorum}${w.votesNeeded ? `, votes ${w.votesHeld.length}/${w.votesNeeded}` : ''}${v.contending ? ' (waiting for the votes to become MASTER)' : ''}`
      : '';
    rows.push({
      which: 'this node',
      name: `${snap.node}${instance}`,
      address: v.primaryAddress,
      state: v.state,
      priority: v.priority,
      source: `this node's VRRP instance${guard}`,
      vips: v.vipsHeld,
    });
    rows.push(peerRow(v, sync?.connected ?? null, sync?.peerId ?? sync?.peer ?? null, instance));
  }
  return rows;
}

function peerRow(v: VrrpStatus, syncUp: boolean | null, peerName: string | null, instance: string): DispatcherRow {
  const name = `${peerName ?? 'peer'}${instance}`;
  const master = v.masterAddress && v.masterAddress !== v.primaryAddress ? v.masterAddress : null;
  if (v.state !== 'MASTER' && master) return { which: 'peer', name, address: master, state: 'MASTER', priority: null, source: 'its VRRP adverts', vips: [] };
  if (v.state === 'MASTER') {
    if (syncUp)
      return { which: 'peer', name, address: null, state: 'BACKUP', priority: null, source: 'inferred: alive on peer sync, not advertising', vips: [] };
    return {
      which: 'peer',
      name,
      address: null,
      state: 'unknown',
      priority: null,
      source: syncUp === false ? 'no adverts heard, peer sync down' : 'no adverts heard (a BACKUP is silent), no peer sync configured',
      vips: [],
    };
  }
  return { which: 'peer', name, address: null, state: 'unknown', priority: null, source: 'no adverts heard', vips: [] };
}

function peerFromSync(name: string, address: string | null, connected: boolean): DispatcherRow {
  return { which: 'peer', name, address, state: connected ? 'peer sync up' : 'peer sync down', priority: null, source: 'peer sync (no VRRP here)', vips: [] };
}
