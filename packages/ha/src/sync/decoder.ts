/**
 * Decodes authenticated peer frames: small ones inline, big ones in a thread of their own (decode-thread.ts), so
 * validating a large document never holds the main loop, where VRRP adverts are sent and heard, for more than the copy
 * of the result. Without a built thread (tests from source without `pnpm build`) big frames are decoded inline and
 * that is logged once.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { Logger } from '@vsd/core';
import { decode, type PeerMessage } from './protocol.js';

export interface DecodeRequest {
  id: number;
  payload: Uint8Array;
}
/** `parts`: a snapshot whose services follow on the parts port, in that many messages. */
export type DecodeReply = { id: number; msg: PeerMessage; digest?: string; parts?: number } | { id: number; error: string };

export interface Decoded {
  msg: PeerMessage;
  /** The snapshot document's digest when it was computed off the main loop. */
  digest?: string;
}

/** Frames up to this size are decoded inline (well under a millisecond); bigger ones go to the thread. */
export const INLINE_DECODE_MAX = 64 * 1024;

/** The decode thread's nice value: the lowest priority, so the main thread (VRRP adverts) gets the CPU first. */
export const DECODE_NICE = 19;

export function decodeThreadScript(): string | null {
  const sibling = new URL('./decode-thread.js', import.meta.url);
  if (existsSync(sibling)) return fileURLToPath(sibling);
  const dist = new URL('../../dist/sync/decode-thread.js', import.meta.url);
  return existsSync(dist) ? fileURLToPath(dist) : null;
}

export class FrameDecoder {
  private worker: Worker | null = null;
  private parts: MessagePort | null = null;
  /** Replies are completed one at a time: their parts share one port. */
  private completing: Promise<void> = Promise.resolve();
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve(d: Decoded | string): void }>();
  private warned = false;
  private closed = false;

  constructor(
    private readonly log: Logger,
    private readonly script: string | null = decodeThreadScript(),
    private readonly inlineMax = INLINE_DECODE_MAX,
    private readonly nice = DECODE_NICE,
  ) {}

  /** True when big frames go to the thread. */
  get threaded(): boolean {
    return this.script !== null;
  }

  decode(payload: Buffer): Promise<Decoded | string> {
    if (payload.length <= this.inlineMax || !this.script || this.closed) return Promise.resolve(this.inline(payload));
    const worker = this.thread();
    const id = this.nextId++;
    // A payload of this size has an ArrayBuffer of its own (never Node's shared pool): hand it over without a copy.
    const own = payload.byteOffset === 0 && payload.byteLength === payload.buffer.byteLength;
    const view = own ? new Uint8Array(payload.buffer) : new Uint8Array(payload);
    return new Promise((resolve) => {
      this.waiting.set(id, { resolve });
      worker.postMessage({ id, payload: view } satisfies DecodeRequest, [view.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    this.parts?.close();
    this.parts = null;
    for (const [, p] of this.waiting) p.resolve('peer sync stopped');
    this.waiting.clear();
    await w?.terminate();
  }

  /**
   * Resolve a reply; a snapshot's services are read from the parts port one part per loop turn (each read copies that
   * part only), so timers run in between.
   */
  private async complete(r: DecodeReply): Promise<void> {
    const parts = 'error' in r ? 0 : (r.parts ?? 0);
    const services: unknown[] = [];
    for (let i = 0; i < parts; i++) {
      await new Promise((res) => setImmediate(res));
      const m = this.parts ? receiveMessageOnPort(this.parts) : undefined;
      if (!m) break;
      for (const s of m.message as unknown[]) services.push(s);
    }
    const p = this.waiting.get(r.id);
    if (!p) return;
    this.waiting.delete(r.id);
    if ('error' in r) return p.resolve(r.error);
    if (parts && r.msg.t === 'snapshot') {
      if (services.length === 0 && parts > 0) return p.resolve('decode thread: snapshot parts lost');
      r.msg.state.services = services as typeof r.msg.state.services;
    }
    p.resolve({ msg: r.msg, digest: r.digest });
  }

  private inline(payload: Buffer): Decoded | string {
    if (payload.length > this.inlineMax && !this.warned) {
      this.warned = true;
      this.log.warn({ bytes: payload.length }, 'the peer-sync decode thread is not built (pnpm build): big frames are decoded on the main loop');
    }
    const msg = decode(payload);
    return typeof msg === 'string' ? msg : { msg };
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.script!, { name: 'vsd-peer-decode', workerData: { nice: this.nice } });
    worker.unref();
    const channel = new MessageChannel();
    this.parts = channel.port1;
    channel.port1.unref();
    worker.postMessage({ parts: channel.port2 }, [channel.port2]);
    worker.on('message', (r: DecodeReply) => {
      this.completing = this.completing.then(() => this.complete(r));
    });
    const lost = (why: string): void => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.parts?.close();
      this.parts = null;
      this.log.error({ reason: why }, 'peer-sync decode thread lost; frames waiting on it are dropped');
      for (const [, p] of this.waiting) p.resolve(`decode thread lost: ${why}`);
      this.waiting.clear();
    };
    worker.on('error', (err) => lost(err.message));
    worker.on('exit', (code) => lost(`exit ${code}`));
    this.worker = worker;
    return worker;
  }
}
