import { describe, expect, it } from 'vitest';
import { importKeepalived } from '../../src/vsctl/import-keepalived.js';
import { KeepalivedSyntaxError, parseKeepalived } from '../../src/vsctl/keepalived-parse.js';

const CONF = `
! Configuration File for keepalived
global_defs {
   router_id LVS_DEVEL
   vrrp_version 3
}

vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 0.1
    nopreempt
    unicast_src_ip 10.77.0.11
    unicast_peer {
        10.77.0.12
    }
    authentication {
        auth_type PASS
        auth_pass 1111
    }
    virtual_ipaddress {
        10.77.0.100/24 dev eth0
    }
    notify_master "/etc/keepalived/notify.sh master"
}

virtual_server 10.77.0.100 80
{
    delay_loop 6
    lb_algo rr
    lb_kind NAT
    persistence_timeout
    protocol TCP
    sorry_server 10.77.0.20 80

    real_server 10.77.0.21 80 {
        weight 3
        HTTP_GET {
            url {
              path /
              status_code 200-299 301
              digest 9b3a0c85a887a256d6939da88aabd8cd
            }
            connect_timeout 3
            nb_get_retry 3
            delay_before_retry 3
        }
    }
    real_server 10.77.0.22 80 {
        weight 1
        TCP_CHECK {
            connect_port 80
            connect_timeout 2
        }
        MISC_CHECK {
            misc_path "/usr/local/bin/check.sh 10.77.0.22"
            misc_dynamic
        }
    }
}
virtual_server fwmark 7 {
    lb_algo wlc
    real_server 10.77.0.21 0 {
    }
}
`;

describe('vsctl import-keepalived', () => {
  it('translates the VRRP instance with keepalived key names', () => {
    const { config } = importKeepalived(CONF);
    expect(config.ha).toEqual({
      instance: 'VI_1',
      interface: 'eth0',
      vrid: 51,
      priority: 150,
      advert_int: 0.1,
      preempt: false,
      unicast_src_ip: '10.77.0.11',
      unicast_peers: ['10.77.0.12'],
      vips: ['10.77.0.100/24'],
      notify: { master: '/etc/keepalived/notify.sh master' },
      version: 3,
    });
  });

  it('translates virtual servers, real servers and their checkers', () => {
    const { config } = importKeepalived(CONF);
    const [vs, fw] = config.virtual_servers as Array<Record<string, unknown>>;
    expect(vs).toMatchObject({
      address: '10.77.0.100:80',
      delay_loop: 6,
      lb_algo: 'rr',
      lb_kind: 'NAT',
      persistence_timeout: 360,
      protocol: 'tcp',
      sorry_server: '10.77.0.20:80',
    });
    const [r1, r2] = vs!.real_servers as Array<Record<string, unknown>>;
    expect(r1).toEqual({
      address: '10.77.0.21:80',
      weight: 3,
      checks: [
        {
          http_get: { path: '/', status_code: '200-299 301', digest: '9b3a0c85a887a256d6939da88aabd8cd' },
          connect_timeout: 3,
          retry: 3,
          delay_before_retry: 3,
        },
      ],
    });
    expect(r2!.checks).toEqual([
      { tcp_check: { connect_port: 80 }, connect_timeout: 2 },
      { misc_check: { misc_path: '/usr/local/bin/check.sh 10.77.0.22', misc_dynamic: true } },
    ]);
    expect(fw).toEqual({ fwmark: 7, lb_algo: 'wlc', real_servers: [{ address: '10.77.0.21:0' }] });
  });

  it('reports what it cannot import instead of dropping it silently', () => {
    const { warnings, yaml } = importKeepalived(CONF);
    expect(warnings.some((w) => w.includes('authentication'))).toBe(true);
    expect(warnings.some((w) => w.includes('dev eth0'))).toBe(true);
    expect(yaml).toMatch(/^# import-keepalived: line \d+: /);
  });

  it('names the line of a syntax error', () => {
    expect(() => parseKeepalived('vrrp_instance X {\n  interface eth0\n')).toThrow(KeepalivedSyntaxError);
    expect(() => parseKeepalived('a {\n}\n}\n')).toThrow(/line 3: unexpected }/);
  });

  it('regression (fuzz): a virtual_server, real_server or sorry_server without an address is a syntax error naming the line, not a TypeError', () => {
    for (const [text, line] of [
      ['virtual_server\n', 1],
      ['virtual_server {\n}\n', 1],
      ['virtual_server 10.0.0.1 80 {\n  real_server\n}\n', 2],
      ['virtual_server 10.0.0.1 80 {\n  sorry_server\n}\n', 2],
    ] as const) {
      const err = (() => {
        try {
          importKeepalived(text);
        } catch (e) {
          return e;
        }
        return null;
      })();
      expect(err).toBeInstanceOf(KeepalivedSyntaxError);
      expect((err as Error).message).toMatch(new RegExp(`^keepalived.conf line ${line}: \\w+ needs an address$`));
    }
  });

  it('regression (fuzz): a warning quoting a string with a line break cannot inject YAML after its comment', () => {
    const r = importKeepalived('bogus "x\nagents: { key_file: /tmp/k }\u001b[2J"\n');
    expect(r.warnings).toEqual(['line 1: bogus: unknown keepalived keyword (not imported)']);
    const r2 = importKeepalived('"a\nvirtual_servers: 7\u001b" {\n}\n');
    expect(r2.warnings).toEqual(['line 1: a\\u000avirtual_servers: 7\\u001b: unknown keepalived keyword, did you mean virtual_server? (not imported)']);
    expect(r2.yaml.split('\n')[0]).toBe(
      '# import-keepalived: line 1: a\\u000avirtual_servers: 7\\u001b: unknown keepalived keyword, did you mean virtual_server? (not imported)',
    );
    expect(r2.yaml.split('\n').filter((l) => !l.startsWith('#'))).toEqual(['dataplane: ipvs', 'virtual_servers: []', '']);
  });

  it('regression (fuzz): blocks nested 10,000 deep are a syntax error, not a stack overflow', () => {
    expect(() => parseKeepalived(`a ${'b {\n'.repeat(10_000)}${'}\n'.repeat(10_000)}`)).toThrow(/line 33: blocks nested deeper than 32/);
    expect(parseKeepalived(`${'b {\n'.repeat(32)}${'}\n'.repeat(32)}`)).toHaveLength(1);
  });
});
