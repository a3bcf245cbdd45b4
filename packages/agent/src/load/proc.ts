/** Readers of the kernel's load figures. Parsers are pure (tested on fixtures); readers take a /proc root for tests. */
import { open, readFile } from 'node:fs/promises';
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

const SPACE = 0x20;
const NL = 0x0a;
const ZERO = 0x30;
const ONE = 0x31;

/**
 * Streaming form of countEstablished over a file: a busy server's table is megabytes of text, so it is scanned in
 * fixed 64 KiB chunks without building strings (the agent lives in a small heap).
 */
export class EstablishedCounter {
  private field = 0;
  private inField = false;
  private pos = 0;
  private first = 0;
  private second = false;
  private header = true;
  count = 0;

  push(buf: Uint8Array, len: number): void {
    for (let i = 0; i < len; i++) {
      const c = buf[i]!;
      if (c === NL) {
        this.header = false;
        this.field = 0;
        this.inField = false;
        continue;
      }
      if (this.header) continue;
      if (c === SPACE) {
        if (this.inField) {
          if (this.field === 3 && this.pos === 2 && this.first === ZERO) this.count += this.second ? 1 : 0;
          this.field++;
          this.inField = false;
        }
        continue;
      }
      if (!this.inField) {
        this.inField = true;
        this.pos = 0;
        this.second = false;
      }
      if (this.field === 3) {
        if (this.pos === 0) this.first = c;
        else if (this.pos === 1) this.second = c === ONE;
      }
      this.pos++;
    }
  }
}

export async function countEstablishedFile(path: string): Promise<number> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return 0;
  }
  try {
    const buf = Buffer.allocUnsafe(64 * 1024);
    const counter = new EstablishedCounter();
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      counter.push(buf, bytesRead);
    }
    return counter.count;
  } finally {
    await fh.close();
  }
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
  const [loadavg, stat, meminfo] = await Promise.all(['loadavg', 'stat', 'meminfo'].map((p) => readOr(join(procRoot, p))));
  const [tcp, tcp6] = await Promise.all(['net/tcp', 'net/tcp6'].map((p) => countEstablishedFile(join(procRoot, p))));
  return { loadavg: parseLoadavg(loadavg!), cpu: parseCpuTimes(stat!), memory: parseMemoryUsed(meminfo!), connections: tcp! + tcp6! };
}
