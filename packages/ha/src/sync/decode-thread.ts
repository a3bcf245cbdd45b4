/**
 * The peer-sync decode thread: parses and validates big authenticated frames (a snapshot of a large table, a config
 * reload's `replace`) and digests the snapshot's document, so the main loop, where VRRP runs, spends only the
 * structured-clone copy of the result.
 */
import { parentPort } from 'node:worker_threads';
import { stateDigest } from './digest.js';
import { decode } from './protocol.js';
import type { DecodeReply, DecodeRequest } from './decoder.js';

parentPort!.on('message', (req: DecodeRequest) => {
  const msg = decode(Buffer.from(req.payload.buffer, req.payload.byteOffset, req.payload.byteLength));
  const reply: DecodeReply =
    typeof msg === 'string' ? { id: req.id, error: msg } : { id: req.id, msg, digest: msg.t === 'snapshot' ? stateDigest(msg.state) : undefined };
  parentPort!.postMessage(reply);
});
