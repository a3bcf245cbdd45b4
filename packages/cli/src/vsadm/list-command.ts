/** -L and -S: fetch state, status and connections from vsd and print them as ipvsadm does. */
import { isFwmark, serviceKey, type ControlClient, type DesiredState } from '@vsd/core';
import type { Reply, StatusReply } from '@vsd/protocol';
import { serviceIdOfSpec } from './build.js';
import type { ParsedCommand } from './command.js';
import { fail } from './exit.js';
import { ipvsStrerror } from './errors.js';
import { formatListAll, formatListService, type IpvsInfo } from './format/list.js';
import { formatConnections, formatDaemons, formatTimeouts } from './format/misc.js';
import { buildNamer, NUMERIC, type Namer } from './format/names.js';
import { buildView, type Effective, type ServiceView } from './format/view.js';
import type { Resolver } from './resolve.js';

type StatusDoc = Partial<Pick<StatusReply, 'services'>> & { info?: Partial<IpvsInfo> };

/** A failed fetch: ipvsadm prints the library's message and exits 1. */
async function fetch<N extends 'state' | 'status' | 'connections'>(client: ControlClient, name: N): Promise<Reply<N>> {
  try {
    return await client.call(name);
  } catch (err) {
    if ((err as { code?: string }).code === 'VSD_ERR_CONTROL_UNREACHABLE') throw err;
    throw fail(1, ipvsStrerror('get-service', (err as { errno?: string }).errno));
  }
}

/** Effective weights are optional: an older vsd (or a test double) without /v1/realservers lists configured ones. */
async function effectiveWeights(client: ControlClient): Promise<Map<string, Effective> | undefined> {
  try {
    const doc = await client.call('realservers');
    const out = new Map<string, Effective>();
    for (const s of doc.services ?? []) for (const r of s.realServers) out.set(`${s.key}|${r.key}`, r);
    return out;
  } catch (err) {
    if ((err as { code?: string }).code === 'VSD_ERR_CONTROL_UNREACHABLE') throw err;
    return undefined;
  }
}

async function namerFor(addresses: string[], ce: ParsedCommand, resolver: Resolver): Promise<Namer> {
  return ce.format.numeric ? NUMERIC : buildNamer(addresses, resolver);
}

export async function runList(ce: ParsedCommand, client: ControlClient, resolver: Resolver): Promise<string> {
  const o = ce.options;
  if (o.has('connection')) {
    const { connections } = await fetch(client, 'connections');
    const addrs = connections.flatMap((c) => [c.client.address, c.virtual.address, c.destination.address]);
    return formatConnections(connections, ce.format, await namerFor(addrs, ce, resolver));
  }
  const table = !(o.has('timeout') || o.has('daemon'));
  // -S saves the configuration (configured weights, every real server); listings show what runs.
  const [state, status, effective] = await Promise.all([
    fetch(client, 'state') as Promise<DesiredState>,
    table ? (fetch(client, 'status') as Promise<StatusDoc>) : Promise.resolve({} as StatusDoc),
    table && !ce.format.rule ? effectiveWeights(client) : Promise.resolve(undefined),
  ]);
  const views = buildView(state, status.services ?? [], ce.format.nosort, effective);
  if (ce.cmd === 'list' && o.has('service-address')) {
    const key = serviceKey(serviceIdOfSpec(ce.svc));
    const view = views.find((v) => serviceKey(v.svc) === key);
    if (!view) throw fail(1, ipvsStrerror('get-service', 'ESRCH'));
    return formatListService(view, ce.format, await namerFor(addressesOf([view]), ce, resolver));
  }
  if (o.has('timeout')) return formatTimeouts(state.timeouts);
  if (o.has('daemon')) return formatDaemons(state.syncDaemons);
  const info: IpvsInfo = { version: status.info?.version ?? '1.2.1', connTableSize: status.info?.connTableSize ?? 4096 };
  return formatListAll(views, info, ce.format, await namerFor(addressesOf(views), ce, resolver));
}

function addressesOf(views: readonly ServiceView[]): string[] {
  return views.flatMap((v) => [...(isFwmark(v.svc) ? [] : [v.svc.address]), ...v.dests.map((d) => d.rs.address)]);
}
