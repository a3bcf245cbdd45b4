import { describe, expect, it } from 'vitest';
import type { AgentsStatus } from '@vsd/core';
import { formatStatus, type StatusReport } from '../../src/vsctl/status.js';

const agents: AgentsStatus = {
  listen: '10.77.0.11:9182',
  silentAfter: 3,
  counters: { accepted: 1, refused: 0, badFrames: 0, closedForBadFrames: 0 },
  groups: [],
  agents: [
    {
      agent: 'web1',
      addresses: ['10.77.0.13'],
      remote: '10.77.0.13',
      connected: true,
      interval: 1,
      lastReportAt: 1,
      ageMs: 300,
      state: 'up',
      reasons: [],
      weightPct: 25,
      storageProblems: [],
      realServers: [{ service: 'tcp 10.77.0.100:80', server: '10.77.0.13:80' }],
      badFrames: 0,
      report: null,
    },
  ],
};

const report: StatusReport = {
  vsd: '/run/vsd/vsd.sock',
  dataplane: 'proxy',
  generation: 3,
  agents,
  services: [
    {
      key: 'tcp 10.77.0.100:80',
      scheduler: 'wrr',
      sorryServer: null,
      counters: null,
      realServers: [
        {
          key: '10.77.0.13:80',
          address: '10.77.0.13',
          port: 80,
          forwarding: 'masq',
          weight: 4,
          effectiveWeight: 1,
          removed: false,
          sources: { agent: { factor: 0.25, reason: 'agent: weight 25% from load (1.62 per CPU, cpu 80%, memory 40%)' } },
          activeConns: 0,
          inactiveConns: 0,
          inDataplane: true,
        },
      ],
    },
  ],
};

describe('vsctl status (text)', () => {
  it('prints the agents section as the agents command does, not as raw JSON', () => {
    const text = formatStatus(report);
    expect(text).toContain(
      [
        'agents:',
        '  agents on 10.77.0.11:9182 (silent after 3 intervals); accepted 1, refused 0, bad frames 0',
        '    web1  up  weight 25%  last report 0.3s ago  connected  addresses 10.77.0.13',
      ].join('\n'),
    );
    expect(text).not.toMatch(/[{}"]/);
  });

  it('labels an agent factor as the weight it asks for, with the load it comes from, naming the source once', () => {
    expect(formatStatus(report)).toMatch(/weight +4 +effective +1 .*\[agent 25% \(weight 25% from load \(1\.62 per CPU, cpu 80%, memory 40%\)\)\]/);
  });
});
