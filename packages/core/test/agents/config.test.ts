import { describe, expect, it } from 'vitest';
import { agentBindings, agentKeyFile, agentsConfigSchema } from '../../src/agents/config.js';

describe('agents config', () => {
  it('keeps plain agent_keys entries working and reads { key_file, real_servers } bindings', () => {
    const cfg = agentsConfigSchema.parse({
      key_file: '/etc/vsd/agent.key',
      agent_keys: { web1: '/etc/vsd/web1.key', web2: { key_file: '/etc/vsd/web2.key', real_servers: ['10.77.0.14:80', '2001:db8::14'] } },
    });
    expect(Object.values(cfg.agent_keys).map(agentKeyFile)).toEqual(['/etc/vsd/web1.key', '/etc/vsd/web2.key']);
    expect([...agentBindings(cfg.agent_keys)]).toEqual([['web2', [{ address: '10.77.0.14', port: 80 }, { address: '2001:db8::14', port: null }]]]);
    expect(cfg).toMatchObject({ unbound_claims: 'first', forget_after: 600, max_agents: 4096, max_preauth: 64 });
  });

  it('names the field and the value of a bad real server entry', () => {
    const r = agentsConfigSchema.safeParse({ key_file: 'k', agent_keys: { web2: { key_file: 'k2', real_servers: ['web2:80'] } } });
    expect(r.success).toBe(false);
    expect(r.error!.issues.some((i) => i.path.join('.') === 'agent_keys.web2.real_servers.0')).toBe(true);
  });

  it('points at a misspelt key of the object form, and refuses a non-string, non-object entry', () => {
    const r = agentsConfigSchema.safeParse({ key_file: 'k', agent_keys: { web2: { key_file: 'k2', real_server: ['10.0.0.1'] } } });
    expect(r.error!.issues[0]).toMatchObject({ path: ['agent_keys', 'web2', 'real_server'], message: 'unknown key, did you mean real_servers?' });
    const n = agentsConfigSchema.safeParse({ key_file: 'k', agent_keys: { web2: 7 } });
    expect(n.error!.issues[0]).toMatchObject({ path: ['agent_keys', 'web2'], message: 'expected a key file path, or { key_file, real_servers }' });
  });
});
