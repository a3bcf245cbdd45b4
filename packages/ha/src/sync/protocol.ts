/**
 * Peer-sync frames as this side uses them: the wire format (version 2, frames, handshake, encode) is declared in
 * @vsd/protocol (peer/frames.ts, peer/frame.ts); here a decoded frame's desired-state document and operations are
 * validated like the state file and the control API, with @vsd/core's model.
 */
import { decodeWire, type DistributiveOmit, type WireMessage } from '@vsd/protocol/peer';
import { parseOps, parseState, type DesiredState, type StateOp } from '@vsd/core';

export {
  AUTH_CONTEXT,
  decodeHandshake,
  encode,
  HANDSHAKE_FRAME_LIMIT,
  handshakeSchema,
  PEER_PROTOCOL_VERSION,
  peerMessageSchema,
  type HandshakeMessage,
  type WireMessage,
} from '@vsd/protocol/peer';

/** A decoded frame: the document and operations inside are validated like the state file and the control API. */
export type PeerMessage =
  | Exclude<WireMessage, { t: 'snapshot' } | { t: 'tx' }>
  | (Omit<Extract<WireMessage, { t: 'snapshot' }>, 'state'> & { state: DesiredState })
  | (Omit<Extract<WireMessage, { t: 'tx' }>, 'ops'> & { ops: StateOp[] });

export type PeerMessageBody = DistributiveOmit<PeerMessage, 'v'> | DistributiveOmit<WireMessage, 'v'>;

/**
 * Parse one frame after authentication, the document and operations inside included (this is the costly part for a
 * big table, and it runs in the decode thread for big frames). Returns an error text instead of throwing so the link
 * can count bad frames.
 */
export function decode(data: string | Buffer): PeerMessage | string {
  const msg = decodeWire(data);
  if (typeof msg === 'string') return msg;
  try {
    if (msg.t === 'snapshot') return { ...msg, state: parseState(msg.state, 'peer snapshot') };
    if (msg.t === 'tx') return { ...msg, ops: msg.ops.length ? parseOps(msg.ops) : [] };
  } catch (err) {
    return (err as Error).message;
  }
  return msg as PeerMessage;
}
