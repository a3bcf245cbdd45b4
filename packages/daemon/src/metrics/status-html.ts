/**
 * The status page, in the spirit of HAProxy's stats page: one self-contained HTML document (inline CSS, no scripts,
 * no external assets), reloaded by a meta refresh. Everything interpolated is escaped by the `html` template tag;
 * only fragments built by that tag pass unescaped, so an agent name or a health check reason (untrusted text) can
 * never become markup.
 */
import type { DispatcherRow, RealServerRow, ServiceRow, StatusView } from './status-view.js';

class Markup {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Value = Markup | string | number | boolean | null | undefined | readonly Value[];

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function interpolate(v: Value): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof Markup) return v.text;
  if (Array.isArray(v)) return v.map(interpolate).join('');
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Markup {
  let out = strings[0]!;
  values.forEach((v, i) => (out += interpolate(v) + strings[i + 1]!));
  return new Markup(out);
}

const STATE_CLASS: Record<string, string> = {
  serving: 'ok',
  reduced: 'warn',
  drained: 'bad',
  removed: 'down',
  quiesced: 'maint',
  sorry: 'bad',
  MASTER: 'ok',
  BACKUP: 'maint',
  FAULT: 'down',
  INIT: 'warn',
  STOP: 'down',
  up: 'ok',
  down: 'down',
  silent: 'down',
  pending: 'warn',
  announced: 'ok',
  withdrawn: 'maint',
  missing: 'down',
  unknown: 'warn',
};

const STYLE = `
body{font:13px/1.35 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:16px;color:#1d2733;background:#f4f6f8}
h1{font-size:18px;margin:0 0 4px}h2{font-size:15px;margin:18px 0 6px}
.meta{color:#566;margin-bottom:10px}.meta b{color:#1d2733}
table{border-collapse:collapse;background:#fff;margin-bottom:10px;min-width:60%;box-shadow:0 1px 2px #0002}
th,td{border:1px solid #cfd6dd;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#38495c;color:#fff;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.svc th{background:#24496e;font-size:14px}
.badge{display:inline-block;padding:1px 6px;border-radius:3px;font-weight:600;font-size:12px}
.ok{background:#c8efc8}.warn{background:#fbeeb0}.bad{background:#f9c99a}.down{background:#f4a3a3}.maint{background:#c9d7f2}
.why{margin:0;padding-left:16px}.src{font-weight:600}
.err{background:#f4a3a3;padding:6px 10px;margin:8px 0;border-radius:3px}
.small{color:#566;font-size:12px}
`;

