/**
 * The probe thread: runs the health monitor's TCP_CHECK and HTTP_GET probes on libc sockets in its own epoll
 * loop (../../sys/reactor.ts), each on its schedule, and sends the results to the main thread in batches (one
 * message per loop turn that ended probes, a few dozen a second at a thousand checks a second). It never returns
 * to libuv; messages are read when the main thread rings the eventfd, which it does after every post.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { pinned, rawNetCalls, Reactor, type ReactorTimer } from '@vsd/sys';
import type { CheckResult } from '../checker.js';
import type { ProbeData, ProbeMessage, ProbeRequest } from './protocol.js';
import { ProbeTask, type ProbeShared } from './task.js';

const port = parentPort!;
const data = workerData as ProbeData;
const post = (m: ProbeMessage): void => port.postMessage(m);

const tasks = new Map<number, ProbeTask>();
let results: number[] = [];
let reasons: string[] = [];

// A probe that throws is a bug: it is reported and the thread goes on with the others.
const reactor = new Reactor(
  data.wakeFd,
  () => drainMessages(),
  (err) => post({ t: 'error', message: String((err as Error)?.stack ?? err) }),
);
const lingerZero = pinned(8);
lingerZero.buf.writeUInt32LE(1, 0);
const shared: ProbeShared = {
  reactor,
  raw: rawNetCalls(),
  scratch: pinned(64 * 1024),
  lingerZero,
  intBuf: Buffer.alloc(4),
  lenBuf: Buffer.alloc(4),
  report(task: ProbeTask, result: CheckResult, durationMs: number) {
    results.push(task.id, result.ok ? 1 : 0, reactor.now, durationMs);
    reasons.push(result.reason);
    if (!task.scheduled) tasks.delete(task.id);
  },
};

function handle(req: ProbeRequest): void {
  switch (req.op) {
    case 'add':
      for (const add of req.probes) {
        tasks.get(add.id)?.remove();
        const task = new ProbeTask(add, shared);
        tasks.set(add.id, task);
        task.begin();
      }
      return;
    case 'remove':
      for (const id of req.ids) {
        tasks.get(id)?.remove();
        tasks.delete(id);
      }
      return;
    case 'stop':
      flushTimer?.cancel();
      for (const task of tasks.values()) task.remove();
      tasks.clear();
      reactor.stop();
  }
}

function drainMessages(): void {
  for (;;) {
    const m = receiveMessageOnPort(port);
    if (!m) return;
    handle(m.message as ProbeRequest);
  }
}

/**
 * Results go out at most every FLUSH_MS: a postMessage costs about as much CPU as a check, in this thread and in
 * the main thread it wakes, so one message per turn (each connect batch, each answer batch) would double the
 * cost of checking. A health verdict a tenth of a second later changes nothing.
 */
const FLUSH_MS = 100;
let lastFlush = 0;
let flushTimer: ReactorTimer | null = null;

function flush(): void {
  flushTimer = null;
  lastFlush = reactor.now;
  if (results.length === 0) return;
  post({ t: 'results', r: results, reasons });
  results = [];
  reasons = [];
}

function afterTurn(): void {
  if (results.length === 0 || flushTimer) return;
  if (reactor.now - lastFlush >= FLUSH_MS) flush();
  else flushTimer = reactor.at(lastFlush + FLUSH_MS, flush);
}

// A safety net under the eventfd: a request whose wake-up was consumed before the request itself was visible on the
// port is picked up within 200 ms instead of waiting for the next request.
reactor.every(200, () => drainMessages());
post({ t: 'ready' });
// Requests posted before this thread ran are waiting already (the eventfd may have rung before epoll watched it).
// The loop's clock is read per turn; this first batch comes before any turn.
reactor.now = Date.now();
drainMessages();
reactor.run(afterTurn);
