/**
 * A full snapshot for the metrics renderers: two virtual services (one fwmark), a real server at full weight, one
 * lowered by its agent, one drained by storage, one quiesced by the operator, one down by health; VRRP, peer sync,
 * health, agents (one with a hostile name) and proxy counters, as their status routes answer.
 */
import { buildTable, realServers, StateStore, WeightOverlay, zeroCounters, type AgentsStatus, type HealthStatus, type ServiceStatus } from '@vsd/core';
import type { PeerSyncStatus, VrrpStatus } from '@vsd/ha';
import type { Snapshot } from '../src/metrics/snapshot.js';

export const HOSTILE_AGENT = 'web-3"</td><script>alert(1)</script>\n{x="y"}\\';

export async function fixtureSnapshot(): Promise<Snapshot> {
  const store = await StateStore.open({ path: null });
  const rs = (address: string, weight: number) => ({
    address,
    port: 8080,
    forwarding: 'masq' as const,
    weight,
    upperThreshold: 0,
    lowerThreshold: 0,
    tunnel: null,
  });
  const base = { scheduler: 'wrr', schedFlags: [], persistence: { timeout: 0 }, pe: null, onePacket: false };
  await store.apply(
    [
      {
        op: 'add-service',
        service: {
          protocol: 'tcp',
          address: '192.0.2.10',
          port: 80,
          ...base,
          realServers: [rs('198.51.100.1', 3), rs('198.51.100.2', 2), rs('198.51.100.3', 2), rs('198.51.100.4', 0)],
        },
      },
      { op: 'add-service', service: { fwmark: 7, family: 'inet', ...base, realServers: [rs('198.51.100.5', 1)] } },
    ],
    'api',
  );
  const overlay = new WeightOverlay();
  const web = 'tcp 192.0.2.10:80';
  overlay.set('agent', web, '198.51.100.2:8080', { factor: 0.5, reason: 'agent asks for 50%' });
  overlay.set('storage', web, '198.51.100.3:8080', { factor: 0, reason: 'storage: /srv/www is mounted read-only' });
  overlay.set('health', 'fwmark 7', '198.51.100.5:8080', { factor: 0, remove: true, reason: 'TCP_CHECK: connection refused' });

  const counters = (conns: number) => ({
    ...zeroCounters(),
    conns,
    inPkts: conns * 10,
    outPkts: conns * 8,
    inBytes: conns * 1000,
    outBytes: conns * 9000,
    cps: 2,
    inBps: 100,
    outBps: 900,
  });
  const status: ServiceStatus[] = [
    {
      key: web,
      counters: counters(30),
      dests: ['198.51.100.1:8080', '198.51.100.2:8080', '198.51.100.3:8080', '198.51.100.4:8080'].map((key, i) => ({
        key,
        activeConns: 3 - i,
        inactiveConns: i,
        persistConns: 0,
        counters: counters(10 - i),
      })),
    },
    { key: 'fwmark 7', counters: counters(0), dests: [] },
  ];
  const vrrp: VrrpStatus = {
    instance: 'VI_1',
    interface: 'eth0',
    vrid: 51,
    version: 3,
    state: 'MASTER',
    priority: 150,
    basePriority: 150,
    advertisedPriority: 150,
    advertIntervalCs: 100,
    masterAdverIntervalCs: 100,
    masterAddress: '192.0.2.2',
    primaryAddress: '192.0.2.2',
    lastTransition: { from: 'BACKUP', to: 'MASTER', reason: 'master-down', at: 1_764_680_000_000, atIso: '2025-12-02T12:53:20.000Z' },
    vipsHeld: ['192.0.2.10/24'],
    holds: { resign: false, takeover: false },
    counters: {
      advertsSent: 1200,
      advertsReceived: 40,
      priorityZeroSent: 0,
      priorityZeroReceived: 1,
      dropped: { bad_ttl: 2 },
      transitions: 3,
      announcementsSent: 10,
      errors: 0,
    },
  };
  const sync: PeerSyncStatus = {
    id: 'lb1/0.0.0.0:9181',
    peer: '192.0.2.3:9181',
    peerId: 'lb2/0.0.0.0:9181',
    connected: true,
    inSync: false,
    role: 'master',
    generation: 12,
    peerGeneration: 11,
    lastApplyLagMs: 4,
    lastSyncAt: 1_764_680_100_000,
    divergences: 1,
    badFrames: 0,
    authFailures: 2,
    lastError: null,
  };
  const health: HealthStatus = {
    services: [
      {
        key: 'fwmark 7',
        quorum: { up: false, weightSum: 0, quorum: 1, hysteresis: 0 },
        sorryServer: null,
        realServers: [
          {
            key: '198.51.100.5:8080',
            state: 'down',
            weight: 1,
            healthWeight: 0,
            transitions: 2,
            failures: 5,
            since: '2025-12-02T12:00:00.000Z',
            checker: 'TCP_CHECK',
            reason: 'connection refused',
            checkers: [
              {
                name: 'TCP_CHECK',
                kind: 'tcp',
                state: 'down',
                checks: 40,
                failures: 5,
                consecutiveOk: 0,
                consecutiveFail: 5,
                retrying: 0,
                dynamicWeight: null,
                last: { ok: false, reason: 'connection refused', at: '2025-12-02T12:00:00.000Z', durationMs: 3 },
              },
            ],
          },
        ],
      },
    ],
  };
  const report = (weightPct: number, mounts: NonNullable<AgentsStatus['agents'][number]['report']>['mounts']) => ({
    v: 1 as const,
    type: 'report' as const,
    seq: 9,
    at: 1_764_680_100_000,
    service: { ok: true, detail: null, ms: 1 },
    load: { loadPerCore: 0.5, cpu: 0.25, memory: 0.4, connections: 17, weightPct },
    mounts,
    maintenance: false,
  });
  const mount = (writable: boolean) => ({
    path: '/srv/www',
    group: 'www',
    present: true,
    fstype: 'nfs4',
    source: '192.0.2.50:/www',
    expectedFstype: null,
    expectedSource: null,
    readOnly: !writable,
    responsive: true,
    writable,
    sentinel: null,
    sentinelConfigured: false,
    error: null,
    probeMs: 2,
  });
  const agentBase = { connected: true, interval: 1, lastReportAt: 1_764_680_100_000, ageMs: 800, badFrames: 0 };
  const agents: AgentsStatus = {
    listen: '0.0.0.0:9182',
    silentAfter: 3,
    counters: { accepted: 3, refused: 1, badFrames: 0, closedForBadFrames: 0 },
    groups: [],
    agents: [
      {
        ...agentBase,
        agent: 'web-2',
        addresses: ['198.51.100.2'],
        remote: '198.51.100.2:40000',
        state: 'up',
        reasons: [],
        weightPct: 50,
        storageProblems: [],
        realServers: [{ service: web, server: '198.51.100.2:8080' }],
        report: report(50, [mount(true)]),
      },
      {
        ...agentBase,
        agent: HOSTILE_AGENT,
        addresses: ['198.51.100.3'],
        remote: '198.51.100.3:40000',
        state: 'drained',
        reasons: ['/srv/www is mounted read-only'],
        weightPct: 100,
        storageProblems: ['/srv/www is mounted read-only'],
        realServers: [{ service: web, server: '198.51.100.3:8080' }],
        report: report(100, [mount(false)]),
      },
      {
        ...agentBase,
        agent: 'web-9',
        addresses: ['198.51.100.9'],
        remote: null,
        connected: false,
        lastReportAt: null,
        ageMs: null,
        state: 'pending',
        reasons: [],
        weightPct: null,
        storageProblems: [],
        realServers: [],
        report: null,
      },
    ],
  };
  return {
    at: 1_764_680_101_000,
    node: 'lb1',
    dataplane: 'proxy',
    info: { version: '1.2.1', connTableSize: 4096, engine: 'epoll' },
    generation: store.generation,
    table: buildTable(store.state, overlay),
    status,
    realServers: realServers({ store, overlay }).services,
    ipvsTotals: null,
    proxy: { counters: { connectFailures: 4, retries: 3, noDestination: 1 }, liveConnections: 6, threads: [] },
    vrrp: [vrrp],
    witness: {
      enabled: true,
      leaseMs: 500,
      probeIntervalMs: 50,
      agents: [
        { agent: 'web1', connected: true, votes: [{ vrid: 51, vote: 'held', remainingMs: 380 }] },
        { agent: 'web2', connected: false, votes: [{ vrid: 51, vote: 'none', remainingMs: null }] },
      ],
      gateways: [{ address: '192.0.2.1', reached: true, lastReplyAgoMs: 20 }],
      gatewaysNeeded: 1,
      instances: [{ vrid: 51, wanted: true, quorum: 'contending', votesHeld: ['web1'], votesNeeded: 2 }],
    },
    sync,
    health,
    agents,
    sources: { dataplane: 'ok', ha: 'ok', health: 'ok', agents: 'ok' },
    failed: {},
  };
}
