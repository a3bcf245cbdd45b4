/**
 * The FRR backend of the BGP announcer: bgpd's vty socket (the one vtysh talks to, /var/run/frr/bgpd.vty), spoken
 * directly: each command is sent NUL-terminated, its output ends with three NULs and a status byte (0 success,
 * 1 warning, 2 unknown command, 3 ambiguous, 4 incomplete, ...). The session starts in the view node, so `enable`.
 *
 * A VIP is announced by a `network VIP/32` (/128) statement under the `router bgp` of the running config and
 * withdrawn by `no network`; what is announced is read back from `show running-config`. FRR keeps no "disabled"
 * state as BIRD does, so the statements live in its running config only: never `write memory` them (docs/bgp.md).
 */
import { connect, type Socket } from 'node:net';
import { isIPv6 } from 'node:net';
import { BgpDaemonError } from '@vsd/core';
import type { DaemonView, RouteDaemon, VipRouteState } from './bird-daemon.js';

const END = Buffer.from([0, 0, 0]);

export class VtySession {
  private buf = Buffer.alloc(0);
  private waiter: ((r: { status: number; text: string } | Error) => void) | null = null;
  private failure: Error | null = null;

  private constructor(
    private readonly sock: Socket,
    private readonly socketPath: string,
    private readonly timeoutMs: number,
  ) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.drain();
    });
    const fail = (reason: string) => {
      this.failure ??= new BgpDaemonError('frr', socketPath, 'connection', reason);
      this.waiter?.(this.failure);
    };
    sock.on('error', (err) => fail(err.message));
    sock.on('close', () => fail('closed by bgpd'));
  }

  static open(socketPath: string, timeoutMs: number): Promise<VtySession> {
    return new Promise((resolve, reject) => {
      const sock = connect(socketPath);
      const t = setTimeout(() => {
        sock.destroy();
        reject(new BgpDaemonError('frr', socketPath, 'connect', `no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(t);
        resolve(new VtySession(sock, socketPath, timeoutMs));
      });
      sock.once('error', (err) => {
        clearTimeout(t);
        reject(new BgpDaemonError('frr', socketPath, 'connect', err.message));
      });
    });
  }

  /** Run one command; a status other than 0 is thrown with FRR's text. */
  async command(cmd: string): Promise<string> {
    if (/[\0\r\n]/.test(cmd)) throw new BgpDaemonError('frr', this.socketPath, cmd, 'a command is one line');
    if (this.failure) throw this.failure;
    this.sock.write(`${cmd}\0`);
    const r = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiter = null;
        this.sock.destroy();
        reject(new BgpDaemonError('frr', this.socketPath, cmd, `no answer in ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.waiter = (x) => {
        clearTimeout(t);
        this.waiter = null;
        if (x instanceof Error) reject(x);
        else resolve(x);
      };
      this.drain();
    });
    if (r.status !== 0) throw new BgpDaemonError('frr', this.socketPath, cmd, r.text.trim() || `status ${r.status}`, r.status);
    return r.text;
  }

  close(): void {
    this.sock.destroy();
  }

  private drain(): void {
    if (!this.waiter) return;
    // The end marker is three NULs and the status byte; output never holds NUL.
    const at = this.buf.indexOf(END);
    if (at < 0 || this.buf.length < at + 4) return;
    const text = this.buf.subarray(0, at).toString('utf8').replace(/\0/g, '');
    const status = this.buf[at + 3]!;
    this.buf = this.buf.subarray(at + 4);
    this.waiter({ status, text });
  }
}

export function vipPrefix(vip: string): string {
  return `${vip}/${isIPv6(vip) ? 128 : 32}`;
}

/** The `router bgp ASN` (default VRF) of a running config, and its `network` prefixes per address family. */
export function parseRunningConfig(text: string): { asn: number | null; networks: Set<string> } {
  let asn: number | null = null;
  let inRouter = false;
  const networks = new Set<string>();
  for (const line of text.split('\n')) {
    const router = /^router bgp (\d+)\s*$/.exec(line);
    if (router) {
      asn = Number(router[1]);
      inRouter = true;
      continue;
    }
    if (/^\S/.test(line) && !line.startsWith('!')) inRouter = false;
    const net = inRouter ? /^\s+network (\S+)/.exec(line) : null;
    if (net) networks.add(net[1]!);
  }
  return { asn, networks };
}

export function createFrrDaemon(options: { socket: string; timeoutMs: number }): RouteDaemon {
  const { socket, timeoutMs } = options;
  return {
    name: 'frr',
    socket,
    routeName: (vip) => `network ${vipPrefix(vip)}`,
    async sync(want) {
      const s = await VtySession.open(socket, timeoutMs);
      try {
        await s.command('enable');
        const { asn, networks } = parseRunningConfig(await s.command('show running-config'));
        if (asn === null) throw new BgpDaemonError('frr', socket, 'show running-config', 'no `router bgp ASN` in the running config');
        const vips = new Map<string, VipRouteState>();
        const changes = [...want].filter(([vip, announce]) => networks.has(vipPrefix(vip)) !== announce);
        if (changes.length > 0) {
          await s.command('configure terminal');
          await s.command(`router bgp ${asn}`);
          for (const family of ['ipv4', 'ipv6'] as const) {
            const mine = changes.filter(([vip]) => isIPv6(vip) === (family === 'ipv6'));
            if (mine.length === 0) continue;
            await s.command(`address-family ${family} unicast`);
            for (const [vip, announce] of mine) await s.command(`${announce ? '' : 'no '}network ${vipPrefix(vip)}`);
            await s.command('exit-address-family');
          }
          await s.command('end');
        }
        for (const [vip, announce] of want) vips.set(vip, announce ? 'announced' : 'withdrawn');
        const summary = JSON.parse(await s.command('show bgp summary json')) as Record<string, { peers?: Record<string, { state?: string }> }>;
        const sessions = new Map<string, { name: string; state: string; info: string }>();
        for (const af of Object.values(summary))
          for (const [peer, p] of Object.entries(af.peers ?? {}))
            sessions.set(peer, { name: peer, state: p.state === 'Established' ? 'up' : 'start', info: p.state ?? '' });
        const view: DaemonView = { vips, sessions: [...sessions.values()], bfd: null };
        return view;
      } finally {
        s.close();
      }
    },
  };
}
