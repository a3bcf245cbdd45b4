/**
 * The peer-sync decode thread: parses and validates big authenticated frames (a snapshot of a large table, a config
 * reload's `replace`) and digests the snapshot's document, so the main loop, where VRRP runs, spends only the copy of
 * the result. A big snapshot's services come back in parts on a port of their own, which the main thread reads one
 * part per turn of its loop (decoder.ts): no single copy holds the loop for long, whatever the table's size.
 */
import { setPriority } from 'node:os';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { stateDigest } from './digest.js';
import { decode } from './protocol.js';
import { DECODE_NICE, type DecodeReply, type DecodeRequest } from './decoder.js';

/** Real servers (plus services) per part: about 130 KiB of document, well under a millisecond to copy. */
export const PART_WEIGHT = 1000;

let parts: MessagePort | null = null;

// On Linux, setpriority(PRIO_PROCESS, 0) is this thread alone: by default the lowest priority, so that on a busy host
// the main thread (VRRP adverts) gets the CPU before a big document's validation does.
try {
  setPriority((workerData as { nice?: number } | null)?.nice ?? DECODE_NICE);
} catch {
  // not permitted or not supported: decoding still works, at normal priority
}

parentPort!.on('message', (req: DecodeRequest | { parts: MessagePort }) => {
  if ('parts' in req) {
    parts = req.parts;
    return;
  }
  const msg = decode(Buffer.from(req.payload.buffer, req.payload.byteOffset, req.payload.byteLength));
  if (typeof msg === 'string') return parentPort!.postMessage({ id: req.id, error: msg } satisfies DecodeReply);
  if (msg.t !== 'snapshot') return parentPort!.postMessage({ id: req.id, msg } satisfies DecodeReply);
  const digest = stateDigest(msg.state);
  const services = msg.state.services;
  let n = 0;
  if (parts) {
    let chunk: typeof services = [];
    let weight = 0;
    for (const s of services) {
      chunk.push(s);
      weight += 1 + s.realServers.length;
      if (weight >= PART_WEIGHT) {
        parts.postMessage(chunk);
        n++;
        chunk = [];
        weight = 0;
      }
    }
    if (chunk.length) {
      parts.postMessage(chunk);
      n++;
    }
  }
  const reply: DecodeReply = n ? { id: req.id, msg: { ...msg, state: { ...msg.state, services: [] } }, digest, parts: n } : { id: req.id, msg, digest };
  parentPort!.postMessage(reply);
});
