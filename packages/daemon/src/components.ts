/**
 * The daemon's optional components, in start order. Add yours with one line: a factory that returns null
 * when its config section is absent. Health checks come before VRRP so a new master starts with known-good
 * real servers.
 */
import type { ComponentFactory } from './component.js';
import { agentsComponent } from './component-agents.js';
import { bgpComponent } from './component-bgp.js';
import { haComponent } from './component-ha.js';
import { healthComponent } from './component-health.js';
import { metricsComponent } from './component-metrics.js';

export const componentFactories: ComponentFactory[] = [
  healthComponent,
  agentsComponent,
  // VRRP and peer sync (@vsd/ha), one component
  haComponent,
  // after the ones that set weights; stops before them, so SIGTERM withdraws the VIPs first
  bgpComponent,
  // last: the read-only metrics listener and status page read the others' status routes
  metricsComponent,
];
