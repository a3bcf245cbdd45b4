/**
 * The metrics listener's /metrics: node_exporter's ipvs collector names and labels (so the dashboards built for
 * node_exporter work unchanged), then vsd's own series: per service and real server counters and weights with the
 * reason a weight is lowered, VRRP, health checks, agents and their storage, peer sync, and the proxy's counters.
 * Every series is listed in docs/metrics.md; a name or label change there is a breaking change for dashboards.
 */
import { isFwmark, mountProblem, SERVICE_COUNTER_SERIES, type Counters, type DataplaneService } from '@vsd/core';
import { Exposition, type Labels } from './exposition.js';
import type { Snapshot } from './snapshot.js';

export interface RenderOptions {
  /** Export node_exporter's node_ipvs_* names too (off when node_exporter's own ipvs collector scrapes this host). */
  nodeIpvs: boolean;
}

export const VRRP_STATES = ['INIT', 'BACKUP', 'MASTER', 'FAULT', 'STOP'] as const;
export const AGENT_STATES = ['up', 'drained', 'silent', 'pending'] as const;
export const SYNC_ROLES = ['master', 'backup', 'fault', 'none'] as const;
export const WITNESS_QUORUM = ['allowed', 'contending', 'no-quorum'] as const;

export function renderPrometheus(snap: Snapshot, options: RenderOptions): string {
  const x = new Exposition();
  if (options.nodeIpvs) nodeIpvs(x, snap);
  general(x, snap);
  services(x, snap);
  vrrp(x, snap);
  witness(x, snap);
  health(x, snap);
  agents(x, snap);
  sync(x, snap);
  bgp(x, snap);
  proxy(x, snap);
  return x.render();
}

/** node_exporter collector/ipvs_linux.go: unlabelled global totals and per-backend gauges with six labels. */
function nodeIpvs(x: Exposition, snap: Snapshot): void {
  const totals = snap.ipvsTotals ?? sumCounters(snap);
  x.counter('node_ipvs_connections_total', 'Connections scheduled, all virtual services (IPVS global totals).').add({}, totals.conns);
  x.counter('node_ipvs_incoming_packets_total', 'Packets from clients, all virtual services.').add({}, totals.inPkts);
  x.counter('node_ipvs_outgoing_packets_total', 'Packets to clients, all virtual services.').add({}, totals.outPkts);
  x.counter('node_ipvs_incoming_bytes_total', 'Bytes from clients, all virtual services.').add({}, totals.inBytes);
  x.counter('node_ipvs_outgoing_bytes_total', 'Bytes to clients, all virtual services.').add({}, totals.outBytes);
  const active = x.gauge('node_ipvs_backend_connections_active', 'Active connections (ActiveConn) per virtual service and real server.');
  const inactive = x.gauge('node_ipvs_backend_connections_inactive', 'Inactive connections (InActConn) per virtual service and real server.');
  const weight = x.gauge('node_ipvs_backend_weight', 'Weight of the real server as programmed in the dataplane (the effective weight).');
  const byKey = new Map(snap.table.map((t) => [t.key, t]));
  for (const svc of snap.status) {
    const entry = byKey.get(svc.key);
    if (!entry) continue;
    const programmed = new Map(entry.dests.map((d) => [d.key, d]));
    for (const d of svc.dests) {
      const dest = programmed.get(d.key);
      if (!dest) continue;
      const labels = backendLabels(entry, dest.address, dest.port);
      active.add(labels, d.activeConns);
      inactive.add(labels, d.inactiveConns);
      weight.add(labels, dest.effectiveWeight);
    }
  }
}

/** The label values node_exporter derives from /proc/net/ip_vs, in its label order. */
export function backendLabels(entry: DataplaneService, remoteAddress: string, remotePort: number): Labels {
  const s = entry.service;
  if (isFwmark(s))
    return {
      local_address: '',
      local_port: '0',
      remote_address: remoteAddress,
      remote_port: String(remotePort),
      proto: 'FWM',
      // The kernel prints the mark as %08X.
      local_mark: s.fwmark.toString(16).toUpperCase().padStart(8, '0'),
    };
  return {
    local_address: s.address,
    local_port: String(s.port),
    remote_address: remoteAddress,
    remote_port: String(remotePort),
    proto: s.protocol.toUpperCase(),
    local_mark: '',
  };
}

