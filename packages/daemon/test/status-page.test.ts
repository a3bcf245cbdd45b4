import { existsSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createControlClient } from '@vsd/core';
import { freePort, realServer, spawnVsd, TempDir, throughVip, type VsdProcess } from './harness.js';
import { artifactsDir, dumpDom, screenshot } from './chromium.js';
import { renderStatusPage } from '../src/metrics/status-html.js';
import { buildStatusView } from '../src/metrics/status-view.js';
import { fixtureSnapshot, HOSTILE_AGENT } from './metrics-fixture.js';

let dir: TempDir;
let running: VsdProcess | null = null;
const cleanups: Array<() => void> = [];
afterEach(async () => {
  await running?.stop();
  running = null;
  for (const c of cleanups.splice(0)) c();
  dir?.remove();
});

function get(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
    })
      .on('error', reject)
      .end();
  });
}

interface StatusJson {
  services: Array<{
    key: string;
    realServers: Array<{ key: string; state: string; weight: number; effectiveWeight: number; why: Array<{ source: string; reason: string }> }>;
  }>;
  dispatchers: Array<{ which: string; state: string }>;
}

/** The <tr class="rs"> of one real server in the serialized DOM. */
function row(dom: string, rs: string): string {
  const m = new RegExp(`<tr class="rs" data-real-server="${rs.replace(/\./g, '\\.')}"[^>]*>[\\s\\S]*?</tr>`).exec(dom);
  if (!m) throw new Error(`no row for ${rs} in the DOM`);
  return m[0];
}

const text = (fragment: string) =>
  fragment
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

describe('vsd status page in headless Chromium', () => {
  it('shows services, weights and why a server is drained or quiesced; screenshot in the artifacts dir', async () => {
    dir = new TempDir();
    const a = await realServer('rs-a', cleanups);
    const b = await realServer('rs-b', cleanups);
    const c = await realServer('rs-c', cleanups);
    const closed = await freePort();
    const vip = await freePort();
    const config = dir.file(
      'vsd.yaml',
      `dataplane: proxy
metrics: { listen: "127.0.0.1:0", refresh: 2 }
virtual_servers:
  - address: 127.0.0.1:${vip}
    lb_algo: wrr
    inhibit_on_failure: true
    delay_loop: 0.2
    real_servers:
      - address: 127.0.0.1:${a}
        weight: 3
      - address: 127.0.0.1:${b}
        weight: 2
        checks:
          - tcp_check: { connect_port: ${closed} }
            connect_timeout: 0.5
            retry: 0
      - address: 127.0.0.1:${c}
        weight: 1
`,
    );
    const vsd = spawnVsd(['--config', config, '--socket', join(dir.path, 'vsd.sock'), '--state', 'none']);
    running = vsd;
    const port = (await vsd.waitForLog(/^metrics listener ready/)).port as number;
    await vsd.waitForLog(/^vsd ready$/);

    // The operator quiesces c, as `vsadm -e -t VIP -r c -w 0` does.
    await createControlClient({ socket: join(dir.path, 'vsd.sock') }).post('/v1/transactions', {
      ops: [
        {
          op: 'edit-server',
          service: { protocol: 'tcp', address: '127.0.0.1', port: vip },
          server: { address: '127.0.0.1', port: c, forwarding: 'masq', weight: 0 },
        },
      ],
    });
    // b's check fails against a closed port: wait (bounded) until health has drained it.
    const deadline = Date.now() + 15_000;
    let json: StatusJson;
    for (;;) {
      const r = await get(port, '/status.json');
      expect(r.type).toBe('application/json; charset=utf-8');
      json = JSON.parse(r.body) as StatusJson;
      if (json.services[0]!.realServers.find((x) => x.key === `127.0.0.1:${b}`)!.state === 'drained') break;
      if (Date.now() > deadline) throw new Error(`b not drained by its health check: ${r.body}`);
      await new Promise((res) => setTimeout(res, 200));
    }
    const served = [];
    for (let i = 0; i < 6; i++) served.push(await throughVip(vip));
    expect(new Set(served)).toEqual(new Set(['rs-a\n']));

    const url = `http://127.0.0.1:${port}/status`;
    const dom = await dumpDom(url);
    expect(dom).toContain(`<title>vsd on `);
    expect(dom).toContain('<meta http-equiv="refresh" content="2">');
    expect(dom).not.toContain('<script');
    const svc = new RegExp(`<table class="service" data-service="tcp 127\\.0\\.0\\.1:${vip}">`);
    expect(dom).toMatch(svc);
    const ra = text(row(dom, `127.0.0.1:${a}`));
    const rb = text(row(dom, `127.0.0.1:${b}`));
    const rc = text(row(dom, `127.0.0.1:${c}`));
    expect(row(dom, `127.0.0.1:${a}`)).toContain('data-state="serving"');
    expect(ra).toMatch(new RegExp(`^127\\.0\\.0\\.1:${a} masq 3 3 serving `));
    expect(ra).toContain(' 6 '); // connections through the VIP, all to a
    expect(row(dom, `127.0.0.1:${b}`)).toContain('data-state="drained"');
    expect(rb).toMatch(new RegExp(`^127\\.0\\.0\\.1:${b} masq 2 0 drained health : tcp 127\\.0\\.0\\.1:${closed}: ECONNREFUSED down `));
    // Real servers without checks of their own say so, not "up".
    expect(ra).toContain(' no checks ');
    expect(row(dom, `127.0.0.1:${c}`)).toContain('data-state="quiesced"');
    expect(rc).toMatch(new RegExp(`^127\\.0\\.0\\.1:${c} masq 0 0 quiesced operator : quiesced: configured weight 0`));
    expect(text(/<table id="dispatchers">[\s\S]*?<\/table>/.exec(dom)![0])).toContain('this node');
    expect(dom).toMatch(/<table id="proxy">/);

    const png = join(artifactsDir(), 'status-page.png');
    await screenshot(url, png, '1400,700');
    expect(existsSync(png)).toBe(true);
    expect(statSync(png).size).toBeGreaterThan(10_000);
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    expect(json.dispatchers[0]).toMatchObject({ which: 'this node', state: 'no VRRP' });
  });

  it('a hostile agent name stays text in the browser: no script element, the name shown as sent', async () => {
    dir = new TempDir();
    const page = dir.file('status.html', renderStatusPage(buildStatusView(await fixtureSnapshot(), 0)));
    const dom = await dumpDom(`file://${page}`);
    expect(dom).not.toMatch(/<script/i);
    const cells = [...dom.matchAll(/<tr class="agent"><td>([\s\S]*?)<\/td>/g)].map((m) => m[1]!);
    const unescapeHtml = (t: string) =>
      t
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&amp;/g, '&');
    // Chromium serializes the text node back escaped; unescaped it is the name, newline and all.
    expect(cells.map(unescapeHtml)).toContain(HOSTILE_AGENT);
    await screenshot(`file://${page}`, join(artifactsDir(), 'status-page-fixture.png'), '1400,1100');
  });
});
