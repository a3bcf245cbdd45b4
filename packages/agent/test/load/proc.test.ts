import { describe, expect, it } from 'vitest';
import { EstablishedCounter, countEstablished, cpuBusyFraction, parseCpuTimes, parseLoadavg, parseMemoryUsed, readProcSample } from '../../src/load/proc.js';

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D2A4 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:D2A4 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:D2A6 0100007F:1F90 06 00000000:00000000 03:00000F4A 00000000     0        0 0 3 0000000000000000
`;

describe('/proc parsers', () => {
  it('reads the 1-minute load average', () => {
    expect(parseLoadavg('1.52 0.80 0.40 2/345 12345\n')).toBe(1.52);
  });

  it('computes busy CPU from two /proc/stat samples, idle and iowait not busy', () => {
    const a = parseCpuTimes('cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4\n');
    expect(a).toEqual({ busy: 200, total: 1000 });
    const b = parseCpuTimes('cpu  400 0 100 1000 100 0 0 0 0 0\n');
    expect(cpuBusyFraction(a, b)).toBe(0.5);
    expect(cpuBusyFraction(b, b)).toBe(0);
  });

  it('computes used memory from MemAvailable', () => {
    expect(parseMemoryUsed('MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    250 kB\n')).toBe(0.75);
  });

  it('counts ESTABLISHED sockets only', () => {
    expect(countEstablished(TCP)).toBe(2);
    expect(countEstablished('')).toBe(0);
  });

  it('counts the same while streaming the table in chunks of any size', () => {
    const bytes = Buffer.from(TCP);
    for (const size of [1, 3, 7, 64, bytes.length]) {
      const c = new EstablishedCounter();
      for (let i = 0; i < bytes.length; i += size) {
        const chunk = bytes.subarray(i, i + size);
        c.push(chunk, chunk.length);
      }
      expect(c.count).toBe(2);
    }
  });

  it('samples the live /proc', async () => {
    const s = await readProcSample();
    expect(s.cpu.total).toBeGreaterThan(0);
    expect(s.memory).toBeGreaterThan(0);
    expect(s.memory).toBeLessThan(1);
  });
});
