import { VsdError } from '@vsd/core';

/** vsd-agent could not prepare a real server for DR/TUN (or read what it changed). */
export class RealServerSetupError extends VsdError {
  constructor(reason: string, details: Record<string, unknown> = {}) {
    super('VSD_ERR_RS_SETUP', `real-server setup: ${reason}`, { details: { reason, ...details } });
  }
}
