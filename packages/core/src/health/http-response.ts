/**
 * Reads a close-delimited HTTP/1.0 answer for HTTP_GET / SSL_GET: the status line, then (for a digest) the body's
 * MD5, and judges it. Shared by the Node-socket checker (http.ts) and the probe thread (probe/task.ts), so both
 * give the same verdicts and reasons. Chunks may be scratch memory the caller reuses: what is kept is copied.
 */
import { createHash, type Hash } from 'node:crypto';
import { fail, ok, type CheckResult } from './checker.js';
import { formatStatusCodes, statusAccepted, type StatusRange } from './status-codes.js';

/** A response head bigger than this is not a health answer. */
const MAX_HEAD = 64 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

export class ResponseReader {
  private head: Buffer | null = EMPTY;
  private status = 0;
  private md5: Hash | null = null;
  private remaining = Infinity;

  constructor(
    private readonly statusCodes: readonly StatusRange[],
    private readonly digest: string | undefined,
    private readonly finish: (r: CheckResult) => void,
  ) {}

  data(chunk: Buffer): void {
    if (this.head === null) return this.body(chunk);
    const head = this.head.length ? Buffer.concat([this.head, chunk]) : chunk;
    const end = head.indexOf(HEAD_END);
    if (end < 0) {
      if (head.length > MAX_HEAD) return this.finish(fail('response head too large'));
      // Kept for the next chunk: a copy, since `chunk` may be reused by the caller.
      this.head = head === chunk ? Buffer.from(chunk) : head;
      return;
    }
    this.head = null;
    this.judgeHead(head, end);
  }

  end(): void {
    if (this.head !== null) return this.finish(fail('connection closed before the response'));
    this.judgeDigest();
  }

  private judgeHead(head: Buffer, end: number): void {
    const status = statusOf(head);
    if (status < 0) return this.finish(fail('not an HTTP response'));
    this.status = status;
    if (!statusAccepted(status, this.statusCodes)) return this.finish(fail(`status ${status} not in ${formatStatusCodes(this.statusCodes)}`));
    if (!this.digest) return this.finish(ok(`status ${status}`));
    const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head.toString('latin1', 0, end));
    if (length) this.remaining = Number(length[1]);
    this.md5 = createHash('md5');
    this.body(head.subarray(end + HEAD_END.length));
  }

  private body(chunk: Buffer): void {
    if (!this.md5) return;
    const part = chunk.length > this.remaining ? chunk.subarray(0, this.remaining) : chunk;
    this.md5.update(part);
    this.remaining -= part.length;
    // A server that keeps the connection open after a sized body has said all it will.
    if (this.remaining <= 0) this.judgeDigest();
  }

  private judgeDigest(): void {
    if (!this.md5) return;
    const got = this.md5.digest('hex');
    this.md5 = null;
    this.finish(got === this.digest ? ok(`status ${this.status}, digest matches`) : fail(`digest ${got} differs from ${this.digest}`));
  }
}

const digit = (b: number | undefined): boolean => b !== undefined && b >= 0x30 && b <= 0x39;

/** The status of "HTTP/d.d ddd..." read from the bytes (no string per check), or -1. */
function statusOf(h: Buffer): number {
  if (h[0] !== 0x48 || h[1] !== 0x54 || h[2] !== 0x54 || h[3] !== 0x50 || h[4] !== 0x2f) return -1;
  if (!digit(h[5]) || h[6] !== 0x2e || !digit(h[7]) || h[8] !== 0x20) return -1;
  if (!digit(h[9]) || !digit(h[10]) || !digit(h[11])) return -1;
  return (h[9]! - 0x30) * 100 + (h[10]! - 0x30) * 10 + (h[11]! - 0x30);
}
