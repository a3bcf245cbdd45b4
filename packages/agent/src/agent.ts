/**
 * vsd-agent: every `report_interval` it samples load, runs the service probe and the storage probes, and sends one
 * report to every dispatcher it is connected to; it also answers HAProxy's agent-check from the same state.
 */
import { existsSync } from 'node:fs';
import { cpus, networkInterfaces } from 'node:os';
import type { Logger } from '@vsd/sys';
import { AGENT_PROTOCOL_VERSION, mountProblem, type AgentCheckInput, type AgentReport, type ServiceProbeResult } from '@vsd/protocol';
import { AgentCheckServer } from './agent-check-server.js';
import type { AgentConfig } from './config.js';
import { DispatcherLink, type LinkStatus } from './link.js';
import { weightPercent } from './load/formula.js';
import { cpuBusyFraction, readProcSample, type CpuTimes } from './load/proc.js';
import { runServiceProbe } from './service-probe.js';
import { StorageWatcher } from './storage/watcher.js';
import { Voter, type Lease } from './voter.js';

export interface AgentOptions {
  config: AgentConfig;
  key: Buffer;
  logger: Logger;
  procRoot?: string;
  mountinfoFile?: string;
}

export interface AgentStatus {
  name: string;
  addresses: string[];
  links: LinkStatus[];
  report: AgentReport | null;
  agentCheck: string;
  /** Witness leases this agent has granted and that are in force. */
  leases: Lease[];
}

/** Non-loopback, non-link-local interface addresses: what a dispatcher may have as this node's RIP. */
export function localAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (!a.internal && !a.address.toLowerCase().startsWith('fe80:')) out.push(a.address);
  return out.length ? out : ['127.0.0.1'];
}

export class Agent {
  private readonly log: Logger;
  private readonly links: DispatcherLink[];
  private readonly storage: StorageWatcher;
  private readonly checkServer: AgentCheckServer | null;
  private readonly addresses: string[];
  private timer: NodeJS.Timeout | null = null;
  private seq = 0;
  private prevCpu: CpuTimes | null = null;
  private service: ServiceProbeResult | null = null;
  private serviceBusy = false;
  private last: AgentReport | null = null;
  /** One voter for all links: a vrid's lease goes to one dispatcher at a time across them. */
  private readonly voter = new Voter();

  constructor(private readonly opts: AgentOptions) {
    const cfg = opts.config;
    this.log = opts.logger.child({ component: 'agent', agent: cfg.name });
    this.addresses = cfg.addresses ?? localAddresses();
    this.storage = new StorageWatcher(cfg.mounts, cfg.name, this.log, opts.mountinfoFile);
    this.links = cfg.dispatchers.map(
      (d) =>
        new DispatcherLink({
          dispatcher: d,
          key: opts.key,
          agent: cfg.name,
          addresses: this.addresses,
          interval: cfg.report_interval,
          logger: this.log,
          voter: cfg.witness ? this.voter : undefined,
        }),
    );
    this.checkServer = cfg.agent_check
      ? new AgentCheckServer(cfg.agent_check.listen, () => this.agentCheckInput(), this.log, cfg.agent_check.max_connections)
      : null;
  }

  async start(): Promise<void> {
    await this.checkServer?.start();
    await this.tick(false);
    for (const l of this.links) l.start();
    this.log.info(
      { dispatchers: this.opts.config.dispatchers, addresses: this.addresses, mounts: this.opts.config.mounts.map((m) => m.path) },
      'agent started',
    );
    const ms = this.opts.config.report_interval * 1000;
    const loop = (): void => {
      this.timer = setTimeout(() => {
        void this.tick(true).finally(() => this.timer !== null && loop());
      }, ms);
    };
    loop();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const l of this.links) l.stop();
    await this.checkServer?.stop();
  }

  status(): AgentStatus {
    return {
      name: this.opts.config.name,
      addresses: this.addresses,
      links: this.links.map((l) => l.status()),
      report: this.last,
      agentCheck: this.last ? this.agentCheckLine() : '',
      leases: this.voter.leasesNow(),
    };
  }

  private agentCheckLine(): string {
    const i = this.agentCheckInput();
    return i.maintenance ? 'maint' : i.downReason ? `down #${i.downReason}` : `up ${i.weightPct}%`;
  }

  agentCheckInput(): AgentCheckInput {
    const r = this.last;
    if (!r) return { maintenance: false, downReason: 'agent starting', weightPct: 0 };
    const storage = r.mounts.map(mountProblem).filter((p): p is string => p !== null);
    const downReason = storage.length
      ? `storage broken: ${storage.join('; ')}`
      : r.service && !r.service.ok
        ? `service probe failed${r.service.detail ? `: ${r.service.detail}` : ''}`
        : null;
    return { maintenance: r.maintenance, downReason, weightPct: r.load.weightPct };
  }

  private kickServiceProbe(): void {
    const p = this.opts.config.probe;
    if (!p || this.serviceBusy) return;
    this.serviceBusy = true;
    void runServiceProbe(p)
      .then((r) => {
        if (this.service?.ok !== r.ok) this.log[r.ok ? 'info' : 'warn']({ detail: r.detail }, r.ok ? 'service probe passes' : 'service probe fails');
        this.service = r;
      })
      .finally(() => (this.serviceBusy = false));
  }

  /** Sample everything, then send the report (send=false for the first sample, which has no CPU delta yet). */
  async tick(send: boolean): Promise<void> {
    const cfg = this.opts.config;
    this.kickServiceProbe();
    await this.storage.tick();
    const s = await readProcSample(this.opts.procRoot ?? cfg.proc_root);
    const cpu = this.prevCpu ? cpuBusyFraction(this.prevCpu, s.cpu) : 0;
    this.prevCpu = s.cpu;
    const signals = { loadPerCore: s.loadavg / Math.max(1, cpus().length), cpu, memory: s.memory, connections: s.connections };
    const report: AgentReport = {
      v: AGENT_PROTOCOL_VERSION,
      type: 'report',
      seq: this.seq++,
      at: Date.now(),
      service: cfg.probe ? this.service : null,
      load: { ...signals, weightPct: weightPercent(signals, cfg.load) },
      mounts: this.storage.reports(),
      maintenance: cfg.maintenance_file ? existsSync(cfg.maintenance_file) : false,
    };
    this.last = report;
    if (send) for (const l of this.links) l.send(report);
  }
}
