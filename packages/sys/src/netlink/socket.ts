/**
 * A netlink socket over libc through koffi (Node has no AF_NETLINK). Calls are synchronous: the kernel
 * answers netlink requests while still inside sendto(), so a reply is already queued when recv() runs;
 * SO_RCVTIMEO bounds the wait anyway so a missing reply can never hang the event loop for long.
 *
 * Requests can be batched: many messages in one sendto() are processed by the kernel one after the
 * other (netlink_rcv_skb) and each gets its own ACK; dumps are the exception and go one at a time. NETLINK_CAP_ACK keeps error ACKs small (the request
 * is not echoed), which keeps a batch's ACKs well inside the receive buffer.
 */
import { libc as loadLibc, libcErrno } from '../libc.js';
import { NetlinkError, SyscallError } from '../errors.js';
import {
  AF_NETLINK,
  NETLINK_CAP_ACK,
  NETLINK_GENERIC,
  NETLINK_ROUTE,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_RCVTIMEO,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOL_NETLINK,
  SOL_SOCKET,
} from './constants.js';
import { MSG_TRUNC } from '../constants.js';
import { EAGAIN } from '../errno.js';
import { encodeMessage, errorCode, parseMessages, type NlMessage } from './message.js';

/** Largest batch handed to one sendto(). */
const BATCH_BYTES = 48 * 1024;

export interface NetlinkSocketOptions {
  /** Longest wait for a reply; default 5000 ms. */
  timeoutMs?: number;
  /** Receive buffer (SO_RCVBUF[FORCE]); default 4 MiB. */
  rcvbuf?: number;
  /** Largest datagram one recv() reads (dump parts come in datagrams of up to 32 KiB); default 1 MiB. */
  readBytes?: number;
}

/** One request of a batch; `seq` is assigned by the socket. */
export interface NetlinkRequest {
  type: number;
  flags: number;
  payload: Uint8Array;
}

/** Outcome of one request: 0 or the positive errno, and the data messages it produced (dump parts, doit replies). */
export interface NetlinkOutcome {
  errno: number;
  messages: NlMessage[];
}

export class NetlinkSocket {
  private seq = Math.floor(Math.random() * 0x10000000);
  private readonly rbuf: Buffer;
  private closed = false;

  private constructor(
    private readonly fd: number,
    readonly protocol: number,
    readBytes: number,
  ) {
    this.rbuf = Buffer.alloc(readBytes);
  }