export function renderStatusPage(view: StatusView): string {
  const title = `vsd on ${view.node}`;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
${view.refresh > 0 ? html`<meta http-equiv="refresh" content="${view.refresh}">` : ''}
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><style>${new Markup(STYLE)}</style></head>
<body>
<h1>${title}</h1>
<div class="meta">dataplane <b>${view.dataplane}</b>${view.engine ? html` (engine ${view.engine})` : ''} · generation <b>${view.generation}</b> · ${view.generatedAt}
 · ${view.refresh > 0 ? html`refresh every ${view.refresh} s (<a href="?refresh=0">stop</a>)` : html`no refresh (<a href="?refresh=5">every 5 s</a>)`} · <a href="status.json">JSON</a> · <a href="metrics">metrics</a></div>
${Object.entries(view.failed).map(([source, message]) => html`<div class="err" id="failed-${source}">${source} did not answer: ${message}</div>`)}
${dispatchersTable(view)}
${view.services.length === 0 ? html`<p>No virtual services.</p>` : view.services.map(serviceTable)}
${agentsTable(view)}
${bgpTable(view)}
${
  view.proxy
    ? html`<h2>Proxy</h2><table id="proxy"><tr><th>live connections</th><th>connect failures</th><th>retries</th><th>no real server</th></tr>
<tr><td class="n">${view.proxy.liveConnections}</td><td class="n">${view.proxy.connectFailures}</td><td class="n">${view.proxy.retries}</td><td class="n">${view.proxy.noDestination}</td></tr></table>`
    : ''
}
</body></html>
`.text;
}

function badge(state: string): Markup {
  return html`<span class="badge ${STATE_CLASS[state] ?? 'warn'}">${state}</span>`;
}

function dispatchersTable(view: StatusView): Markup {
  const s = view.sync;
  return html`<h2>Dispatchers</h2>
<table id="dispatchers"><tr><th></th><th>name</th><th>address</th><th>VRRP state</th><th>priority</th><th>VIPs held</th><th>from</th></tr>
${view.dispatchers.map((d: DispatcherRow) => html`<tr class="dispatcher" data-which="${d.which}"><td>${d.which}</td><td>${d.name}</td><td>${d.address ?? '—'}</td><td class="vrrp-state">${badge(d.state)}</td><td class="n">${d.priority ?? ''}</td><td>${d.vips.join(', ')}</td><td class="small">${d.source}</td></tr>`)}
</table>
${s ? html`<div class="meta" id="sync">peer sync: <b>${s.connected ? 'connected' : 'down'}</b>, ${s.inSync ? 'in sync' : 'not in sync'}, role ${s.role}, generation ${s.generation} / peer ${s.peerGeneration ?? '?'}${s.applyLagMs !== null ? html`, last apply lag ${s.applyLagMs} ms` : ''}${s.lastError && !s.connected ? html`, last error: ${s.lastError}` : ''}</div>` : ''}`;
}

function serviceTable(svc: ServiceRow): Markup {
  const q = svc.quorum;
  return html`<table class="service" data-service="${svc.key}">
<tr class="svc"><th colspan="11">${svc.key} <span class="small" style="color:#dde">scheduler ${svc.scheduler}${q ? html` · quorum ${q.up ? 'up' : 'LOST'} (live weight ${q.liveWeight} / ${q.quorum})` : ''}${svc.sorryServer ? html` · sorry server ${svc.sorryServer} in place` : ''}</span></th></tr>
<tr><th>real server</th><th>fwd</th><th>weight</th><th>effective</th><th>state</th><th>why</th><th>health</th><th>agent</th><th>active / inactive</th><th>connections</th><th>rate</th></tr>
${svc.realServers.map(realServerRow)}
<tr class="total"><td colspan="8"><b>total</b></td><td class="n">${svc.activeConns} / ${svc.inactiveConns}</td><td class="n">${svc.counters.conns}</td><td class="n">${rate(svc.counters.connsPerSecond, svc.counters.inBytesPerSecond, svc.counters.outBytesPerSecond)}</td></tr>
</table>`;
}

function realServerRow(rs: RealServerRow): Markup {
  const h = rs.health;
  const a = rs.agent;
  return html`<tr class="rs" data-real-server="${rs.key}" data-state="${rs.state}">
<td>${rs.key}</td><td>${rs.forwarding}</td><td class="n weight">${rs.weight}</td><td class="n effective">${rs.effectiveWeight}</td><td>${badge(rs.state)}</td>
<td class="why">${rs.why.length ? html`<ul class="why">${rs.why.map((w) => html`<li><span class="src">${w.source}</span>: ${w.reason}</li>`)}</ul>` : ''}</td>
<td>${h ? healthCell(h) : html`<span class="small">no checks</span>`}</td>
<td>${a ? html`${a.name} ${badge(a.state)}<br><span class="small">${a.weightPct !== null ? html`asks ${a.weightPct}%` : ''}${a.loadPerCore !== null ? html`, load/core ${a.loadPerCore.toFixed(2)}` : ''}${a.ageSeconds !== null ? html`, ${a.ageSeconds} s ago` : ''}</span>${a.storage.length ? html`<br><span class="small">storage: ${a.storage.join('; ')}</span>` : ''}` : html`<span class="small">no agent</span>`}</td>
<td class="n">${rs.activeConns} / ${rs.inactiveConns}</td><td class="n">${rs.counters.conns}</td><td class="n">${rate(rs.counters.connsPerSecond, rs.counters.inBytesPerSecond, rs.counters.outBytesPerSecond)}</td>
</tr>`;
}

function healthCell(h: NonNullable<RealServerRow['health']>): Markup {
  // While up, the last check says more than the reason of the last transition ("initial state").
  const detail =
    h.state === 'up' && h.last
      ? `${h.last.checker}: ${h.last.ok ? 'ok' : 'failed'}, ${h.last.reason}, ${h.last.durationMs} ms`
      : `${h.checker ?? ''} ${h.reason}`;
  return html`${badge(h.state)} <span class="small">${detail} (${h.state} since ${h.since}, ${h.transitions} transitions)</span>`;
}

function bgpTable(view: StatusView): Markup {
  const b = view.bgp;
  if (!b) return html``;
  return html`<h2>BGP</h2>
<div class="meta" id="bgp">${b.daemon}: <b>${b.reachable === null ? 'not asked yet' : b.reachable ? 'reachable' : 'unreachable'}</b>${b.error ? html` (${b.error})` : ''}${b.drained ? html`, <b>drained</b>` : ''}, BGP sessions ${b.sessions}</div>
<table id="bgp-vips"><tr><th>VIP</th><th>route</th><th>why</th></tr>
${b.vips.map((v) => html`<tr class="bgp-vip"><td>${v.vip}</td><td>${badge(v.state)}</td><td class="small">${v.reason}</td></tr>`)}
</table>`;
}

function agentsTable(view: StatusView): Markup {
  if (view.agents.length === 0) return html``;
  return html`<h2>Agents</h2>
<table id="agents"><tr><th>agent</th><th>state</th><th>connected</th><th>asks</th><th>load/core</th><th>last report</th><th>storage</th><th>real servers</th></tr>
${view.agents.map(
  (
    a,
  ) => html`<tr class="agent"><td>${a.name}</td><td>${badge(a.state)}</td><td>${a.connected ? 'yes' : 'no'}</td><td class="n">${a.weightPct !== null ? `${a.weightPct}%` : '—'}</td><td class="n">${a.loadPerCore !== null ? a.loadPerCore.toFixed(2) : '—'}</td><td class="n">${a.ageSeconds !== null ? `${a.ageSeconds} s ago` : 'never'}</td>
<td>${a.mounts.map((m) => html`<div>${m.path}: ${m.problem ? html`<span class="badge down">${m.problem}</span>` : html`<span class="badge ok">ok</span>`}</div>`)}${a.storage.filter((p) => !a.mounts.some((m) => m.problem === p)).map((p) => html`<div><span class="badge down">${p}</span></div>`)}</td>
<td class="small">${a.realServers.join(', ')}</td></tr>`,
)}
</table>`;
}

function rate(cps: number, inBps: number, outBps: number): string {
  return `${cps}/s · in ${bytes(inBps)}/s · out ${bytes(outBps)}/s`;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
