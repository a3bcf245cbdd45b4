import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger, logYamlWarnings } from '@vsd/core';
import { parse, refusal } from './config-parse.js';

afterEach(() => vi.restoreAllMocks());

describe('vsd.yaml: what the YAML parser reports', () => {
  it('refuses a duplicate key, naming it where it is', () => {
    expect(refusal('dataplane: proxy\ndataplane: ipvs\n')).toBe('config vsd.yaml: duplicate key "dataplane" (line 2, column 1)');
    const nested = 'virtual_servers:\n  - address: 10.0.0.1:80\n    real_servers:\n      - { address: 10.0.1.1:80, weight: 1, weight: 2 }\n';
    expect(refusal(nested)).toBe('config vsd.yaml: duplicate key "virtual_servers.0.real_servers.0.weight" (line 4, column 44)');
  });

  it('carries the warnings in the loaded config and logs them through the logger, never on stderr', () => {
    const emitted = vi.spyOn(process, 'emitWarning');
    const stderr = vi.spyOn(process.stderr, 'write');
    const loaded = parse('virtual_servers:\n  - address: 10.0.0.1:80\n    lb_algo: !sched rr\n');
    expect(loaded.services[0]).toMatchObject({ scheduler: 'rr' });
    expect(loaded.warnings).toEqual([{ code: 'TAG_RESOLVE_FAILED', message: 'Unresolved tag: !sched', line: 3, column: 14 }]);
    // The loaded config crosses from the parser thread as JSON: the warnings with it.
    expect(JSON.parse(JSON.stringify(loaded)).warnings).toEqual(loaded.warnings);
    const lines: Array<Record<string, unknown>> = [];
    const stream = { write: (s: string) => (lines.push(JSON.parse(s) as Record<string, unknown>), true) } as unknown as NodeJS.WritableStream;
    logYamlWarnings(createLogger({ level: 'info' }, stream), 'vsd.yaml', loaded.warnings);
    expect(lines).toMatchObject([
      {
        level: 40,
        msg: 'config file: YAML warning',
        config: 'vsd.yaml',
        yaml: 'TAG_RESOLVE_FAILED',
        line: 3,
        column: 14,
        reason: 'Unresolved tag: !sched',
        code: 'VSD_ERR_CONFIG_WARNING',
      },
    ]);
    expect(emitted).not.toHaveBeenCalled();
    expect(stderr).not.toHaveBeenCalled();
    expect(parse('virtual_servers: []\n').warnings).toEqual([]);
  });
});
