/**
 * `vsctl bgp [status|drain|undrain] [--json]`: what this dispatcher announces through its routing daemon, and the
 * maintenance switch: `drain` withdraws every VIP (the upstream router sends new flows to the other dispatchers;
 * connections already here keep being served), `undrain` announces again what can be served. A drain survives a
 * restart of vsd. drain/undrain return once the daemon has done it; the exit code is 1 when it could not.
 */
import { UsageError, type BgpStatus } from '@vsd/protocol';
import type { VsctlCommand } from './command.js';

/** GET /v1/bgp as @vsd/protocol declares it. */
export type BgpDoc = BgpStatus;

export function renderBgp(d: BgpDoc): string[] {
  const reach = d.reachable === null ? 'not asked yet' : d.reachable ? 'reachable' : `UNREACHABLE (${d.error?.message ?? 'error'})`;
  const established = d.sessions.filter((s) => s.info.startsWith('Established')).length;
  const lines = [
    `${d.daemon} at ${d.socket}: ${reach}${d.drained ? ', DRAINED' : ''}${d.stopping ? ', stopping' : ''}; BGP sessions established ${established}/${d.sessions.length}` +
      (d.bfd.expected ? `, BFD sessions up ${d.bfd.up}/${d.bfd.sessions.length}` : ''),
  ];
  for (const v of d.vips) {
    const hold = v.holdDownMs > 0 ? ` (hold-down ${(v.holdDownMs / 1000).toFixed(1)}s)` : '';
    lines.push(
      `${v.vip}  ${v.state}${v.announce !== (v.state === 'announced') ? ` -> ${v.announce ? 'announce' : 'withdraw'}` : ''}${hold}  [${v.route}] ${v.reason}`,
    );
  }
  for (const s of d.sessions) lines.push(`session ${s.name}: ${s.state} ${s.info}`.trimEnd());
  lines.push(`announcements ${d.counters.announcements}, withdrawals ${d.counters.withdrawals}, daemon errors ${d.counters.daemonErrors}`);
  return lines;
}

export const bgpCommand: VsctlCommand = {
  summary: 'BGP announcement of the VIPs: status, drain (withdraw all, survives a restart), undrain',
  usage: '[status|drain|undrain] [--json]',
  async run({ client, json, out, args }) {
    const sub = args[0] ?? 'status';
    if (args.length > 1 || !['status', 'drain', 'undrain'].includes(sub))
      throw new UsageError('bgp', `expected status, drain or undrain (got ${args.join(' ')})`);
    const doc = await client.call(sub === 'status' ? 'bgp' : sub === 'drain' ? 'bgp.drain' : 'bgp.undrain');
    out.write(json ? `${JSON.stringify(doc, null, 2)}\n` : `${renderBgp(doc).join('\n')}\n`);
    if (sub === 'status') return 0;
    // Done when the daemon shows every VIP as vsd wants it (a VIP missing from the daemon's config cannot be announced).
    return doc.reachable && doc.vips.every((v) => (v.state === 'announced') === v.announce) ? 0 : 1;
  },
};
