/**
 * `vsctl agents [--json]`: the agents connected to this dispatcher, their state (up / drained / silent / pending),
 * weight percentage, storage problems and the real servers they map to.
 */
import type { AgentsStatus } from '@vsd/core';
import type { VsctlCommand } from './command.js';

function age(ms: number | null): string {
  if (ms === null) return '-';
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${Math.round(ms / 1000)}s`;
}

export function renderAgents(st: AgentsStatus): string {
  const c = st.counters;
  // The issue-16 counters only when something happened (and absent from an older daemon's answer).
  const limits = (
    [
      ['refused claims', c.claimsRefused],
      ['forgotten', c.forgotten],
      ['refused at max_agents', c.refusedFull],
      ['closed at accept', c.refusedBusy],
    ] as Array<[string, number | undefined]>
  )
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([what, n]) => `, ${what} ${n}`)
    .join('');
  const lines = [
    `agents on ${st.listen ?? '-'} (silent after ${st.silentAfter} intervals); accepted ${c.accepted}, refused ${c.refused}, bad frames ${c.badFrames}${limits}`,
  ];
  if (!st.agents.length) lines.push('  no agent has connected');
  for (const a of st.agents) {
    const weight = a.weightPct === null ? '-' : `${a.weightPct}%`;
    lines.push(
      `  ${a.agent}  ${a.state}  weight ${weight}  last report ${age(a.ageMs)} ago  ${a.connected ? 'connected' : 'disconnected'}  addresses ${a.addresses.join(',')}`,
    );
    for (const r of a.reasons) lines.push(`    ${r}`);
    for (const m of a.report?.mounts ?? [])
      lines.push(
        `    mount ${m.path}: ${m.present ? `${m.fstype} ${m.source}` : 'not mounted'} responsive=${m.responsive ?? '?'} writable=${m.writable ?? '?'}${m.sentinel ? ` sentinel=${m.sentinel.slice(0, 12)}` : ''}`,
      );
    for (const rs of a.realServers) lines.push(`    real server ${rs.server} in ${rs.service}`);
    for (const rs of a.refusedClaims ?? []) lines.push(`    refused claim: real server ${rs.server} in ${rs.service} (not this agent's)`);
  }
  for (const g of st.groups) lines.push(`  consistency group ${g.group}: ${g.basis}${g.reference ? ` ${g.reference.slice(0, 12)}` : ''}`);
  return `${lines.join('\n')}\n`;
}

export const agentsCommand: VsctlCommand = {
  summary: 'agents connected to this dispatcher: state, load weight, storage, mapped real servers',
  usage: '[--json]',
  async run(ctx) {
    const st = await ctx.client.call('agents');
    ctx.out.write(ctx.json ? `${JSON.stringify(st, null, 2)}\n` : renderAgents(st));
    return 0;
  },
};
