/**
 * vsctl's pair operations: `failover` (the MASTER resigns now with a priority-0 advert), `takeover` (the BACKUP
 * becomes MASTER now), `release` (end the hold a failover/takeover leaves), `sync` (peer-sync state of this side and
 * its peer's generation; the divergence record of a partition heal, its replay and drop), and the HA/sync sections of `vsctl status`. Each operation takes the VRRP instance name,
 * optional when the dispatcher runs only one.
 */
import { UsageError, type DivergenceEntryDoc as DivergenceEntry, type HaDoc, type PeerSyncStatus, type VrrpStatus, type WitnessStatus } from '@vsd/protocol';
import type { VsctlCommand } from './command.js';

export type { HaDoc };

/** Every instance, the primary marked, then the sync groups (older daemons: the one `vrrp` document). */
export function renderHa(doc: HaDoc): string[] {
  const list = doc.instances ?? (doc.vrrp ? [doc.vrrp] : []);
  if (list.length === 0) return renderVrrp(null);
  const many = list.length > 1;
  const lines = list.flatMap((v) => {
    const l = renderVrrp(v);
    const tags = [many && v.instance === doc.primary ? 'primary: peer-sync role follows it' : '', v.syncGroup ? `sync group ${v.syncGroup}` : ''].filter(
      Boolean,
    );
    if (tags.length) l[0] += ` [${tags.join('; ')}]`;
    return many ? [l[0]!, ...l.slice(1).map((x) => `  ${x}`)] : l;
  });
  for (const g of doc.syncGroups ?? []) lines.push(`sync group ${g.name}: ${g.instances.join(', ')} (change state together)`);
  lines.push(...renderWitness(doc.witness));
  return lines;
}

export function renderVrrp(v: VrrpStatus | null): string[] {
  if (!v) return ['VRRP not configured'];
  const t = v.lastTransition;
  return [
    `${v.instance} on ${v.interface}: ${v.state}${v.contending ? " (contending: waiting for the witnesses' votes)" : ''}, VRID ${v.vrid}, VRRPv${v.version}, priority ${v.priority} (base ${v.basePriority})`,
    `master: ${v.masterAddress ?? 'unknown'}; VIPs held: ${v.vipsHeld.length ? v.vipsHeld.join(' ') : 'none'}`,
    `last transition: ${t ? `${t.from} -> ${t.to} (${t.reason}) at ${t.atIso}` : 'none'}${v.holds.resign ? '; resign hold (vsctl release ends it)' : ''}${v.holds.takeover ? '; takeover hold (vsctl release ends it)' : ''}${v.externalFaults?.length ? `; held in FAULT by ${v.externalFaults.join(', ')}` : ''}`,
  ];
}

/** The split-brain guard: per instance its quorum and the votes it holds, then each witness. */
export function renderWitness(w: WitnessStatus | { enabled: false } | undefined): string[] {
  if (!w) return [];
  if (!w.enabled) return ['witness: off (split-brain guard not configured)'];
  const lines = w.instances.map(
    (i) =>
      `witness VRID ${i.vrid}: ${i.quorum}${i.votesNeeded ? `, votes ${i.votesHeld.length}/${i.votesNeeded} needed${i.votesHeld.length ? ` (${i.votesHeld.join(' ')})` : ''}` : ''}${i.wanted ? '' : ', not asking'}`,
  );
  if (w.agents.length)
    lines.push(
      `witness agents: ${w.agents.map((a) => `${a.agent} ${a.connected ? 'connected' : 'NOT connected'}${a.votes.map((v) => ` [${v.vrid}: ${v.vote}${v.remainingMs !== null ? ` ${v.remainingMs} ms` : ''}]`).join('')}`).join('; ')}`,
    );
  if (w.gateways.length)
    lines.push(`witness gateways (${w.gatewaysNeeded} needed): ${w.gateways.map((g) => `${g.address} ${g.reached ? 'reached' : 'NOT reached'}`).join('; ')}`);
  lines.push(`witness lease ${w.leaseMs} ms, renewed every ${w.probeIntervalMs} ms`);
  return lines;
}

export function renderSync(s: PeerSyncStatus | null): string[] {
  if (!s) return ['peer sync not configured'];
  return [
    `peer ${s.peer ?? '(listening only)'} ${s.connected ? `connected (${s.peerId})` : 'not connected'}; ${s.inSync ? 'in sync' : 'NOT in sync'}`,
    `generation ${s.generation}${s.digest ? ` (content ${s.digest.slice(0, 12)})` : ''}, peer ${s.peerGeneration ?? '?'}${s.peerDigest ? ` (content ${s.peerDigest.slice(0, 12)})` : ''}, last apply lag ${s.lastApplyLagMs ?? '-'} ms, divergences ${s.divergences}${s.divergenceEntries ? `, ${s.divergenceEntries} kept (vsctl sync --divergence)` : ''}`,
    `bad frames ${s.badFrames}, authentication failures ${s.authFailures}${s.lastError ? `, last error: ${s.lastError}` : ''}`,
    ...(s.refused
      ? [
          `refused: ${s.refused.tooManyPending} connections (too many unauthenticated), ${s.refused.oversizeFrames} oversize frames, ${s.refused.handshakeTimeouts} handshake timeouts, ${s.refusedGenerations ?? 0} implausible generations, ${s.refusedSnapshots ?? 0} snapshots that did not win; ${s.pendingConnections} unauthenticated open`,
        ]
      : []),
  ];
}

