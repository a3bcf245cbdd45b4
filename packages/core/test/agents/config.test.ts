import { describe, expect, it } from 'vitest';
import { agentBindings, agentsConfigSchema } from '../../src/agents/config.js';

describe('agents config', () => {
  it('keeps plain agent_keys entries working and reads { key_file, real_servers } bindings', () => {
    const cfg = agentsConfigSchema.parse({
      key_file: '/etc/vsd/agent.key',
      agent_keys: { web1: '/etc/vsd/web1.key', web2: { key_file: '/etc/vsd/web2.key', real_servers: ['10.77.0.14:80', '2001:db8::14'] } },
    });
    expect(Object.values(cfg.agentKeys).map((e) => e.keyFile)).toEqual(['/etc/vsd/web1.key', '/etc/vsd/web2.key']);
    expect([...agentBindings(cfg.agentKeys)]).toEqual([
      [
        'web2',
        [
          { address: '10.77.0.14', port: 80 },
          { address: '2001:db8::14', port: null },
        ],
      ],
    ]);
    expect(cfg).toMatchObject({ unboundClaims: 'first', forgetAfterMs: 600_000, maxAgents: 4096, maxPreauth: 64 });
  });

  it('parses once into frozen camelCase options, forget_after in ms (both agent_keys forms in one shape)', () => {
    const cfg = agentsConfigSchema.parse({
      listen: '[::1]:9182',
      key_file: '/k',
      agent_keys: { web1: '/k1', web2: { key_file: '/k2', real_servers: ['10.0.0.2:80'] } },
      require_agent_key: true,
      unbound_claims: 'source',
      forget_after: 0.3,
      max_agents: 10,
      max_preauth: 5,
      silent_after: 4,
      max_bad_frames: 2,
      sentinels: { g: 'a'.repeat(64) },
    });
    expect(cfg).toEqual({
      listen: '[::1]:9182',
      keyFile: '/k',
      agentKeys: { web1: { keyFile: '/k1' }, web2: { keyFile: '/k2', realServers: [{ address: '10.0.0.2', port: 80 }] } },
      requireAgentKey: true,
      unboundClaims: 'source',
      forgetAfterMs: 300,
      maxAgents: 10,
      maxPreauth: 5,
      silentAfter: 4,
      maxBadFrames: 2,
      sentinels: { g: 'a'.repeat(64) },
    });
    expect(Object.isFrozen(cfg) && Object.isFrozen(cfg.agentKeys.web2) && Object.isFrozen(cfg.agentKeys.web2!.realServers![0])).toBe(true);
    // Plain data: it crosses from the config parser thread as JSON unchanged.
    expect(JSON.parse(JSON.stringify(cfg))).toEqual(cfg);
    expect(agentsConfigSchema.parse({ key_file: '/k', forget_after: 0 }).forgetAfterMs).toBe(0);
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

  it('keeps the misspelt-key hint and the range errors at the file keys', () => {
    const r = agentsConfigSchema.safeParse({ key_file: 'k', forget_afer: 5 });
    expect(r.error!.issues[0]).toMatchObject({ path: ['forget_afer'], message: 'unknown key, did you mean forget_after?' });
    const n = agentsConfigSchema.safeParse({ key_file: 'k', forget_after: -1 });
    expect(n.error!.issues[0]!.path).toEqual(['forget_after']);
  });
});
