/** What every connection of the epoll engine borrows: the scratch buffer, small syscall arguments, cached addresses. */
import { encodeSockaddr, pinned, rawNetCalls, type Pinned, type RawNetCalls } from '@vsd/sys';
import type { SchedDest } from '../../../scheduler/types.js';

/**
 * One recv() takes up to this much. Large enough that a bulk transfer moves a loopback socket's whole queue in
 * a call or two; it is one buffer for the whole thread, so its size costs nothing per connection.
 */
const SCRATCH_BYTES = 256 * 1024;

export class EngineShared {
  /** The hot calls with pointers as numbers, on the pinned buffers below. */
  readonly raw: RawNetCalls = rawNetCalls();
  private readonly scratchPin: Pinned = pinned(SCRATCH_BYTES);
  readonly scratch = this.scratchPin.buf;
  readonly scratchAddr = this.scratchPin.addr;
  /** int 1, for boolean socket options; then struct linger { l_onoff = 1, l_linger = 0 }: close() sends a RST. */
  private readonly optsPin: Pinned = pinned(12);
  readonly oneAddr = this.optsPin.addr;
  readonly lingerZeroAddr = this.optsPin.addr + 4;
  constructor() {
    this.optsPin.buf.writeInt32LE(1, 0);
    this.optsPin.buf.writeInt32LE(1, 4);
    this.optsPin.buf.writeInt32LE(0, 8);
  }

  readonly intBuf = Buffer.alloc(4);
  readonly lenBuf = Buffer.alloc(4);
  /** Connections whose real server is being connected, checked against their deadline by a timer. */
  readonly connecting = new Set<Connecting>();
  /** Connections alive in the engine, for the main thread's connectionCount(). */
  liveConns = 0;
  /** Connections this thread's listeners accepted since start. */
  accepted = 0;
  /** Keyed by the destination object: no key string to build per connection, and it goes with the destination. */
  private readonly addrs = new WeakMap<SchedDest, RealServerAddress>();

  /** The sockaddr of a real server, cached and pinned for connect() (no address parsing per connection). */
  sockaddr(dest: SchedDest): RealServerAddress {
    let a = this.addrs.get(dest);
    if (!a) {
      const b = encodeSockaddr(dest.address, dest.port);
      const pin = pinned(b.length);
      b.copy(pin.buf);
      // sa_family is the first field.
      a = { pin, family: b.readUInt16LE(0) };
      this.addrs.set(dest, a);
    }
    return a;
  }
}

/** A connection whose real server is being connected (an EngineTcpConn), as the connect-timeout timer sees it. */
export interface Connecting {
  readonly connectDeadline: number;
  connectTimedOut(): void;
}

/** A real server's sockaddr in pinned memory (its address and length for connect()), and its family for socket(). */
export interface RealServerAddress {
  readonly pin: Pinned;
  readonly family: number;
}
