/**
 * vsctl's pair operations: `failover` (the MASTER resigns now with a priority-0 advert), `takeover` (the BACKUP
 * becomes MASTER now), `release` (end the hold a failover/takeover leaves), `sync` (peer-sync state of this side and
 * its peer's generation), and the HA/sync sections of `vsctl status`.
 */
import type { PeerSyncStatus, VrrpStatus } from '@vsd/ha';
import type { VsctlCommand } from './command.js';

interface HaDoc {
  vrrp: VrrpStatus | null;
  sync: PeerSyncStatus | null;
}

export function renderVrrp(v: VrrpStatus | null): string[] {
  if (!v) return ['VRRP not configured'];
  const t = v.lastTransition;
  return [
    `${v.instance} on ${v.interface}: ${v.state}, VRID ${v.vrid}, VRRPv${v.version}, priority ${v.priority} (base ${v.basePriority})`,
    `master: ${v.masterAddress ?? 'unknown'}; VIPs held: ${v.vipsHeld.length ? v.vipsHeld.join(' ') : 'none'}`,
    `last transition: ${t ? `${t.from} -> ${t.to} (${t.reason}) at ${t.atIso}` : 'none'}${v.holds.resign ? '; resign hold (vsctl release ends it)' : ''}${v.holds.takeover ? '; takeover hold (vsctl release ends it)' : ''}`,
  ];
}

export function renderSync(s: PeerSyncStatus | null): string[] {
  if (!s) return ['peer sync not configured'];
  return [
    `peer ${s.peer ?? '(listening only)'} ${s.connected ? `connected (${s.peerId})` : 'not connected'}; ${s.inSync ? 'in sync' : 'NOT in sync'}`,
    `generation ${s.generation}, peer ${s.peerGeneration ?? '?'}, last apply lag ${s.lastApplyLagMs ?? '-'} ms, divergences ${s.divergences}`,
    `bad frames ${s.badFrames}, authentication failures ${s.authFailures}${s.lastError ? `, last error: ${s.lastError}` : ''}`,
  ];
}

function operation(name: 'failover' | 'takeover' | 'release', summary: string): VsctlCommand {
  return {
    summary,
    usage: '[--json]',
    async run({ client, json, out }) {
      const r = await client.post<{ operation: string; before?: string; status: VrrpStatus }>(`/v1/ha/${name}`);
      out.write(json ? `${JSON.stringify(r, null, 2)}\n` : `${name}: done${r.before ? ` (was ${r.before})` : ''}\n${renderVrrp(r.status).join('\n')}\n`);
      return 0;
    },
  };
}

export const failoverCommand = operation('failover', 'on the MASTER: resign now (priority-0 advert), the BACKUP takes the VIPs');
export const takeoverCommand = operation('takeover', 'on the BACKUP: become MASTER now and take the VIPs');
export const releaseCommand = operation('release', 'end the hold left by failover/takeover (normal priorities and preemption again)');

export const syncCommand: VsctlCommand = {
  summary: 'peer sync: connection, generations, lag, last error',
  usage: '[--json]',
  async run({ client, json, out }) {
    const doc = await client.get<HaDoc>('/v1/ha');
    out.write(json ? `${JSON.stringify(doc.sync, null, 2)}\n` : `${renderSync(doc.sync).join('\n')}\n`);
    return doc.sync ? 0 : 1;
  },
};
