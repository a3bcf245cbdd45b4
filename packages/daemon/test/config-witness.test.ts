import { describe, expect, it } from 'vitest';
import { parse, refusal } from './config-parse.js';

const ha = (witness: string, agents = 'agents: { key_file: /etc/vsd/agent.key }') => `
${agents}
ha:
  interface: eth0
  vrid: 51
  vips: [192.0.2.100/24]
  witness: ${witness}
`;

describe('vsd.yaml ha.witness (split-brain guard)', () => {
  it('takes agent names, gateways, probe_interval and lease', () => {
    const { config } = parse(ha('{ agents: [web1, web2], gateways: [192.0.2.1], probe_interval: 0.05, lease: 0.4 }'));
    expect(config.ha!.witness).toEqual({ enabled: true, agents: ['web1', 'web2'], gateways: ['192.0.2.1'], probeIntervalMs: 50, leaseMs: 400 });
    const defaults = parse(ha('{ gateways: [192.0.2.1, 192.0.2.2, 192.0.2.3] }')).config.ha!.witness!;
    expect(defaults.leaseMs).toBe(500);
    expect(defaults.probeIntervalMs).toBeUndefined();
  });

  it('refuses a list that can never give a majority, naming the field', () => {
    expect(refusal(ha('{ agents: [] }'))).toMatch(/ha\.witness\.agents: no witnesses/);
    expect(refusal(ha('{ agents: [web1, web1] }'))).toMatch(/ha\.witness\.agents\.1: web1 is listed twice/);
    expect(refusal(ha('{ gateways: [192.0.2.1, 192.0.2.1] }'))).toMatch(/ha\.witness\.gateways\.1: 192\.0\.2\.1 is listed twice/);
    expect(refusal(ha('{ agents: [web1] }', ''))).toMatch(/ha\.witness\.agents: agent witnesses need the `agents:` section/);
    expect(refusal(ha('{ agents: all }'))).toMatch(/ha\.witness\.agents: `all` means every agent named in agents\.agent_keys, and there is none/);
    const locked = 'agents: { key_file: /k, require_agent_key: true, agent_keys: { web1: /k1 } }';
    expect(refusal(ha('{ agents: [web1, web2, web3] }', locked))).toMatch(
      /ha\.witness\.agents: can never reach a majority: web2, web3 cannot connect .* leaving 1 of 3 \(needs 2\)/,
    );
    expect(refusal(ha('{ agents: [web1], probe_interval: 0.5, lease: 0.6 }'))).toMatch(/ha\.witness\.lease: must be at least twice probe_interval/);
    expect(refusal(ha('{ gateways: [not-an-address] }'))).toMatch(/ha\.witness\.gateways\.0: must be an IPv4 or IPv6 address/);
    expect(refusal(ha('{ agents: [web1], quorum: 1 }'))).toMatch(/ha\.witness/);
    expect(refusal(ha('{ gateways: [fe80::1] }'))).toMatch(/ha\.witness\.gateways\.0: an IPv6 link-local gateway cannot be probed/);
  });

  it('accepts a majority that can connect, `all` from agent_keys, and enabled: false without witnesses', () => {
    const locked = 'agents: { key_file: /k, require_agent_key: true, agent_keys: { web1: /k1, web2: /k2 } }';
    expect(parse(ha('{ agents: [web1, web2, web3] }', locked)).config.ha!.witness!.agents).toEqual(['web1', 'web2', 'web3']);
    expect(parse(ha('{ agents: all }', locked)).config.ha!.witness!.agents).toBe('all');
    expect(parse(ha('{ enabled: false }')).config.ha!.witness!.enabled).toBe(false);
    expect(parse(ha('{ gateways: [2001:db8::1] }')).config.ha!.witness!.gateways).toEqual(['2001:db8::1']);
  });
});