function operation(name: 'failover' | 'takeover' | 'release', summary: string): VsctlCommand {
  return {
    summary,
    usage: '[INSTANCE] [--json]',
    async run({ client, json, out, args }) {
      const instance = instanceArg(name, args);
      const r = await client.call(`ha.${name}`, instance ? { instance } : {});
      out.write(json ? `${JSON.stringify(r, null, 2)}\n` : `${name}: done${r.before ? ` (was ${r.before})` : ''}\n${renderVrrp(r.status).join('\n')}\n`);
      return 0;
    },
  };
}

/** The optional VRRP instance name; the daemon checks it (unknown: VSD_ERR_HA_UNKNOWN_INSTANCE, nothing changed). */
export function instanceArg(command: string, args: readonly string[]): string | undefined {
  const words = args.filter((a) => a !== '--json');
  const option = words.find((a) => a.startsWith('-'));
  if (option) throw new UsageError(command, `unknown option ${option}; usage: vsctl ${command} [INSTANCE] [--json]`);
  if (words.length > 1) throw new UsageError(command, `one VRRP instance at a time (got ${words.join(' ')})`);
  return words[0];
}

export const failoverCommand = operation('failover', 'on the MASTER of INSTANCE: resign now (priority-0 advert), the BACKUP takes its VIPs');
export const takeoverCommand = operation('takeover', 'on the BACKUP of INSTANCE: become MASTER now and take its VIPs');
export const releaseCommand = operation('release', 'end the hold left by failover/takeover (normal priorities and preemption again)');

const preview = (v: unknown): string => {
  const t = v === null ? 'absent' : JSON.stringify(v);
  return t.length > 160 ? `${t.slice(0, 157)}...` : t;
};

export function renderDivergence(entries: readonly DivergenceEntry[]): string[] {
  if (!entries.length) return ['no divergence kept: every change of the last partition heal was re-applied'];
  const lines: string[] = [];
  for (const e of entries) {
    lines.push(`${e.id}  generation ${e.generation} (${e.origin}, ${new Date(e.at).toISOString()}): ${e.reason}`);
    for (const k of e.keys) lines.push(`    ${k.key}`, `      ours:   ${preview(k.ours)}`, `      theirs: ${preview(k.theirs)}`);
  }
  lines.push('replay: vsctl sync --replay-divergence [ID...]   drop: vsctl sync --drop-divergence ID...|all');
  return lines;
}

export const syncCommand: VsctlCommand = {
  summary: 'peer sync: connection, generations and content digests, refusals; --divergence lists what a partition heal kept aside',
  usage: '[--divergence | --replay-divergence [ID...] | --drop-divergence ID...|all] [--json]',
  async run({ client, json, out, args }) {
    const [flag, ...ids] = args;
    const print = (doc: unknown, text: string[]): void => void out.write(json ? `${JSON.stringify(doc, null, 2)}\n` : `${text.join('\n')}\n`);
    if (flag === '--divergence') {
      const doc = await client.call('sync.divergence');
      print(doc, renderDivergence(doc.entries));
      return 0;
    }
    if (flag === '--replay-divergence') {
      const doc = await client.call('sync.divergence.replay', { ids });
      const text = doc.results.length
        ? doc.results.map((r) => (r.ok ? `${r.id}: replayed (generation ${r.generation})` : `${r.id}: NOT replayed: ${r.error}`))
        : ['nothing to replay'];
      print(doc, text);
      return doc.results.every((r) => r.ok) ? 0 : 1;
    }
    if (flag === '--drop-divergence') {
      if (!ids.length) throw new UsageError('sync', '--drop-divergence needs the entry ids (or "all")');
      const doc = await client.call('sync.divergence.drop', { ids: ids.includes('all') ? [] : ids });
      print(doc, [`${doc.dropped} divergence entr${doc.dropped === 1 ? 'y' : 'ies'} dropped`]);
      return 0;
    }
    if (flag !== undefined)
      throw new UsageError('sync', `unknown option ${flag} (vsctl sync [--divergence | --replay-divergence [ID...] | --drop-divergence ID...|all])`);
    const doc = await client.call('ha');
    out.write(json ? `${JSON.stringify(doc.sync, null, 2)}\n` : `${renderSync(doc.sync).join('\n')}\n`);
    return doc.sync ? 0 : 1;
  },
};