function sumCounters(snap: Snapshot): { conns: number; inPkts: number; outPkts: number; inBytes: number; outBytes: number } {
  const t = { conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0 };
  for (const s of snap.status) {
    t.conns += s.counters.conns;
    t.inPkts += s.counters.inPkts;
    t.outPkts += s.counters.outPkts;
    t.inBytes += s.counters.inBytes;
    t.outBytes += s.counters.outBytes;
  }
  return t;
}

function general(x: Exposition, snap: Snapshot): void {
  x.gauge('vsd_info', 'Constant 1; labels name this dispatcher, its dataplane and engine.').add(
    { node: snap.node, dataplane: snap.dataplane, engine: snap.info?.engine ?? '' },
    1,
  );
  x.gauge('vsd_generation', 'Generation of the desired-state document.').add({}, snap.generation);
  const up = x.gauge('vsd_metrics_source_up', '1 when the source answered this scrape, 0 when it failed; absent sources (not configured) are not listed.');
  for (const [source, state] of Object.entries(snap.sources)) if (state !== 'absent') up.add({ source }, state === 'ok' ? 1 : 0);
}

type Sample = number | boolean | null | undefined;

/**
 * Families that each take one value of the same record (a service's counters, the agent hub's): declared here, before
 * the record is known to exist, so they are printed even without samples; the function returned adds one sample to
 * each family from one record.
 */
function fromRecord<R>(
  x: Exposition,
  type: 'counter' | 'gauge',
  rows: ReadonlyArray<readonly [name: string, help: string, read: (r: R) => Sample]>,
): (labels: Labels, r: R) => void {
  const families = rows.map(([name, help, read]) => [x.family(name, type, help), read] as const);
  return (labels, r) => {
    for (const [f, read] of families) f.add(labels, read(r));
  };
}

function ipvsCounters(x: Exposition, prefix: string, per: string): (labels: Labels, c: Counters) => void {
  return fromRecord<Counters>(
    x,
    'counter',
    SERVICE_COUNTER_SERIES.map(([suffix, field, help]) => [`${prefix}${suffix}`, `${help} ${per}`, (c) => c[field]] as const),
  );
}

function services(x: Exposition, snap: Snapshot): void {
  const svcCounters = ipvsCounters(x, 'vsd_service_', 'Per virtual service.');
  const rsCounters = ipvsCounters(x, 'vsd_real_server_', 'Per real server.');
  const cps = x.gauge('vsd_service_connections_per_second', 'Connection rate, 2-second average as IPVS estimates it.');
  const inBps = x.gauge('vsd_service_in_bytes_per_second', 'Bytes from clients per second, 2-second average.');
  const outBps = x.gauge('vsd_service_out_bytes_per_second', 'Bytes to clients per second, 2-second average.');
  const active = x.gauge('vsd_real_server_active_connections', 'Active connections (ActiveConn).');
  const inactive = x.gauge('vsd_real_server_inactive_connections', 'Inactive connections (InActConn).');
  const persistent = x.gauge('vsd_real_server_persistent_connections', 'Persistence templates pointing at the real server (PersistConn).');
  for (const svc of snap.status) {
    svcCounters({ service: svc.key }, svc.counters);
    cps.add({ service: svc.key }, svc.counters.cps);
    inBps.add({ service: svc.key }, svc.counters.inBps);
    outBps.add({ service: svc.key }, svc.counters.outBps);
    for (const d of svc.dests) {
      const labels = { service: svc.key, real_server: d.key };
      rsCounters(labels, d.counters);
      active.add(labels, d.activeConns);
      inactive.add(labels, d.inactiveConns);
      persistent.add(labels, d.persistConns);
    }
  }

  const weight = x.gauge('vsd_real_server_weight', 'Configured weight (desired state; 0 = quiesced by the operator).');
  const effective = x.gauge(
    'vsd_real_server_effective_weight',
    'Effective weight: configured x the factors of health, agent and storage; 0 while removed or replaced by the sorry server.',
  );
  const factor = x.gauge(
    'vsd_real_server_weight_factor',
    'Factor (0..1) one source applies to the configured weight; only sources that say something are listed.',
  );
  const removed = x.gauge(
    'vsd_real_server_removed',
    '1 while a source (a failed health check without inhibit_on_failure) keeps the real server out of the dataplane.',
  );
  const sorry = x.gauge('vsd_service_sorry_server_active', '1 while the sorry server replaces the real servers (quorum lost).');
  const count = x.gauge('vsd_service_real_servers', 'Real servers configured for the virtual service.');
  for (const svc of snap.realServers) {
    sorry.add({ service: svc.key }, svc.sorryServer ? 1 : 0);
    count.add({ service: svc.key }, svc.realServers.length);
    for (const rs of svc.realServers) {
      const labels = { service: svc.key, real_server: rs.key };
      weight.add(labels, rs.weight);
      effective.add(labels, rs.effectiveWeight);
      removed.add(labels, rs.removed);
      for (const [source, a] of Object.entries(rs.sources)) factor.add({ ...labels, source }, a.factor);
    }
  }
}

