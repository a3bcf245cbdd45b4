import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '@vsd/protocol';
import { parseYamlConfig } from '../src/config-yaml.js';

afterEach(() => vi.restoreAllMocks());

function refused(text: string): ConfigError {
  try {
    parseYamlConfig(text, '/etc/vsd/vsd.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('config YAML', () => {
  it('refuses a duplicate key, naming it with its place in the document', () => {
    const top = refused('dataplane: proxy\nlog_level: info\ndataplane: ipvs\n');
    expect(top.code).toBe('VSD_ERR_CONFIG');
    expect(top.message).toBe('config /etc/vsd/vsd.yaml: duplicate key "dataplane" (line 3, column 1)');
    expect(top.details).toEqual({ path: '/etc/vsd/vsd.yaml', key: 'dataplane', field: 'dataplane', line: 3, column: 1 });

    const nested = refused('virtual_servers:\n  - address: 10.0.0.1:80\n  - address: 10.0.0.2:80\n    lb_algo: rr\n    lb_algo: wlc\n');
    expect(nested.message).toBe('config /etc/vsd/vsd.yaml: duplicate key "virtual_servers.1.lb_algo" (line 5, column 5)');
    expect(nested.details).toMatchObject({ key: 'lb_algo', field: 'virtual_servers.1.lb_algo', line: 5 });

    // In a flow mapping too; and 1 and "1", which the library tells apart, are one property of the JS object.
    expect(refused('ha: { vrid: 1, vrid: 2 }\n').details).toMatchObject({ field: 'ha.vrid' });
    expect(refused('weights: { 1: 10, "1": 20 }\n').details).toMatchObject({ key: '1', field: 'weights.1' });
  });

  it('returns the warnings as records and prints nothing (no process warning, nothing on stderr)', () => {
    const emitted = vi.spyOn(process, 'emitWarning');
    const stderr = vi.spyOn(process.stderr, 'write');
    const r = parseYamlConfig('log_level: !level info\n', 'vsd.yaml');
    expect(r.value).toEqual({ log_level: 'info' });
    expect(r.warnings).toEqual([{ code: 'TAG_RESOLVE_FAILED', message: 'Unresolved tag: !level', line: 1, column: 12 }]);
    expect(emitted).not.toHaveBeenCalled();
    expect(stderr).not.toHaveBeenCalled();
  });

  it('refuses broken YAML with the parser reason and position, and reads an empty file as null', () => {
    const e = refused('virtual_servers: [\n');
    expect(e.message).toMatch(/^config \/etc\/vsd\/vsd\.yaml: not valid YAML: /);
    expect(e.message).not.toContain('\n');
    expect(e.details).toMatchObject({ yamlCode: expect.any(String), line: expect.any(Number) });
    expect(refused('a: *nowhere\n').message).toMatch(/not valid YAML: .*alias/i);
    expect(parseYamlConfig('', 'f')).toEqual({ value: null, warnings: [] });
    expect(parseYamlConfig('# only a comment\n', 'f')).toEqual({ value: null, warnings: [] });
  });
});
