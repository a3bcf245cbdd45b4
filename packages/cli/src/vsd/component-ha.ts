/**
 * The HA pair inside vsd: the VRRP instance (`ha:`) and the peer channel (`peer:`), one component because each needs
 * the other: VRRP transitions set the peer-sync role (the BACKUP refuses local changes), and drive the kernel's
 * connection sync daemon on the ipvs dataplane (master daemon on MASTER, backup daemon on BACKUP).
 *
 * Routes: GET /v1/ha, POST /v1/ha/failover, POST /v1/ha/takeover, POST /v1/ha/release, GET /v1/sync.
 */
import { hostname } from 'node:os';
import { HaNotConfiguredError, HaStateError, readKeyFile, type ControlRoute, type Logger, type SyncDaemon } from '@vsd/core';
import {
  createPeerSync,
  createVrrpInstance,
  parseHaConfig,
  peerConfigSchema,
  splitHostPort,
  type HaConfig,
  type PeerSync,
  type VrrpInstance,
} from '@vsd/ha';
import type { ComponentFactory, DaemonComponent, DaemonContext } from './component.js';

export const haComponent: ComponentFactory = (ctx) => {
  if (!ctx.config.ha && !ctx.config.peer) return null;
  return new HaComponent();
};

/** How the component makes its VRRP instance; tests pass a fake that needs no raw sockets. */
export type VrrpFactory = (config: HaConfig, deps: { logger: Logger }) => VrrpInstance;

export class HaComponent implements DaemonComponent {
  readonly name = 'ha';
  private vrrp: VrrpInstance | null = null;

  constructor(private readonly createVrrp: VrrpFactory = createVrrpInstance) {}

  private sync: PeerSync | null = null;
  private log!: Logger;

  async start(ctx: DaemonContext): Promise<void> {
    this.log = ctx.logger.child({ component: 'ha' });
    if (ctx.config.peer) {
      const peer = peerConfigSchema.parse(ctx.config.peer);
      this.sync = createPeerSync({
        id: peer.id ?? `${hostname()}/${peer.listen}`,
        key: readKeyFile(peer.key_file),
        listen: splitHostPort(peer.listen),
        peer: peer.address,
        store: ctx.store,
        dataplane: ctx.dataplane,
        logger: ctx.logger,
        persistIntervalMs: peer.persist_interval * 1000,
      });
      await this.sync.start();
    }
    if (ctx.config.ha) {
      const ha = parseHaConfig(ctx.config.ha);
      const vrrp = this.createVrrp(ha, { logger: ctx.logger });
      this.vrrp = vrrp;
      // Until VRRP has decided, this node is BACKUP for peer sync: it must not accept changes the MASTER would overwrite.
      this.sync?.setRole('backup', null);
      vrrp.onStateChange((t) => {
        const status = vrrp.status();
        this.log.info({ from: t.from, to: t.to, reason: t.reason, master: status.masterAddress }, 'VRRP transition');
        this.sync?.setRole(t.to === 'MASTER' ? 'master' : t.to === 'BACKUP' ? 'backup' : 'fault', status.masterAddress);
        if (ctx.dataplane.syncDaemons && (t.to === 'MASTER' || t.to === 'BACKUP')) {
          const daemon: SyncDaemon = {
            state: t.to === 'MASTER' ? 'master' : 'backup',
            // keepalived's lvs_sync_daemon defaults: the VRRP interface, and the VRID as sync id.
            mcastInterface: ha.interface,
            syncId: ha.vrid,
          };
          ctx.dataplane.syncDaemons([daemon]).catch((err: Error) => this.log.error({ err }, 'switching the connection sync daemon failed'));
        }
      });
      await vrrp.start();
    } else this.sync?.setRole(null);
  }

  async stop(): Promise<void> {
    await this.vrrp?.stop();
    await this.sync?.stop();
  }

  routes(): readonly ControlRoute[] {
    return [
      { method: 'GET', path: '/v1/ha', handler: () => ({ vrrp: this.vrrp?.status() ?? null, sync: this.sync?.status() ?? null }) },
      { method: 'POST', path: '/v1/ha/failover', handler: () => this.failover() },
      { method: 'POST', path: '/v1/ha/takeover', handler: () => this.takeover() },
      { method: 'POST', path: '/v1/ha/release', handler: () => this.release() },
      {
        method: 'GET',
        path: '/v1/sync',
        handler: () => {
          if (!this.sync) throw new HaNotConfiguredError('peer sync');
          return this.sync.status();
        },
      },
    ];
  }

  private requireVrrp(): VrrpInstance {
    if (!this.vrrp) throw new HaNotConfiguredError('VRRP');
    return this.vrrp;
  }

  private failover(): unknown {
    const vrrp = this.requireVrrp();
    const before = vrrp.status();
    if (!vrrp.resign())
      throw new HaStateError('failover', before.state, `run \`vsctl failover\` on the MASTER${before.masterAddress ? ` (${before.masterAddress})` : ''}, or \`vsctl takeover\` here`);
    this.log.warn({ operation: 'failover', priority: before.priority }, 'manual failover: resigning mastership (priority 0 advert)');
    return { operation: 'failover', before: before.state, status: vrrp.status() };
  }

  private takeover(): unknown {
    const vrrp = this.requireVrrp();
    const before = vrrp.status();
    if (!vrrp.takeover()) throw new HaStateError('takeover', before.state, 'run `vsctl takeover` on the BACKUP, or `vsctl failover` here');
    this.log.warn({ operation: 'takeover', master: before.masterAddress }, 'manual takeover: becoming MASTER');
    return { operation: 'takeover', before: before.state, status: vrrp.status() };
  }

  private release(): unknown {
    const vrrp = this.requireVrrp();
    vrrp.release();
    this.log.info({ operation: 'release' }, 'manual hold released');
    return { operation: 'release', status: vrrp.status() };
  }
}
