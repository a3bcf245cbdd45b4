/**
 * The one place the proxy dataplane chooses who moves TCP bytes (`engine`, `threads` in the options): the
 * epoll engine threads where they can run and were not declined, else Node's sockets. Chosen once, at start.
 */
import { availableParallelism } from 'node:os';
import { EngineUnavailableError, ValidationError } from '../../errors.js';
import type { Logger } from '@vsd/sys';
import { EpollForwarder } from './epoll/forwarder.js';
import { epollEngineUnavailable } from './epoll/client.js';
import type { LocalForwarderSettings } from './local.js';
import { NodeForwarder } from './node/forwarder.js';
import type { ProxyContext, ProxyDataplaneOptions, TcpForwarder } from './types.js';

/** Start the TCP engine the options ask for; `auto` falls back to Node's sockets (with a warning) when epoll cannot run. */
export async function startTcpForwarder(
  options: ProxyDataplaneOptions,
  ctx: ProxyContext,
  log: Logger,
  settings: LocalForwarderSettings,
): Promise<TcpForwarder> {
  const epoll = await startEpoll(options, ctx, log, settings);
  if (epoll) return epoll;
  const node = new NodeForwarder(ctx, settings);
  await node.start();
  return node;
}

/** The epoll engine, or null when the options ask for Node's sockets or `auto` finds it unavailable. */
async function startEpoll(options: ProxyDataplaneOptions, ctx: ProxyContext, log: Logger, settings: LocalForwarderSettings): Promise<EpollForwarder | null> {
  const wanted = options.engine ?? 'auto';
  if (wanted === 'node') return null;
  const why = options.engineScript ? null : epollEngineUnavailable();
  if (why) {
    if (wanted === 'epoll') throw new EngineUnavailableError('proxy_engine epoll', why);
    log.warn({ reason: why }, 'TCP forwarded with Node sockets (the epoll engine is unavailable)');
    return null;
  }
  const threads = options.threads === 'auto' ? availableParallelism() : (options.threads ?? 1);
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) throw new ValidationError('threads', options.threads, 'must be an integer 1..64 or "auto"');
  const e = new EpollForwarder(
    ctx,
    log,
    {
      logLevel: log.level,
      timeouts: ctx.timeouts,
      connectTimeoutMs: ctx.connectTimeoutMs,
      expireQuiescentTemplate: ctx.expireQuiescentTemplate,
      threads,
      ...settings,
    },
    options.engineScript,
  );
  try {
    await e.start();
  } catch (err) {
    if (wanted === 'epoll') throw err;
    log.warn({ err }, 'TCP forwarded with Node sockets (the epoll engine thread did not start)');
    return null;
  }
  log.info({ threads }, threads > 1 ? 'TCP forwarded by the epoll engine threads' : 'TCP forwarded by the epoll engine thread');
  return e;
}
