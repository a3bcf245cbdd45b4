import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ImportRefusedError } from '@vsd/core';
import { parseConfigText } from '../../packages/daemon/src/config-load.js';
import { importKeepalived } from '../../packages/cli/src/vsctl/import-keepalived.js';
import { KeepalivedSyntaxError, parseKeepalived } from '../../packages/cli/src/vsctl/keepalived-parse.js';
import { mutateText } from './lib/mutate.js';
import { expectTyped, fuzz } from './lib/run.js';

// The YAML library is the CLI's dependency, not the workspace root's.
const { parse: parseYaml } = createRequire(new URL('../../packages/cli/package.json', import.meta.url))('yaml') as { parse(text: string): unknown };

// keepalived.conf (packages/cli/src/vsctl/keepalived-parse.ts and the importer): an operator's file, maybe foreign.
const CONF = `! Configuration File for keepalived
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
virtual_server 10.77.0.100 80 {
    delay_loop 6
    lb_algo rr
    lb_kind NAT
    persistence_timeout 300
    protocol TCP
    sorry_server 10.77.0.20 80
    real_server 10.77.0.21 80 {
        weight 3
        HTTP_GET {
            url {
              path /
              status_code 200
            }
            connect_timeout 3
            retry 3
            delay_before_retry 3
        }
    }
    real_server 10.77.0.22 80 {
        weight 1
        TCP_CHECK {
            connect_port 80
            connect_timeout 2
        }
    }
}
virtual_server fwmark 7 {
    lb_algo wlc
    lb_kind DR
    real_server 10.77.0.23 0 {
        MISC_CHECK {
            misc_path "/bin/true"
        }
    }
}
`;
const TOKENS = [
  '{',
  '}',
  '"',
  '!',
  '#',
  '\n',
  'virtual_server',
  'real_server',
  'vrrp_instance',
  'include',
  'weight',
  'lb_kind TUN',
  'lb_algo',
  'protocol UDP',
  'persistence_timeout',
  'HTTP_GET',
  'SSL_GET',
  'url',
  'digest',
  'virtual_ipaddress',
  'priority',
  '10.77.0.1',
  '2001:db8::1',
  'fwmark',
  'group',
  '0',
  '-1',
];

describe('fuzz: keepalived.conf', () => {
  it('parses or refuses with KeepalivedSyntaxError; what imports is YAML that reads back the same and vsd loads (the importer refuses the rest with ImportRefusedError)', async () => {
    let imported = 0;
    await fuzz<string>({
      name: 'keepalived',
      seeds: [CONF, CONF.replace(/\n/g, '\r\n'), 'virtual_server 10.0.0.1 80 { real_server 10.0.0.2 80 { weight 1 } }\n'],
      mutate: (rng, s, corpus) => (rng.chance(0.02) ? `${s}\n${'x {\n'.repeat(20_000)}` : mutateText(rng, s, TOKENS, corpus)),
      random: (rng) => Buffer.from(rng.bytes(rng.int(300))).toString('latin1'),
      serialize: (s) => s,
      check(text) {
        try {
          parseKeepalived(text);
        } catch (err) {
          expectTyped(err, [KeepalivedSyntaxError]);
        }
        let r: ReturnType<typeof importKeepalived>;
        try {
          r = importKeepalived(text);
        } catch (err) {
          expectTyped(err, [KeepalivedSyntaxError, ImportRefusedError]);
          return;
        }
        imported++;
        expect(JSON.stringify(parseYaml(r.yaml) ?? {})).toBe(JSON.stringify(r.config));
        // The importer refuses what vsd would refuse: whatever it returns, vsd loads.
        parseConfigText(r.yaml, 'imported.yaml');
      },
    });
    expect(imported).toBeGreaterThan(10);
    // The unmutated file must import into a config vsd accepts.
    expect(parseConfigText(importKeepalived(CONF).yaml, 'imported.yaml').services).toHaveLength(2);
  });
});
