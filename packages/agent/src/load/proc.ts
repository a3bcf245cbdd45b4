/** Readers of the kernel's load figures. Parsers are pure (tested on fixtures); readers take a /proc root for tests. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface CpuTimes {
  busy: number;
  total: number;
}

/** First number of /proc/loadavg. */
export function parseLoadavg(text: string): number {
  const v = Number(text.trim().split(/\s+/)[0]);
  return Number.isFinite(v) ? v : 0;
}

/** Aggregate "cpu" line of /proc/stat; idle and iowait count as not busy. */
export function parseCpuTimes(text: string): CpuTimes {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return { busy: 0, total: 0 };
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

export function cpuBusyFraction(prev: CpuTimes, next: CpuTimes): number {
  const dt = next.total - prev.total;
  if (dt <= 0) return 0;
  return Math.min(1, Math.max(0, (next.busy - prev.busy) / dt));
}

/** 1 - MemAvailable / MemTotal. */
export function parseMemoryUsed(text: string): number {
  const get = (k: string): number | null => {
    const m = new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  };
  const total = get('MemTotal');
  const avail = get('MemAvailable') ?? get('MemFree');
  if (!total || avail === null) return 0;
  return Math.min(1, Math.max(0, 1 - avail / total));
}

/** Number of ESTABLISHED (state 01) sockets in a /proc/net/tcp or tcp6 table. */
export function countEstablished(text: string): number {
  let n = 0;
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    if (f[3] === '01') n++;
  }
  return n;
}

async function readOr(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

export interface ProcSample {
  loadavg: number;
  cpu: CpuTimes;
  memory: number;
  connections: number;
}

export async function readProcSample(procRoot = '/proc'): Promise<ProcSample> {
  const [loadavg, stat, meminfo, tcp, tcp6] = await Promise.all(
    ['loadavg', 'stat', 'meminfo', 'net/tcp', 'net/tcp6'].map((p) => readOr(join(procRoot, p))),
  );
  return {
    loadavg: parseLoadavg(loadavg!),
    cpu: parseCpuTimes(stat!),
    memory: parseMemoryUsed(meminfo!),
    connections: countEstablished(tcp!) + countEstablished(tcp6!),
  };
}
