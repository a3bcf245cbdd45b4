import { describe, expect, it } from 'vitest';
import { controlRoutes, divergenceIdsBody, routeNames, routeOf } from '@vsd/protocol';

describe('control route table', () => {
  it('declares each method and path once', () => {
    const keys = Object.values(controlRoutes).map((r) => `${r.method} ${r.path}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('finds a route by method and path, ignoring the query', () => {
    expect(routeOf('GET', '/v1/ha?instance=VI_1')).toBe('ha');
    expect(routeOf('POST', '/v1/ha')).toBeUndefined();
    expect(routeNames).toContain('sync.divergence.drop');
  });

  it('divergence ids: empty by default, bounded', () => {
    expect(divergenceIdsBody.parse({})).toEqual({ ids: [] });
    expect(divergenceIdsBody.safeParse({ ids: [''] }).success).toBe(false);
    expect(divergenceIdsBody.safeParse({ ids: [], extra: 1 }).success).toBe(false);
  });
});
