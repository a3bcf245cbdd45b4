/**
 * vsd's node_ipvs_* series against node_exporter's own ipvs collector (Debian prometheus-node-exporter) reading the
 * same IPVS table. This host's kernel has no IPVS, so the table is written as the kernel prints it
 * (net/ipv4/ipvs/ip_vs_ctl.c: /proc/net/ip_vs and /proc/net/ip_vs_stats) into a directory node_exporter takes as its
 * procfs, from the same snapshot vsd renders; vsd reads its totals from that ip_vs_stats too, as on the ipvs
 * dataplane. What this proves is that vsd's names, types, label names and label values (addresses, ports, TCP/FWM,
 * the %08X mark, the empty address of a fwmark service) are node_exporter's, parsed by node_exporter itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isFwmark, type DataplaneService } from '@vsd/core';
import { renderPrometheus } from '../src/metrics/render.js';
import { readIpvsTotals, type Snapshot } from '../src/metrics/snapshot.js';
import { freePort } from './harness.js';
import { fixtureSnapshot } from './metrics-fixture.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const hex = (n: number, width: number) => n.toString(16).toUpperCase().padStart(width, '0');
const hexIp = (a: string) =>
  a
    .split('.')
    .map((o) => hex(Number(o), 2))
    .join('');
const FWD: Record<string, string> = { masq: 'Masq', route: 'Route', tunnel: 'Tunnel' };

/** /proc/net/ip_vs as ip_vs_info_seq_show() prints it (IPv4 services only: procfs cannot parse the IPv6 form). */
function procIpVs(snap: Snapshot): string {
  const status = new Map(snap.status.map((s) => [s.key, s]));
  let out =
    'IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n';
  for (const t of snap.table as DataplaneService[]) {
    const s = t.service;
    out += isFwmark(s) ? `FWM  ${hex(s.fwmark, 8)} ${s.scheduler} \n` : `${s.protocol.toUpperCase()}  ${hexIp(s.address)}:${hex(s.port, 4)} ${s.scheduler} \n`;
    const dests = new Map((status.get(t.key)?.dests ?? []).map((d) => [d.key, d]));
    for (const d of t.dests) {
      const st = dests.get(d.key);
      out += `  -> ${hexIp(d.address)}:${hex(d.port, 4)}      ${FWD[d.forwarding]!.padEnd(7)} ${String(d.effectiveWeight).padEnd(6)} ${String(st?.activeConns ?? 0).padEnd(10)} ${String(st?.inactiveConns ?? 0).padEnd(10)}\n`;
    }
  }
  return out;
}

function procIpVsStats(snap: Snapshot): string {
  const t = { conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0 };
  for (const s of snap.status) for (const k of Object.keys(t) as Array<keyof typeof t>) t[k] += s.counters[k];
  const row = (v: typeof t) => `${hex(v.conns, 8)} ${hex(v.inPkts, 8)} ${hex(v.outPkts, 8)} ${hex(v.inBytes, 16)} ${hex(v.outBytes, 16)}`;
  return `   Total Incoming Outgoing         Incoming         Outgoing\n   Conns  Packets  Packets            Bytes            Bytes\n${row(t)}\n\n Conns/s   Pkts/s   Pkts/s          Bytes/s          Bytes/s\n${row({ conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0 })}\n`;
}

function get(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    request({ host: '127.0.0.1', port, path: '/metrics', timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 ? body : null));
    })
      .on('error', () => resolve(null))
      .end();
  });
}

async function nodeExporter(procfs: string): Promise<string> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'prometheus-node-exporter',
    ['--collector.disable-defaults', '--collector.ipvs', `--path.procfs=${procfs}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const spawned = new Promise<void>((_, reject) =>
    child.once('error', (err) =>
      reject(
        new Error(`prometheus-node-exporter could not run (${err.message}): install the Debian package prometheus-node-exporter (scripts/install-deps.sh)`),
      ),
    ),
  );
  cleanups.push(() => child.kill('SIGKILL'));
  const deadline = Date.now() + 15_000;
  for (;;) {
    const body = await Promise.race([get(port), spawned]);
    if (body) return body;
    if (child.exitCode !== null) throw new Error(`node_exporter exited ${child.exitCode}: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`node_exporter did not answer within 15 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** node_ipvs_* samples as "name{sorted labels}" -> value (client_golang sorts labels; vsd keeps node_exporter's declared order). */
function nodeIpvs(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(node_ipvs_\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => `${l[1]}="${l[2]}"`).sort();
    out.set(`${m[1]}{${labels.join(',')}}`, Number(m[3]));
  }
  return out;
}

const types = (text: string) => new Map([...text.matchAll(/^# TYPE (node_ipvs_\w+) (\w+)$/gm)].map((m) => [m[1]!, m[2]!]));

describe('node_ipvs_* series: vsd equals node_exporter on the same IPVS table', () => {
  it('same names, types, labels and values, for address and fwmark services', async () => {
    const snap = await fixtureSnapshot();
    // A fwmark backend (the fixture's is removed by its health check): mark 7, one real server.
    const dest = { ...snap.table[0]!.dests[0]!, address: '198.51.100.5', key: '198.51.100.5:8080', effectiveWeight: 1 };
    snap.table[1]!.dests.push(dest);
    snap.status[1]!.dests.push({ key: dest.key, activeConns: 1, inactiveConns: 2, persistConns: 0, counters: snap.status[0]!.counters });
    const dir = mkdtempSync(join(tmpdir(), 'vsd-procfs-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'net'));
    writeFileSync(join(dir, 'net/ip_vs'), procIpVs(snap));
    writeFileSync(join(dir, 'net/ip_vs_stats'), procIpVsStats(snap));
    snap.dataplane = 'ipvs';
    snap.ipvsTotals = await readIpvsTotals(join(dir, 'net/ip_vs_stats'));
    expect(snap.ipvsTotals).not.toBeNull();

    const theirs = await nodeExporter(dir);
    const ours = renderPrometheus(snap, { nodeIpvs: true });
    const ne = nodeIpvs(theirs);
    // 5 totals and 3 gauges for each of the 5 backends (4 of the address service, 1 fwmark).
    expect(ne.size).toBe(5 + 3 * 5);
    expect(nodeIpvs(ours)).toEqual(ne);
    expect(types(ours)).toEqual(types(theirs));
    expect(
      ne.get('node_ipvs_backend_weight{local_address="",local_mark="00000007",local_port="0",proto="FWM",remote_address="198.51.100.5",remote_port="8080"}'),
    ).toBe(1);
    expect(ne.get('node_ipvs_connections_total{}')).toBe(30);
  });
});
