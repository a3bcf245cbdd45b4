/**
 * One rule for every object of vsd.yaml, whichever package owns its schema: a misspelt key is refused naming its
 * whole path and the key meant. Each case puts one typo into an otherwise valid file.
 */
import { describe, expect, it } from 'vitest';
import { refusal } from './config-parse.js';

const one = { interface: 'eth0', vrid: 51, vips: ['192.0.2.100/24'] };
const rs = { address: '10.0.0.2:80' };
const vs = (extra: object, real: object = rs) => ({ virtual_servers: [{ address: '10.0.0.1:80', ...extra, real_servers: [real] }] });
const check = (c: object) => vs({}, { ...rs, checks: [c] });

/** [the file (as YAML's JSON subset), the field path reported, the key suggested]. */
const cases: [string, object, string, string][] = [
  ['top level', { dataplan: 'proxy' }, 'dataplan', 'dataplane'],
  ['control', { control: { sockt: '/run/vsd.sock' } }, 'control.sockt', 'socket'],
  ['xdp', { dataplane: 'xdp', xdp: { interface: 'eth0', mod: 'native' } }, 'xdp.mod', 'mode'],
  ['bgp', { bgp: { protocl_prefix: 'vsd_' } }, 'bgp.protocl_prefix', 'protocol_prefix'],
  ['metrics', { metrics: { refesh: 3 } }, 'metrics.refesh', 'refresh'],
  ['agents', { agents: { key_file: '/k', silent_aftr: 3 } }, 'agents.silent_aftr', 'silent_after'],
  [
    'agents.agent_keys entry',
    { agents: { key_file: '/k', agent_keys: { web1: { key_file: '/w', real_server: ['10.0.0.2:80'] } } } },
    'agents.agent_keys.web1.real_server',
    'real_servers',
  ],
  ['peer', { peer: { key_file: '/k', lisen: '0.0.0.0:9181' } }, 'peer.lisen', 'listen'],
  ['ha (one instance)', { ha: { ...one, advrt_int: 1 } }, 'ha.advrt_int', 'advert_int'],
  ['ha (instances)', { ha: { instnces: [one] } }, 'ha.instnces', 'instances'],
  ['ha.instances entry', { ha: { instances: [{ ...one, priorty: 1 }] } }, 'ha.instances.0.priorty', 'priority'],
  ['ha.sync_groups entry', { ha: { instances: [one], sync_groups: [{ name: 'G', instance: ['VI_1'] }] } }, 'ha.sync_groups.0.instance', 'instances'],
  ['ha.garp', { ha: { ...one, garp: { master_dlay: 1 } } }, 'ha.garp.master_dlay', 'master_delay'],
  ['ha.notify', { ha: { ...one, notify: { mastr: '/n.sh' } } }, 'ha.notify.mastr', 'master'],
  ['ha.track_scripts entry', { ha: { ...one, track_scripts: [{ script: '/c', wieght: 1 }] } }, 'ha.track_scripts.0.wieght', 'weight'],
  ['ha.track_interfaces entry', { ha: { ...one, track_interfaces: [{ name: 'eth1', wieght: 1 }] } }, 'ha.track_interfaces.0.wieght', 'weight'],
  ['ha.witness', { ha: { ...one, witness: { gatways: ['192.0.2.1'] } } }, 'ha.witness.gatways', 'gateways'],
  ['virtual server', vs({ lb_algorithm: 'rr' }), 'virtual_servers.0.lb_algorithm', 'lb_algo'],
  ['virtual server health keys', vs({ sorry_sever: '10.0.0.9:80' }), 'virtual_servers.0.sorry_sever', 'sorry_server'],
  ['real server', vs({}, { ...rs, wieght: 2 }), 'virtual_servers.0.real_servers.0.wieght', 'weight'],
  ['check', check({ tcp_check: {}, conect_timeout: 1 }), 'virtual_servers.0.real_servers.0.checks.0.conect_timeout', 'connect_timeout'],
  ['tcp_check', check({ tcp_check: { conect_port: 80 } }), 'virtual_servers.0.real_servers.0.checks.0.tcp_check.conect_port', 'connect_port'],
  ['http_get', check({ http_get: { pth: '/' } }), 'virtual_servers.0.real_servers.0.checks.0.http_get.pth', 'path'],
  ['ssl_get', check({ ssl_get: { sni_nam: 'x' } }), 'virtual_servers.0.real_servers.0.checks.0.ssl_get.sni_nam', 'sni_name'],
  [
    'misc_check',
    check({ misc_check: { misc_path: '/c', misc_timout: 1 } }),
    'virtual_servers.0.real_servers.0.checks.0.misc_check.misc_timout',
    'misc_timeout',
  ],
];

describe('vsd.yaml: a misspelt key in any section', () => {
  it.each(cases)('%s: names the path and the key meant', (_what, file, field, meant) => {
    expect(refusal(JSON.stringify(file))).toBe(`config vsd.yaml: ${field}: unknown key, did you mean ${meant}?`);
  });
});
