/**
 * vsctl's sub-commands. Add one with one line here (failover, takeover, sync, agents, import-keepalived
 * come with the HA, agent and import work).
 */
import { agentsCommand } from './agents.js';
import type { VsctlCommand } from './command.js';
import { statusCommand } from './status.js';

export const commands: Record<string, VsctlCommand> = {
  agents: agentsCommand,
  status: statusCommand,
};