function vrrp(x: Exposition, snap: Snapshot): void {
  const state = x.gauge('vsd_vrrp_state', 'VRRP state of the instance: 1 for the current state, 0 for the others.');
  const priority = x.gauge('vsd_vrrp_priority', 'Current VRRP priority (after tracked interfaces and scripts).');
  const base = x.gauge('vsd_vrrp_base_priority', 'Configured VRRP priority.');
  const advertised = x.gauge('vsd_vrrp_advertised_priority', 'Priority in the adverts this node sends (0 while resigning).');
  const interval = x.gauge('vsd_vrrp_advert_interval_seconds', 'Configured advertisement interval.');
  const vips = x.gauge('vsd_vrrp_vips_held', 'Virtual IP addresses this node holds now.');
  const transitions = x.counter('vsd_vrrp_transitions_total', 'VRRP state transitions since start.');
  const lastTransition = x.gauge('vsd_vrrp_last_transition_timestamp_seconds', 'Time of the last VRRP state transition.');
  const adverts = fromRecord<Snapshot['vrrp'][number]['counters']>(x, 'counter', [
    ['vsd_vrrp_adverts_sent_total', 'VRRP advertisements sent.', (c) => c.advertsSent],
    ['vsd_vrrp_adverts_received_total', 'VRRP advertisements received and accepted.', (c) => c.advertsReceived],
    ['vsd_vrrp_priority_zero_sent_total', 'Priority-0 advertisements sent (this node gave up mastership).', (c) => c.priorityZeroSent],
    ['vsd_vrrp_priority_zero_received_total', 'Priority-0 advertisements received (the master gave up).', (c) => c.priorityZeroReceived],
  ]);
  const dropped = x.counter('vsd_vrrp_adverts_dropped_total', 'VRRP packets dropped, by reason.');
  const announcements = x.counter('vsd_vrrp_announcements_sent_total', 'Gratuitous ARP and unsolicited neighbour advertisements sent.');
  const errors = x.counter('vsd_vrrp_errors_total', 'Send and address errors of the VRRP instance.');
  const hold = x.gauge('vsd_vrrp_operator_hold', '1 while an operator hold (vsctl failover = resign, vsctl takeover) is in force.');
  for (const v of snap.vrrp) {
    // Not `instance`: Prometheus gives that label to the scrape target and would rename ours to exported_instance.
    const l = { vrrp_instance: v.instance, vrid: v.vrid, interface: v.interface };
    state.addStateSet(l, 'state', VRRP_STATES, v.state);
    priority.add(l, v.priority);
    base.add(l, v.basePriority);
    advertised.add(l, v.advertisedPriority);
    interval.add(l, v.advertIntervalCs / 100);
    vips.add(l, v.vipsHeld.length);
    transitions.add(l, v.counters.transitions);
    if (v.lastTransition) lastTransition.add(l, v.lastTransition.at / 1000);
    adverts(l, v.counters);
    for (const [reason, n] of Object.entries(v.counters.dropped)) dropped.add({ ...l, reason }, n);
    announcements.add(l, v.counters.announcementsSent);
    errors.add(l, v.counters.errors);
    hold.add({ ...l, hold: 'resign' }, v.holds.resign);
    hold.add({ ...l, hold: 'takeover' }, v.holds.takeover);
  }
}

