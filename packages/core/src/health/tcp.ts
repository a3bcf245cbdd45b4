/** TCP_CHECK: a non-blocking connect to the target within connect_timeout; connected = up. */
import { connect, type Socket } from 'node:net';
import { errorReason, fail, ok, type Checker, type CheckSignal, type CheckResult, type CheckTarget } from './checker.js';
import { hostPort } from '../model/address.js';

export interface TcpCheckerOptions {
  target: CheckTarget;
  timeoutMs: number;
}

export function createTcpChecker(options: TcpCheckerOptions): Checker {
  const { target, timeoutMs } = options;
  return {
    kind: 'tcp',
    name: `tcp ${hostPort(target.address, target.port)}`,
    check: (signal) => tcpConnect(target, timeoutMs, signal),
  };
}

function tcpConnect(target: CheckTarget, timeoutMs: number, signal?: CheckSignal): Promise<CheckResult> {
  return new Promise((resolve) => {
    let socket: Socket | undefined;
    let done = false;
    const finish = (r: CheckResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket?.destroy();
      resolve(r);
    };
    const onAbort = (): void => finish(fail('aborted'));
    const timer = setTimeout(() => finish(fail(`timeout after ${timeoutMs} ms`)), timeoutMs);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    socket = connect({ host: target.address, port: target.port });
    // Connected is all TCP_CHECK asks. Closing with a reset (as HAProxy's TCP checks do) leaves no TIME_WAIT
    // socket behind per check and saves the FIN exchange: at a thousand checks a second both add up.
    socket.on('connect', () => {
      socket!.resetAndDestroy();
      finish(ok('connected'));
    });
    socket.on('error', (err) => finish(fail(errorReason(err))));
  });
}
