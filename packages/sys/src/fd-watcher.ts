/**
 * Waits for a raw file descriptor to become readable without blocking the event loop: poll() runs on the
 * libuv thread pool through koffi's `.async()`, together with a self-pipe so that close() wakes it at once.
 * One pool thread stays parked per watcher (libuv's pool has 4 by default; set UV_THREADPOOL_SIZE if a process
 * runs many instances).
 */
import { VsdError } from '@vsd/protocol';
import { POLLIN, SOCK_CLOEXEC, SOCK_NONBLOCK } from './constants.js';
import { checkSyscall, libc } from './libc.js';

export class FdWatcher {
  private readonly pipe: [number, number];
  private readonly pollfds = Buffer.alloc(16);
  private closing = false;
  private loop: Promise<void> | undefined;

  constructor(
    fd: number,
    private readonly onReadable: () => void,
    private readonly onError: (err: Error) => void = () => {},
  ) {
    const fds = new Int32Array(2);
    // pipe2 flags share values with socket's O_NONBLOCK / O_CLOEXEC.
    checkSyscall('pipe2', libc().pipe2(fds, SOCK_NONBLOCK | SOCK_CLOEXEC));
    this.pipe = [fds[0]!, fds[1]!];
    this.pollfds.writeInt32LE(fd, 0);
    this.pollfds.writeInt16LE(POLLIN, 4);
    this.pollfds.writeInt32LE(this.pipe[0], 8);
    this.pollfds.writeInt16LE(POLLIN, 12);
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Wakes the pending poll, waits for the loop to end, then closes the pipe (never the watched fd). */
  async close(): Promise<void> {
    if (this.closing) return this.loop;
    this.closing = true;
    libc().write(this.pipe[1], Buffer.from([1]), 1);
    await this.loop;
    libc().close(this.pipe[0]);
    libc().close(this.pipe[1]);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closing) {
      this.pollfds.writeInt16LE(0, 6);
      this.pollfds.writeInt16LE(0, 14);
      const n = await this.pollOnce();
      if (this.closing) break;
      if (n < 0) {
        // EINTR is the usual cause; a persistent failure is reported and slowed down rather than spun on.
        if (++failures > 3) {
          // koffi runs the async call on its own thread, so errno is not ours to read: say what is known.
          this.onError(new VsdError('VSD_ERR_SYSCALL', `poll failed ${failures} times in a row`, { details: { syscall: 'poll', failures } }));
          await new Promise((r) => setTimeout(r, 100));
        }
        continue;
      }
      failures = 0;
      if (this.pollfds.readInt16LE(6) !== 0) {
        try {
          this.onReadable();
        } catch (err) {
          this.onError(err as Error);
        }
      }
    }
  }

  private pollOnce(): Promise<number> {
    return new Promise((resolve) => {
      libc().poll.async(this.pollfds, 2, -1, (err, res) => resolve(err ? -1 : res));
    });
  }
}