/** The split-brain guard (absent when off): per VRID its quorum and votes, per witness whether it is reached. */
function witness(x: Exposition, snap: Snapshot): void {
  const w = snap.witness;
  if (!w) return;
  const quorum = x.gauge(
    'vsd_witness_quorum',
    'Split-brain guard per VRID: allowed (may be MASTER), contending (witnesses answer, votes held elsewhere), no-quorum.',
  );
  const held = x.gauge('vsd_witness_votes_held', 'Agent witness votes (leases) this dispatcher holds for the VRID.');
  const needed = x.gauge('vsd_witness_votes_needed', 'Agent witness votes needed to be MASTER (a majority of the configured agents).');
  const agentUp = x.gauge('vsd_witness_agent_connected', '1 while the agent witness is connected and can vote.');
  const gatewayUp = x.gauge('vsd_witness_gateway_reached', '1 while the gateway witness answered within the lease.');
  const lease = x.gauge('vsd_witness_lease_seconds', 'How long a witness vote lasts without renewal.');
  lease.add({}, w.leaseMs / 1000);
  for (const i of w.instances) {
    quorum.addStateSet({ vrid: i.vrid }, 'quorum', WITNESS_QUORUM, i.quorum);
    held.add({ vrid: i.vrid }, i.votesHeld.length);
    needed.add({ vrid: i.vrid }, i.votesNeeded);
  }
  for (const a of w.agents) agentUp.add({ agent: a.agent }, a.connected);
  for (const g of w.gateways) gatewayUp.add({ gateway: g.address }, g.reached);
}

function health(x: Exposition, snap: Snapshot): void {
  const up = x.gauge('vsd_health_real_server_up', '1 while every health check of the real server passes.');
  const transitions = x.counter('vsd_health_real_server_transitions_total', 'Up/down transitions of the real server since start.');
  const failures = x.counter('vsd_health_real_server_failures_total', 'Failed health checks of the real server.');
  const healthWeight = x.gauge('vsd_health_real_server_weight', 'Weight the health checks allow (configured, lowered by a dynamic weight; 0 while down).');
  const checkUp = x.gauge('vsd_health_check_up', '1 while this check of the real server passes.');
  const checks = x.counter('vsd_health_checks_total', 'Checks run.');
  const checkFailures = x.counter('vsd_health_check_failures_total', 'Checks failed.');
  const duration = x.gauge('vsd_health_check_duration_seconds', 'Duration of the last check.');
  const quorumUp = x.gauge('vsd_health_quorum_up', '1 while the live weight of the virtual service meets its quorum.');
  const weightSum = x.gauge('vsd_health_quorum_live_weight', "Sum of the live real servers' weights, compared with the quorum.");
  const quorum = x.gauge('vsd_health_quorum', 'Configured quorum of the virtual service.');
  for (const svc of snap.health?.services ?? []) {
    quorumUp.add({ service: svc.key }, svc.quorum.up);
    weightSum.add({ service: svc.key }, svc.quorum.weightSum);
    quorum.add({ service: svc.key }, svc.quorum.quorum);
    for (const rs of svc.realServers) {
      const l = { service: svc.key, real_server: rs.key };
      up.add(l, rs.state === 'up');
      transitions.add(l, rs.transitions);
      failures.add(l, rs.failures);
      healthWeight.add(l, rs.healthWeight);
      for (const c of rs.checkers) {
        const cl = { ...l, check: c.name, kind: c.kind };
        checkUp.add(cl, c.state === 'up');
        checks.add(cl, c.checks);
        checkFailures.add(cl, c.failures);
        if (c.last) duration.add(cl, c.last.durationMs / 1000);
      }
    }
  }
}

