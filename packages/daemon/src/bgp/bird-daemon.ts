/**
 * The BIRD backend of the BGP announcer: each VIP is one static protocol in BIRD's config, named from the VIP
 * (`vsd_192_0_2_10` for 192.0.2.10 with the default prefix) and declared `disabled`; vsd announces by `enable`
 * and withdraws by `disable` over the control socket. BIRD's BGP protocols export them (docs/bgp.md); vsd never
 * touches BIRD's config file, so a config BIRD cannot parse never stops a withdraw.
 */
import { BgpDaemonError } from '@vsd/core';
import { BirdSession, parseBfdSessions, parseProtocols, type BfdSession } from './bird.js';
import type { VipRouteState } from '@vsd/protocol';
export type { VipRouteState };

export interface DaemonView {
  vips: Map<string, VipRouteState>;
  /** The daemon's BGP sessions (all of them, not only vsd's). */
  sessions: Array<{ name: string; state: string; info: string }>;
  /** BFD sessions; null when not asked for. */
  bfd: BfdSession[] | null;
}

export interface RouteDaemon {
  readonly name: string;
  readonly socket: string;
  /** The daemon-side name of a VIP's route (BIRD: the static protocol). */
  routeName(vip: string): string;
  /** One pass: read what is announced, enable/disable what differs from `want`, return what is now. */
  sync(want: ReadonlyMap<string, boolean>, withBfd: boolean): Promise<DaemonView>;
}

/** BIRD symbols: a letter or underscore, then letters, digits, underscores. */
export const BIRD_PROTOCOL_PREFIX = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function birdProtocolName(prefix: string, vip: string): string {
  return `${prefix}${vip.replace(/[.:]/g, '_')}`;
}

export function createBirdDaemon(options: { socket: string; protocolPrefix: string; timeoutMs: number }): RouteDaemon {
  const { socket, protocolPrefix, timeoutMs } = options;
  return {
    name: 'bird',
    socket,
    routeName: (vip) => birdProtocolName(protocolPrefix, vip),
    async sync(want, withBfd) {
      const session = await BirdSession.open({ socket, timeoutMs });
      try {
        const rows = parseProtocols(await session.command('show protocols'));
        const byName = new Map(rows.map((r) => [r.name, r]));
        const vips = new Map<string, VipRouteState>();
        for (const [vip, announce] of want) {
          const name = birdProtocolName(protocolPrefix, vip);
          const row = byName.get(name);
          if (!row) {
            vips.set(vip, 'missing');
            continue;
          }
          const enabled = row.state !== 'down';
          if (enabled === announce) {
            vips.set(vip, enabled ? 'announced' : 'withdrawn');
            continue;
          }
          // Quoted: a name BIRD does not know is then "No protocols match" (8003), not a parse error.
          const reply = await session.command(`${announce ? 'enable' : 'disable'} "${name}"`);
          // "0011-NAME: enabled" (0010 already enabled; 0009/0008 for disable), then "0000".
          const expect = announce ? [10, 11] : [8, 9];
          const ok = reply.lines.some((l) => expect.includes(l.code));
          if (!ok) throw new BgpDaemonError('bird', socket, `${announce ? 'enable' : 'disable'} ${name}`, `unexpected reply ${reply.code}`, reply.code);
          vips.set(vip, announce ? 'announced' : 'withdrawn');
        }
        let bfd: BfdSession[] | null = null;
        if (withBfd) {
          // A BIRD without a BFD protocol refuses the command: that is "no BFD session", which the status shows.
          bfd = await session.command('show bfd sessions').then(parseBfdSessions, () => []);
        }
        const sessions = rows.filter((r) => r.proto === 'BGP').map((r) => ({ name: r.name, state: r.state, info: r.info }));
        return { vips, sessions, bfd };
      } finally {
        session.close();
      }
    },
  };
}
