import { VsdError } from '@vsd/protocol';

/** vsd-agent could not prepare a real server for DR/TUN (or read what it changed). */
export class RealServerSetupError extends VsdError {
  constructor(reason: string, details: Record<string, unknown> = {}) {
    super('VSD_ERR_RS_SETUP', `real-server setup: ${reason}`, { details: { reason, ...details } });
  }
}

/**
 * vsd-agent could not attach or drive the BPF decapsulator on a TUN real server's interface: the interface is
 * missing, BPF is not permitted (no root / CAP_BPF), another XDP program holds the interface, or the kernel refused
 * the program. Nothing half-done is left.
 */
export class RealServerDecapError extends VsdError {
  constructor(dev: string, reason: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super('VSD_ERR_RS_DECAP', `real-server setup: ${reason}`, { details: { dev, reason, ...details }, cause });
  }
}
