import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { loadAgentConfig } from '../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'vsd-agent-yaml-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(text: string): string {
  const path = join(dir, `agent-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(path, text);
  return path;
}

const BASE = 'name: web1\ndispatchers: [10.77.0.11:9182]\nkey_file: /etc/vsd/agent.key\n';

describe('vsd-agent config file YAML', () => {
  it('refuses a duplicate key as a ConfigError naming the key', () => {
    const path = file(`${BASE}dispatchers: [10.77.0.12:9182]\n`);
    let err: unknown;
    try {
      loadAgentConfig(path);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({
      code: 'VSD_ERR_CONFIG',
      message: `config ${path}: duplicate key "dispatchers" (line 4, column 1)`,
      details: { key: 'dispatchers', line: 4 },
    });
  });

  it('hands the YAML warnings to the caller and prints none', () => {
    const emitted = vi.spyOn(process, 'emitWarning');
    const { config, warnings } = loadAgentConfig(file(`${BASE}log_level: !lvl info\n`));
    expect(config.log_level).toBe('info');
    expect(warnings).toEqual([{ code: 'TAG_RESOLVE_FAILED', message: 'Unresolved tag: !lvl', line: 4, column: 12 }]);
    expect(emitted).not.toHaveBeenCalled();
    emitted.mockRestore();
  });
});
