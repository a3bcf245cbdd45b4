/**
 * Peer-sync framing over TCP: a 4-byte big-endian payload length, then the payload (UTF-8 JSON). A zero length is a
 * heartbeat. The reader checks the announced length against the current limit before it keeps a byte of the payload,
 * so a peer that has not authenticated can make this side hold at most one small frame, whatever it claims to send.
 */

export const FRAME_HEADER = 4;
export const MAX_FRAME_LIMIT = 0xffff_ffff;

export function encodeFrame(payload: string): Buffer {
  const size = Buffer.byteLength(payload, 'utf8');
  const frame = Buffer.allocUnsafe(FRAME_HEADER + size);
  frame.writeUInt32BE(size, 0);
  frame.write(payload, FRAME_HEADER, 'utf8');
  return frame;
}

export const HEARTBEAT = Buffer.alloc(FRAME_HEADER);

export class FrameTooLargeError extends Error {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`frame of ${size} bytes above the limit of ${limit}`);
  }
}

/**
 * Cuts a byte stream into frames. `next()` hands out one frame at a time and checks each header against the limit
 * current at that moment, so the frames that follow the handshake in the same read are held to the limit that applies
 * once it succeeded, and junk after a failed handshake is never parsed.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Payload length of the frame being read, or -1 while its header is incomplete. */
  private want = -1;

  constructor(public limit: number) {}

  /** Bytes held and not handed out yet. */
  get pending(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next complete payload (an empty one is a heartbeat), or null. Throws FrameTooLargeError. */
  next(): Buffer | null {
    if (this.want < 0) {
      if (this.buffered < FRAME_HEADER) return null;
      const size = this.take(FRAME_HEADER).readUInt32BE(0);
      if (size > this.limit) throw new FrameTooLargeError(size, this.limit);
      this.want = size;
    }
    if (this.buffered < this.want) return null;
    const out = this.take(this.want);
    this.want = -1;
    return out;
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let at = 0;
      while (at < n) {
        const c = this.chunks[0]!;
        const k = Math.min(c.length, n - at);
        c.copy(out, at, 0, k);
        at += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= n;
    return out;
  }
}
