import { describe, expect, it } from 'vitest';
import { loadSchema } from '../../src/config.js';
import { pressure, weightPercent } from '../../src/load/formula.js';

const cfg = loadSchema.parse({});
const idle = { loadPerCore: 0.1, cpu: 0.05, memory: 0.3, connections: 10 };

describe('load -> weight percentage', () => {
  it('maps a signal linearly between its marks', () => {
    expect(pressure(0.5, [0.7, 2])).toBe(0);
    expect(pressure(1.35, [0.7, 2])).toBeCloseTo(0.5);
    expect(pressure(3, [0.7, 2])).toBe(1);
  });

  it('gives 100 % to an idle node and min_weight to a saturated one', () => {
    expect(weightPercent(idle, cfg)).toBe(100);
    expect(weightPercent({ ...idle, loadPerCore: 5 }, cfg)).toBe(10);
    expect(weightPercent({ ...idle, memory: 0.99 }, cfg)).toBe(10);
  });

  it('lets the worst signal decide and rounds to multiples of 5', () => {
    // cpu 0.775 is half way between 0.6 and 0.95: 100 - 90 x 0.5 = 55
    expect(weightPercent({ ...idle, cpu: 0.775 }, cfg)).toBe(55);
    expect(weightPercent({ ...idle, cpu: 0.775, loadPerCore: 1.35 }, cfg)).toBe(55);
    expect(weightPercent({ ...idle, cpu: 0.7 }, cfg)).toBe(75); // 100 - 90 x 0.2857 = 74.3
    expect(weightPercent({ ...idle, loadPerCore: 1.675 }, cfg)).toBe(35); // pressure 0.75 -> 32.5 -> 35
  });

  it('uses connections only when max_connections is set', () => {
    expect(weightPercent({ ...idle, connections: 900 }, cfg)).toBe(100);
    const c = loadSchema.parse({ max_connections: 1000 });
    expect(weightPercent({ ...idle, connections: 400 }, c)).toBe(100);
    expect(weightPercent({ ...idle, connections: 750 }, c)).toBe(55);
    expect(weightPercent({ ...idle, connections: 5000 }, c)).toBe(10);
  });

  it('never goes below min_weight, and is 100 when disabled', () => {
    expect(weightPercent({ ...idle, cpu: 1 }, loadSchema.parse({ min_weight: 0 }))).toBe(0);
    expect(weightPercent({ ...idle, cpu: 1 }, loadSchema.parse({ min_weight: 25 }))).toBe(25);
    expect(weightPercent({ ...idle, cpu: 1 }, loadSchema.parse({ enabled: false }))).toBe(100);
  });
});