function agents(x: Exposition, snap: Snapshot): void {
  const connected = x.gauge('vsd_agent_connected', '1 while the agent holds an authenticated connection.');
  const state = x.gauge('vsd_agent_state', 'Verdict on the agent: 1 for the current state (up, drained, silent, pending), 0 for the others.');
  const weight = x.gauge('vsd_agent_weight_ratio', 'Share of the effective weight the agent asks for (its weightPct / 100).');
  const load = x.gauge('vsd_agent_load_per_core', 'Reported 1-minute load average divided by the CPUs.');
  const cpu = x.gauge('vsd_agent_cpu_busy_ratio', 'Reported busy CPU fraction.');
  const memory = x.gauge('vsd_agent_memory_used_ratio', 'Reported memory in use (1 - MemAvailable / MemTotal).');
  const conns = x.gauge('vsd_agent_tcp_connections', 'Reported established TCP connections on the real server.');
  const age = x.gauge('vsd_agent_last_report_age_seconds', "Seconds since the agent's last report.");
  const interval = x.gauge('vsd_agent_report_interval_seconds', 'Report interval the agent announced.');
  const maintenance = x.gauge('vsd_agent_maintenance', '1 while the agent reports maintenance (its maintenance file exists).');
  const probe = x.gauge('vsd_agent_service_probe_up', "1 while the agent's local probe of its service passes.");
  const badFrames = x.counter('vsd_agent_bad_frames_total', 'Invalid frames from the agent.');
  const storageOk = x.gauge('vsd_agent_storage_ok', '1 while the watched mount is healthy (mounted as expected, responsive, writable).');
  const storageProblems = x.gauge('vsd_agent_storage_problems', "Storage problems that drain the agent's real servers (mounts and sentinel mismatches).");
  const hub = fromRecord<NonNullable<Snapshot['agents']>['counters']>(x, 'counter', [
    ['vsd_agents_connections_accepted_total', 'Agent connections authenticated.', (c) => c.accepted],
    ['vsd_agents_connections_refused_total', 'Agent connections refused (bad key, unknown agent).', (c) => c.refused],
    ['vsd_agents_bad_frames_total', 'Invalid frames from all agents.', (c) => c.badFrames],
    ['vsd_agents_closed_for_bad_frames_total', 'Agent connections closed for too many invalid frames.', (c) => c.closedForBadFrames],
    ['vsd_agents_claims_refused_total', '(agent, real server) claims refused: the agent may not speak for that real server.', (c) => c.claimsRefused ?? 0],
    ['vsd_agents_forgotten_total', 'Agent records dropped (silent past forget_after, or making room at max_agents).', (c) => c.forgotten ?? 0],
    ['vsd_agents_refused_full_total', 'New agent names refused at max_agents.', (c) => c.refusedFull ?? 0],
    ['vsd_agents_refused_busy_total', 'Connections closed at accept because max_preauth were unauthenticated.', (c) => c.refusedBusy ?? 0],
  ]);
  const preAuth = x.gauge('vsd_agents_preauth_connections', 'Connections accepted and not authenticated yet.');
  const refusedClaims = x.gauge('vsd_agent_refused_claims', 'Real servers at an address the agent claims that it may not speak for.');
  const a = snap.agents;
  if (!a) return;
  hub({}, a.counters);
  preAuth.add({}, a.preAuth ?? 0);
  for (const ag of a.agents) {
    const l = { agent: ag.agent };
    connected.add(l, ag.connected);
    state.addStateSet(l, 'state', AGENT_STATES, ag.state);
    if (ag.weightPct !== null) weight.add(l, ag.weightPct / 100);
    if (ag.ageMs !== null) age.add(l, ag.ageMs / 1000);
    interval.add(l, ag.interval);
    badFrames.add(l, ag.badFrames);
    refusedClaims.add(l, ag.refusedClaims?.length ?? 0);
    storageProblems.add(l, ag.storageProblems.length);
    const r = ag.report;
    if (!r) continue;
    load.add(l, r.load.loadPerCore);
    cpu.add(l, r.load.cpu);
    memory.add(l, r.load.memory);
    conns.add(l, r.load.connections);
    maintenance.add(l, r.maintenance);
    if (r.service) probe.add(l, r.service.ok);
    for (const m of r.mounts) storageOk.add({ ...l, mount: m.path, group: m.group }, mountProblem(m) === null);
  }
}

