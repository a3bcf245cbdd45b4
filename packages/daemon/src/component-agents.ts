/**
 * The agent hub inside vsd (`agents:` in vsd.yaml): admits vsd-agents holding the shared key and turns their reports
 * into the weight overlay (sources 'agent' and 'storage'). Route: GET /v1/agents.
 */
import { hostname } from 'node:os';
import { AgentHub, agentBindings, HubVotes, readKeyFile, route, type AgentsConfig, type ControlRoute } from '@vsd/core';
import type { ComponentFactory, DaemonComponent, DaemonContext } from './component.js';

export const agentsComponent: ComponentFactory = (ctx) => (ctx.config.agents ? new AgentsComponent() : null);

const votesByDaemon = new WeakMap<DaemonContext, HubVotes>();

/**
 * The witness vote channel of this daemon's agent hub (the HA component's split-brain guard uses it). One per
 * daemon, handed to every hub the agents component opens, so it survives a hub re-opened on reload.
 */
export function agentVotes(ctx: DaemonContext): HubVotes {
  let v = votesByDaemon.get(ctx);
  if (!v) votesByDaemon.set(ctx, (v = new HubVotes()));
  return v;
}

class AgentsComponent implements DaemonComponent {
  readonly name = 'agents';
  private hub: AgentHub | null = null;
  private applied = '';

  private async open(ctx: DaemonContext, cfg: AgentsConfig): Promise<void> {
    this.hub = new AgentHub({
      listen: cfg.listen,
      key: readKeyFile(cfg.keyFile),
      agentKeys: new Map(Object.entries(cfg.agentKeys).map(([agent, entry]) => [agent, readKeyFile(entry.keyFile)])),
      requireAgentKey: cfg.requireAgentKey,
      bindings: agentBindings(cfg.agentKeys),
      unboundClaims: cfg.unboundClaims,
      forgetAfterMs: cfg.forgetAfterMs,
      maxAgents: cfg.maxAgents,
      maxPreAuth: cfg.maxPreauth,
      id: hostname(),
      overlay: ctx.overlay,
      store: ctx.store,
      silentAfter: cfg.silentAfter,
      maxBadFrames: cfg.maxBadFrames,
      sentinels: cfg.sentinels,
      logger: ctx.logger,
      votes: agentVotes(ctx),
    });
    await this.hub.start();
    this.applied = JSON.stringify(cfg);
  }

  async start(ctx: DaemonContext): Promise<void> {
    await this.open(ctx, ctx.config.agents!);
  }

  async reload(ctx: DaemonContext): Promise<void> {
    const cfg = ctx.config.agents;
    if (!cfg) {
      // Components are made at start: the hub of a removed section keeps running, as it always has, until a restart.
      ctx.logger.child({ component: 'agents' }).warn('the agents: section was removed: the agent hub keeps running until vsd restarts');
      return;
    }
    // The key file may have changed on disk even when the section did not: reopen on every reload that changes anything.
    if (JSON.stringify(cfg) === this.applied) return;
    await this.hub?.stop();
    await this.open(ctx, cfg);
  }

  async stop(): Promise<void> {
    await this.hub?.stop();
    this.hub = null;
  }

  routes(): readonly ControlRoute[] {
    return [route('agents', () => this.hub!.status())];
  }
}
