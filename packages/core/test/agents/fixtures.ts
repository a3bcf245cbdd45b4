import type { AgentReport, MountReport } from '../../src/agents/protocol.js';

export function mount(over: Partial<MountReport> = {}): MountReport {
  return {
    path: '/srv/www',
    group: 'nfs1:/export',
    present: true,
    fstype: 'nfs4',
    source: 'nfs1:/export',
    expectedFstype: 'nfs4',
    expectedSource: 'nfs1:/export',
    readOnly: false,
    responsive: true,
    writable: true,
    sentinel: 'a'.repeat(64),
    sentinelConfigured: true,
    error: null,
    probeMs: 3,
    ...over,
  };
}

export function report(over: Partial<AgentReport> = {}): AgentReport {
  return {
    v: 1,
    type: 'report',
    seq: 1,
    at: 1_700_000_000_000,
    service: { ok: true, detail: null, ms: 1 },
    load: { loadPerCore: 0.1, cpu: 0.1, memory: 0.3, connections: 4, weightPct: 100 },
    mounts: [mount()],
    maintenance: false,
    ...over,
  };
}
