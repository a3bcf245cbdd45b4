/**
 * vsctl's sub-commands. Add one with one line here (failover, takeover, sync, agents, import-keepalived
 * come with the HA, agent and import work).
 */
import { agentsCommand } from './agents.js';
import { bgpCommand } from './bgp.js';
import type { VsctlCommand } from './command.js';
import { failoverCommand, releaseCommand, syncCommand, takeoverCommand } from './ha.js';
import { importKeepalivedCommand } from './import.js';
import { statusCommand } from './status.js';

export const commands: Record<string, VsctlCommand> = {
  agents: agentsCommand,
  bgp: bgpCommand,
  failover: failoverCommand,
  'import-keepalived': importKeepalivedCommand,
  release: releaseCommand,
  status: statusCommand,
  sync: syncCommand,
  takeover: takeoverCommand,
};