function sync(x: Exposition, snap: Snapshot): void {
  const connected = x.gauge('vsd_sync_connected', '1 while the authenticated peer-sync link is up.');
  const inSync = x.gauge('vsd_sync_in_sync', '1 while both dispatchers hold the same desired state (same generation and digest).');
  const generation = x.gauge('vsd_sync_generation', "Generation of this dispatcher's desired state.");
  const peerGeneration = x.gauge('vsd_sync_peer_generation', 'Generation the peer announced last.');
  const lag = x.gauge('vsd_sync_generation_lag', 'Generations between the two dispatchers (absolute difference).');
  const applyLag = x.gauge('vsd_sync_apply_lag_seconds', "Time from the peer's commit of the last replicated transaction to its application here.");
  const last = x.gauge('vsd_sync_last_sync_timestamp_seconds', 'Time the two dispatchers were last seen in sync.');
  const role = x.gauge('vsd_sync_role', 'Peer-sync role taken from VRRP: 1 for the current role, 0 for the others.');
  const counters = fromRecord<NonNullable<Snapshot['sync']>>(x, 'counter', [
    ['vsd_sync_divergences_total', 'Times the two desired states were found to differ and a snapshot was exchanged.', (s) => s.divergences],
    ['vsd_sync_bad_frames_total', 'Invalid frames on the peer link.', (s) => s.badFrames],
    ['vsd_sync_auth_failures_total', 'Failed peer handshakes.', (s) => s.authFailures],
  ]);
  const s = snap.sync;
  if (!s) return;
  connected.add({}, s.connected);
  inSync.add({}, s.inSync);
  generation.add({}, s.generation);
  if (s.peerGeneration !== null) {
    peerGeneration.add({}, s.peerGeneration);
    lag.add({}, Math.abs(s.generation - s.peerGeneration));
  }
  if (s.lastApplyLagMs !== null) applyLag.add({}, s.lastApplyLagMs / 1000);
  if (s.lastSyncAt !== null) last.add({}, s.lastSyncAt / 1000);
  role.addStateSet({}, 'role', SYNC_ROLES, s.role ?? 'none');
  counters({}, s);
}

function bgp(x: Exposition, snap: Snapshot): void {
  const b = snap.bgp;
  if (!b) return;
  x.gauge('vsd_bgp_daemon_up', '1 while the routing daemon (BIRD) answers on its control socket.').add({ daemon: b.daemon }, b.reachable === true);
  x.gauge('vsd_bgp_drained', '1 while vsctl bgp drain holds every VIP withdrawn.').add({}, b.drained);
  const announced = x.gauge('vsd_bgp_vip_announced', '1 while the routing daemon announces the VIP (0 withdrawn or unknown).');
  const servable = x.gauge('vsd_bgp_vip_servable', '1 while a virtual service on the VIP has a real server with weight > 0.');
  for (const v of b.vips) {
    announced.add({ vip: v.vip }, v.state === 'announced');
    servable.add({ vip: v.vip }, v.servable);
  }
  x.gauge('vsd_bgp_sessions_established', 'BGP sessions of the routing daemon in state Established.').add(
    {},
    b.sessions.filter((s) => s.info.startsWith('Established')).length,
  );
  x.gauge('vsd_bgp_sessions', 'BGP sessions configured in the routing daemon.').add({}, b.sessions.length);
  if (b.bfd.expected) x.gauge('vsd_bgp_bfd_sessions_up', 'BFD sessions up in the routing daemon (bgp.bfd).').add({}, b.bfd.up);
  fromRecord<BgpStatusCounters>(x, 'counter', [
    ['vsd_bgp_announcements_total', 'VIP announcements seen through (a VIP going to announced).', (c) => c.announcements],
    ['vsd_bgp_withdrawals_total', 'VIP withdrawals (health loss, drain, shutdown, removed from the list).', (c) => c.withdrawals],
    ['vsd_bgp_daemon_errors_total', 'Sync passes that failed: the routing daemon down, hung or refusing.', (c) => c.daemonErrors],
  ])({}, b.counters);
}

type BgpStatusCounters = NonNullable<Snapshot['bgp']>['counters'];

function proxy(x: Exposition, snap: Snapshot): void {
  const counters = fromRecord<NonNullable<Snapshot['proxy']>['counters']>(x, 'counter', [
    ['vsd_proxy_connect_failures_total', 'Connection attempts to a real server that were refused, reset or timed out.', (c) => c.connectFailures],
    ['vsd_proxy_retries_total', 'Connections moved to another real server after such a failure.', (c) => c.retries],
    ['vsd_proxy_no_destination_total', 'Connections or flows dropped because no real server was available.', (c) => c.noDestination],
  ]);
  const live = x.gauge('vsd_proxy_connections', 'Proxied connections and UDP flows alive now.');
  const threadAccepted = x.counter('vsd_proxy_thread_accepted_total', 'TCP connections accepted by each epoll engine thread.');
  const threadLive = x.gauge('vsd_proxy_thread_connections', 'TCP connections alive on each epoll engine thread.');
  const p = snap.proxy;
  if (!p) return;
  counters({}, p.counters);
  live.add({}, p.liveConnections);
  p.threads.forEach((t, i) => {
    threadAccepted.add({ thread: i }, t.accepted);
    threadLive.add({ thread: i }, t.connections);
  });
}
