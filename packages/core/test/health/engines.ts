/**
 * The two ways TCP_CHECK and HTTP_GET run: in the probe thread on libc sockets ("epoll", needs `pnpm build`) and
 * with Node sockets ("node"). Checker-level tests run on both through these helpers.
 */
import { afterAll } from 'vitest';
import type { Checker } from '../../src/health/checker.js';
import type { CheckSpec } from '../../src/health/config.js';
import { createHttpChecker, type HttpCheckerOptions } from '../../src/health/http.js';
import { ProbeThread, probeChecker } from '../../src/health/probe/client.js';
import { probeDef } from '../../src/health/probe/spec.js';
import { createTcpChecker, type TcpCheckerOptions } from '../../src/health/tcp.js';
import { silentLogger } from '@vsd/sys';
import { DEFAULT_DELAY_BEFORE_RETRY_HTTP } from '../../src/health/constants.js';

export type Engine = 'auto' | 'epoll' | 'node';
export const ENGINES = [{ engine: 'epoll' as const }, { engine: 'node' as const }];

let thread: ProbeThread | null = null;
afterAll(async () => {
  await thread?.stop();
  thread = null;
});

/** One probe thread per test file, started on first use. */
export function sharedProbeThread(): ProbeThread {
  if (!thread) {
    thread = new ProbeThread(silentLogger);
    thread.start();
  }
  return thread;
}

const common = { retry: 0, delayBeforeRetryMs: DEFAULT_DELAY_BEFORE_RETRY_HTTP, rise: 1, fall: 1 };

export function tcpChecker(engine: Engine, o: TcpCheckerOptions): Checker {
  const node = createTcpChecker(o);
  if (engine === 'node') return node;
  const spec: CheckSpec = { kind: 'tcp', connectTimeoutMs: o.timeoutMs, ...common };
  return probeChecker(sharedProbeThread(), probeDef(spec, o.target)!, node);
}

export function httpChecker(engine: Engine, o: HttpCheckerOptions): Checker {
  const node = createHttpChecker(o);
  if (engine === 'node' || o.tls) return node;
  const spec: CheckSpec = {
    kind: 'http',
    connectTimeoutMs: o.timeoutMs,
    ...common,
    path: o.path,
    statusCodes: [...o.statusCodes],
    digest: o.digest,
    virtualhost: o.virtualhost,
    enableSni: false,
    verify: false,
  };
  return probeChecker(sharedProbeThread(), probeDef(spec, o.target)!, node);
}
