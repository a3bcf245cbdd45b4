import { describe, expect, it } from 'vitest';
import { typedClient, type AgentsStatus, type ControlClient } from '@vsd/core';
import { agentsCommand, renderAgents } from '../../src/vsctl/agents.js';

const status: AgentsStatus = {
  listen: '10.77.0.11:9182',
  silentAfter: 3,
  counters: { accepted: 2, refused: 1, badFrames: 0, closedForBadFrames: 0 },
  groups: [{ group: 'share', reference: 'ab'.repeat(32), basis: 'config', hashes: {} }],
  agents: [
    {
      agent: 'web1',
      addresses: ['10.77.0.21'],
      remote: '10.77.0.21',
      connected: true,
      interval: 1,
      lastReportAt: 1,
      ageMs: 400,
      state: 'drained',
      reasons: ['storage: /srv/www is not mounted'],
      weightPct: 100,
      storageProblems: ['/srv/www is not mounted'],
      realServers: [{ service: 'tcp 10.77.0.100:80', server: '10.77.0.21:80' }],
      badFrames: 0,
      report: null,
    },
  ],
};

describe('vsctl agents', () => {
  it('prints one block per agent with its state, reasons and real servers', () => {
    expect(renderAgents(status)).toBe(
      [
        'agents on 10.77.0.11:9182 (silent after 3 intervals); accepted 2, refused 1, bad frames 0',
        '  web1  drained  weight 100%  last report 0.4s ago  connected  addresses 10.77.0.21',
        '    storage: /srv/www is not mounted',
        '    real server 10.77.0.21:80 in tcp 10.77.0.100:80',
        `  consistency group share: config ${'ab'.repeat(6)}`,
        '',
      ].join('\n'),
    );
  });

  it('shows refused claims and the limit counters when there are some', () => {
    const st: AgentsStatus = {
      ...status,
      counters: { ...status.counters, claimsRefused: 1, forgotten: 2, refusedFull: 0, refusedBusy: 7 },
      agents: [{ ...status.agents[0]!, refusedClaims: [{ service: 'tcp 10.77.0.100:80', server: '10.77.0.22:80' }] }],
    };
    const text = renderAgents(st);
    expect(text.split('\n')[0]).toBe(
      'agents on 10.77.0.11:9182 (silent after 3 intervals); accepted 2, refused 1, bad frames 0, refused claims 1, forgotten 2, closed at accept 7',
    );
    expect(text).toContain("    refused claim: real server 10.77.0.22:80 in tcp 10.77.0.100:80 (not this agent's)\n");
  });

  it('prints the API document with --json', async () => {
    let out = '';
    const client = typedClient({ where: 'x', get: async () => status, post: async () => ({}) } as unknown as ControlClient);
    const code = await agentsCommand.run({
      client,
      json: true,
      args: [],
      out: { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WritableStream,
    });
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual(status);
  });
});
