/** The virtual services the peer-sync tests replicate: tcp 10.77.0.100:<port>, rr, no real servers. */
import type { StateOp } from '@vsd/core';

export function svc(port: number) {
  return {
    protocol: 'tcp' as const,
    address: '10.77.0.100',
    port,
    scheduler: 'rr',
    schedFlags: [],
    persistence: { timeout: 0 },
    pe: null,
    onePacket: false,
    realServers: [],
  };
}

export const addService = (port: number): StateOp[] => [{ op: 'add-service', service: svc(port) }];