  static open(protocol: number, opts: NetlinkSocketOptions = {}): NetlinkSocket {
    const c = loadLibc();
    const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
    if (fd < 0) throw new SyscallError('socket(AF_NETLINK)', libcErrno(), { protocol: protocolName(protocol) });
    const sock = new NetlinkSocket(fd, protocol, opts.readBytes ?? 1 << 20);
    try {
      const sa = Buffer.alloc(12);
      sa.writeUInt16LE(AF_NETLINK, 0);
      if (c.bind(fd, sa, sa.length) < 0) throw sock.error('bind(AF_NETLINK)', libcErrno());
      sock.setInt(SOL_NETLINK, NETLINK_CAP_ACK, 1, 'setsockopt(NETLINK_CAP_ACK)');
      const size = opts.rcvbuf ?? 4 << 20;
      // FORCE needs CAP_NET_ADMIN; without it the plain option still gets what rmem_max allows.
      if (!sock.trySetInt(SOL_SOCKET, SO_RCVBUFFORCE, size)) sock.trySetInt(SOL_SOCKET, SO_RCVBUF, size);
      if (!sock.trySetInt(SOL_SOCKET, SO_SNDBUFFORCE, 1 << 20)) sock.trySetInt(SOL_SOCKET, SO_SNDBUF, 1 << 20);
      const ms = opts.timeoutMs ?? 5000;
      const tv = Buffer.alloc(16);
      tv.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), 0);
      tv.writeBigInt64LE(BigInt((ms % 1000) * 1000), 8);
      if (c.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, 16) < 0) throw sock.error('setsockopt(SO_RCVTIMEO)', libcErrno());
    } catch (err) {
      sock.close();
      throw err;
    }
    return sock;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    loadLibc().close(this.fd);
  }

  /**
   * One request; the kernel's -errno answer throws a SyscallError whose `syscall` is `operation` (the request stands
   * for the call). Returns its reply messages (empty for a plain ACK).
   */
  request(
    type: number,
    flags: number,
    payload: Uint8Array,
    operation = `netlink request type ${type}`,
    context: Record<string, string | number> = {},
  ): NlMessage[] {
    const [r] = this.batch([{ type, flags: flags | NLM_F_REQUEST | NLM_F_ACK, payload }]);
    if (r!.errno) throw new SyscallError(operation, r!.errno, context);
    return r!.messages;
  }

  /** A dump request: all NLM_F_MULTI parts up to NLMSG_DONE. */
  dump(type: number, payload: Uint8Array, operation = `netlink dump type ${type}`, context: Record<string, string | number> = {}): NlMessage[] {
    const [r] = this.batch([{ type, flags: NLM_F_REQUEST | NLM_F_DUMP, payload }]);
    if (r!.errno) throw new SyscallError(operation, r!.errno, context);
    return r!.messages;
  }

  /**
   * Sends requests in as few sendto() calls as fit BATCH_BYTES, and collects each one's outcome in order.
   * A failed request does not stop the ones after it (the kernel processes every message of a batch).
   */
  batch(requests: readonly NetlinkRequest[]): NetlinkOutcome[] {
    const out: NetlinkOutcome[] = [];
    let i = 0;
    while (i < requests.length) {
      const chunk: Buffer[] = [];
      const seqs: number[] = [];
      let bytes = 0;
      while (i < requests.length && (chunk.length === 0 || bytes + requests[i]!.payload.length + 16 <= BATCH_BYTES)) {
        // Netlink runs one dump per socket at a time (a second one gets EBUSY): a dump goes alone.
        if (isDump(requests[i]!) && chunk.length > 0) break;
        const r = requests[i++]!;
        const seq = this.nextSeq();
        const msg = encodeMessage(r.type, r.flags | NLM_F_REQUEST, seq, r.payload);
        chunk.push(msg);
        seqs.push(seq);
        bytes += msg.length;
        if (isDump(r)) break;
      }
      this.send(Buffer.concat(chunk));
      out.push(...this.collect(seqs));
    }
    return out;
  }

  private collect(seqs: number[]): NetlinkOutcome[] {
    const pending = new Map<number, NetlinkOutcome>();
    for (const s of seqs) pending.set(s, { errno: -1, messages: [] });
    const results = seqs.map((s) => pending.get(s)!);
    let open = seqs.length;
    while (open > 0) {
      for (const m of this.receive()) {
        const r = pending.get(m.seq);
        if (!r || r.errno !== -1) continue; // stale reply of an earlier, timed-out exchange
        if (m.type === NLMSG_ERROR) {
          const code = errorCode(m.payload);
          // A dump that fails answers NLMSG_ERROR; a doit/ACK request ends with it (0 = success).
          r.errno = -code;
          open--;
        } else if (m.type === NLMSG_DONE) {
          const code = m.payload.length >= 4 ? m.payload.readInt32LE(0) : 0;
          r.errno = code < 0 ? -code : 0;
          open--;
        } else if (m.type === NLMSG_OVERRUN) {
          throw new NetlinkError('recv', 'EOVERFLOW', 'message overrun');
        } else if (m.type !== NLMSG_NOOP) {
          // Data: dump parts (NLM_F_MULTI) or a doit reply; every request we send ends with an ACK or DONE.
          r.messages.push(m);
        }
      }
    }
    return results;
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  private send(buf: Buffer): void {
    this.assertOpen();
    const sa = Buffer.alloc(12);
    sa.writeUInt16LE(AF_NETLINK, 0);
    const n = loadLibc().sendto(this.fd, buf, buf.length, 0, sa, 12);
    if (n < 0) throw this.error('sendto(AF_NETLINK)', libcErrno());
  }

  private receive(): NlMessage[] {
    this.assertOpen();
    const n = loadLibc().recv(this.fd, this.rbuf, this.rbuf.length, MSG_TRUNC);
    if (n < 0) {
      const e = libcErrno();
      if (e === EAGAIN) throw new NetlinkError('recv', 'ETIMEDOUT', 'no reply from the kernel before the timeout');
      throw this.error('recv(AF_NETLINK)', e);
    }
    if (n > this.rbuf.length) throw new NetlinkError('recv', 'EMSGSIZE', `reply of ${n} bytes truncated`, 'EMSGSIZE');
    // Copy: the receive buffer is reused by the next call.
    return parseMessages(Buffer.from(this.rbuf.subarray(0, n)));
  }

  private setInt(level: number, name: number, v: number, call: string): void {
    if (!this.trySetInt(level, name, v)) throw this.error(call, libcErrno());
  }

  private error(call: string, errno: number): SyscallError {
    return new SyscallError(call, errno, { protocol: protocolName(this.protocol) });
  }

  private trySetInt(level: number, name: number, v: number): boolean {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v, 0);
    return loadLibc().setsockopt(this.fd, level, name, b, 4) === 0;
  }

  private assertOpen(): void {
    if (this.closed) throw new NetlinkError('use', 'EBADF', 'socket is closed');
  }
}

const isDump = (r: NetlinkRequest): boolean => (r.flags & NLM_F_DUMP) === NLM_F_DUMP;

const protocolName = (p: number): string => (p === NETLINK_ROUTE ? 'NETLINK_ROUTE' : p === NETLINK_GENERIC ? 'NETLINK_GENERIC' : String(p));
