/**
 * import-keepalived, issue 17 item 5: dataplane, include, vrrp_script/track_script, several instances and sync
 * groups, virtual_server_group, unsupported checks, typo hints. Every translation is also run through vsd's own
 * config parser (what `vsd --check` runs) and `vsd --check` itself.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ImportRefusedError } from '@vsd/core';
import { importKeepalived, importKeepalivedFile } from '../../src/vsctl/import-keepalived.js';
import { checkConfigFile, parseConfigText } from '@vsd/daemon/config';
import { runImport, vsdAccepts } from './import-keepalived-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'vsd-import-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string): string => {
  const p = join(dir, name);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
};

const VS = (kind: string, extra = ''): string => `
virtual_server 192.0.2.10 80 {
  lb_algo rr
  lb_kind ${kind}
  ${extra}
  real_server 198.51.100.1 80 {
    TCP_CHECK {
      connect_timeout 2
    }
  }
}
`;

describe('import-keepalived: the dataplane', () => {
  it('writes dataplane: ipvs by default, with a comment saying why, and vsd --check passes a DR import on it', async () => {
    const r = importKeepalived(VS('DR'));
    expect(r.config.dataplane).toBe('ipvs');
    expect(r.yaml).toMatch(/^# dataplane: ipvs -- keepalived always programs kernel IPVS/m);
    expect(r.yaml).toMatch(/^dataplane: ipvs$/m);
    expect(vsdAccepts(r.yaml)).toEqual({ dataplane: 'ipvs', services: 1 });
    const file = write('dr.yaml', r.yaml);
    const check = await checkConfigFile(file);
    expect(check.errors).toEqual([]);
    expect(check.dataplane).toBe('ipvs');
  });

  it('--dataplane proxy for NAT says the client IP is lost unless proxy_protocol is set', () => {
    const r = importKeepalived(VS('NAT'), { dataplane: 'proxy' });
    expect(r.config.dataplane).toBe('proxy');
    const w = r.details.find((d) => d.where === '--dataplane proxy');
    expect(w?.text).toMatch(/real servers see the dispatcher as the client/);
    expect(w?.text).toMatch(/PROXY protocol v2/);
    expect(w?.text).toMatch(/proxy_protocol: true/);
    expect(r.lossy).toBe(true);
    expect(vsdAccepts(r.yaml).dataplane).toBe('proxy');
  });

  it('--dataplane proxy refuses DR, TUN and fwmark services, naming why, and writes nothing (exit 2)', async () => {
    for (const kind of ['DR', 'TUN'])
      expect(() => importKeepalived(VS(kind), { dataplane: 'proxy' })).toThrow(new RegExp(`lb_kind ${kind === 'DR' ? 'DR' : 'TUN'}.*needs the ipvs dataplane`));
    expect(() => importKeepalived('virtual_server fwmark 3 {\n lb_kind NAT\n}\n', { dataplane: 'proxy' })).toThrow(ImportRefusedError);
    const r = await runImport([write('dr.conf', VS('DR')), '--dataplane', 'proxy']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/need kernel IPVS: import with --dataplane ipvs/);
    expect(r.stderr).toMatch(/^vsctl import-keepalived: --dataplane proxy cannot serve this configuration/);
    expect((await runImport([write('dr.conf', VS('DR')), '--dataplane', 'kernel'])).code).toBe(2);
  });
});

describe('import-keepalived: include', () => {
  it('follows globs relative to the including file, in sorted order, at any level', () => {
    write('inc/conf.d/20-b.conf', VS('NAT').replace('192.0.2.10 80', '192.0.2.11 80'));
    write('inc/conf.d/10-a.conf', VS('NAT'));
    write('inc/conf.d/ignored.txt', 'nonsense {\n');
    write('inc/vrrp/vi.conf', 'vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n include ../vips.inc\n}\n');
    write('inc/vips.inc', 'virtual_ipaddress {\n 192.0.2.100/24\n}\n');
    const main = write('inc/keepalived.conf', 'include conf.d/*.conf\ninclude vrrp/{vi,none}.conf\n');
    const r = importKeepalivedFile(main);
    expect((r.config.virtual_servers as Array<{ address: string }>).map((v) => v.address)).toEqual(['192.0.2.10:80', '192.0.2.11:80']);
    expect(r.config.ha).toMatchObject({ instance: 'VI_1', vips: ['192.0.2.100/24'] });
    expect(vsdAccepts(r.yaml).services).toBe(2);
  });

  it('reports a pattern without matches, an include loop and too deep a chain instead of hanging', () => {
    write('loop/a.conf', 'include b.conf\n');
    write('loop/b.conf', 'include a.conf\nvirtual_server 192.0.2.20 80 {\n}\n');
    const r = importKeepalivedFile(join(dir, 'loop/a.conf'));
    expect(r.warnings.some((w) => /include a\.conf: .*already being read \(an include loop\)/.test(w))).toBe(true);
    expect(r.warnings.some((w) => w.startsWith(`${join(dir, 'loop/b.conf')}:1:`))).toBe(true);
    for (let i = 0; i < 12; i++) write(`deep/${i}.conf`, `include ${i + 1}.conf\n`);
    const d = importKeepalivedFile(join(dir, 'deep/0.conf'));
    expect(d.warnings.some((w) => /includes nested deeper than 8; not followed/.test(w))).toBe(true);
    const none = importKeepalived('include /nonexistent-vsd-test/*.conf\n');
    expect(none.warnings).toEqual(['line 1: include /nonexistent-vsd-test/*.conf: not followed when importing text (import the file)']);
    const nf = importKeepalivedFile(write('none.conf', 'include nothing-here/*.conf\n'));
    expect(nf.warnings).toEqual(['line 1: include nothing-here/*.conf: no file matches (keepalived skips it too)']);
  });
});

const HA = `
global_defs {
  vrrp_version 3
}
vrrp_script chk_web {
  script "/usr/bin/curl -sf http://127.0.0.1/"
  interval 2
  timeout 1
  weight -20
  rise 2
  fall 3
}
vrrp_sync_group G1 {
  group {
    VI_1
    VI_2
  }
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 150
  virtual_ipaddress {
    192.0.2.100/24
  }
  track_script {
    chk_web
    chk_wbe
  }
}
vrrp_instance VI_2 {
  interface eth0
  virtual_router_id 52
  priority 100
  virtual_ipaddress {
    192.0.2.101/24
  }
  track_script {
    chk_web weight -5
  }
}
`;

describe('import-keepalived: vrrp_script, several instances, sync groups', () => {
  it('writes ha.instances with shared keys beside the list, track_scripts and sync_groups, and vsd parses it', () => {
    const r = importKeepalived(HA);
    const ha = r.config.ha as Record<string, unknown>;
    expect(ha.interface).toBe('eth0');
    expect(ha.version).toBe(3);
    const [a, b] = ha.instances as Array<Record<string, unknown>>;
    expect(a).toMatchObject({ instance: 'VI_1', vrid: 51, priority: 150, vips: ['192.0.2.100/24'] });
    expect(a!.track_scripts).toEqual([
      { name: 'chk_web', script: '/usr/bin/curl -sf http://127.0.0.1/', interval: 2, timeout: 1, weight: -20, rise: 2, fall: 3 },
    ]);
    expect((b!.track_scripts as Array<{ weight: number }>)[0]!.weight).toBe(-5);
    expect(ha.sync_groups).toEqual([{ name: 'G1', instances: ['VI_1', 'VI_2'] }]);
    expect(r.warnings.some((w) => /track_script chk_wbe: no vrrp_script of that name, did you mean chk_web\?/.test(w))).toBe(true);
    const loaded = parseConfigText(r.yaml, 'test');
    expect(loaded.config.ha!.instances.map((i) => [i.instance, i.trackScripts.length])).toEqual([
      ['VI_1', 1],
      ['VI_2', 1],
    ]);
    expect(loaded.config.ha!.syncGroups).toEqual([{ name: 'G1', instances: ['VI_1', 'VI_2'] }]);
  });

  it('keeps the flat form for one instance', () => {
    const r = importKeepalived(HA.replace(/vrrp_instance VI_2 \{[\s\S]*$/, '').replace(/vrrp_sync_group G1 \{[\s\S]*?\n\}\n/, ''));
    expect(r.config.ha).toMatchObject({ instance: 'VI_1', interface: 'eth0', vrid: 51 });
    expect(parseConfigText(r.yaml, 'test').config.ha!.instances).toHaveLength(1);
  });

  it("a sync group naming an instance that does not exist is refused with vsd's hint, not written", () => {
    expect(() => importKeepalived(HA.replace('    VI_2\n  }', '    VI_3\n  }'))).toThrow(/ha\.sync_groups\.0\.instances\.1: no such instance/);
  });
});

const VSG = `
virtual_server_group WEB {
  192.0.2.10 80
  192.0.2.20-22 8080
  fwmark 7
}
virtual_server_group WEB6 {
  2001:db8::a-b 80
}
virtual_server group WEB {
  lb_algo wlc
  lb_kind DR
  real_server 198.51.100.1 {
    weight 2
  }
}
virtual_server group WEB6 {
  lb_kind DR
  real_server 2001:db8::100 {
  }
}
`;

describe('import-keepalived: virtual_server_group', () => {
  it('writes one virtual service per member (ranges expanded), each valid for vsd', () => {
    const r = importKeepalived(VSG);
    const vs = r.config.virtual_servers as Array<Record<string, unknown>>;
    expect(vs.map((v) => v.address ?? `fwmark ${v.fwmark}`)).toEqual([
      '192.0.2.10:80',
      '192.0.2.20:8080',
      '192.0.2.21:8080',
      '192.0.2.22:8080',
      'fwmark 7',
      '[2001:db8::a]:80',
      '[2001:db8::b]:80',
    ]);
    expect(vs.every((v) => v.lb_kind === 'DR' && (v.real_servers as unknown[]).length === 1)).toBe(true);
    expect(vs[0]!.lb_algo).toBe('wlc');
    expect(r.yaml).not.toMatch(/[&*]a\d/); // copies, not YAML aliases
    expect(vsdAccepts(r.yaml).services).toBe(7);
  });

  it('an undefined group, an empty one or an oversized range is refused with a nonzero exit and no output', async () => {
    expect(() => importKeepalived(VSG.replace('group WEB {\n  lb_algo', 'group WBE {\n  lb_algo'))).toThrow(
      /no virtual_server_group of that name, did you mean WEB\?/,
    );
    expect(() => importKeepalived('virtual_server_group E {\n}\nvirtual_server group E {\n}\n')).toThrow(/has no members/);
    expect(() => importKeepalived('virtual_server_group E {\n 2001:db8::0-ffff 80\n}\nvirtual_server group E {\n}\n')).toThrow(/more than 256/);
    const r = await runImport([write('vsg.conf', VSG.replace('group WEB {\n  lb_algo', 'group NOPE {\n  lb_algo'))]);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toMatch(/VSD_ERR|no virtual_server_group/);
  });
});

const CHECKS = `
virtual_server 192.0.2.10 25 {
  lb_kind NAT
  real_server 198.51.100.1 25 {
    SMTP_CHECK {
      connect_timeout 5
      helo_name mx.example
    }
  }
  real_server 198.51.100.2 25 {
    PING_CHECK {
    }
  }
  real_server 198.51.100.3 25 {
    TCP_CHECK {
    }
    UDP_CHECK {
    }
  }
}
`;

describe('import-keepalived: unsupported checks', () => {
  it('SMTP_CHECK becomes a TCP_CHECK on its port; PING/UDP are named with what that means for the server', () => {
    const r = importKeepalived(CHECKS);
    const rs = (r.config.virtual_servers as Array<{ real_servers: Array<Record<string, unknown>> }>)[0]!.real_servers;
    expect(rs[0]!.checks).toEqual([{ tcp_check: {}, connect_timeout: 5 }]);
    expect(rs[1]!.checks).toBeUndefined();
    expect(r.details.filter((d) => d.kind === 'translated' || d.kind === 'unchecked').map((d) => d.text)).toEqual([
      'SMTP_CHECK is not supported by vsd: real server 198.51.100.1:25 is checked by TCP_CHECK on port 25 instead (a connect, not the SMTP dialogue)',
      'PING_CHECK is not supported by vsd and has no TCP equivalent here: real server 198.51.100.2:25 would stay in rotation with NO check (a dead server keeps receiving traffic); add a TCP_CHECK or MISC_CHECK',
      'UDP_CHECK is not supported by vsd and has no TCP equivalent here: real server 198.51.100.3:25 keeps its other checks only',
    ]);
    expect(vsdAccepts(r.yaml).services).toBe(1);
  });

  it('exits 0 with the warnings, and 1 under --strict (the YAML is still written)', async () => {
    const file = write('checks.conf', CHECKS);
    const plain = await runImport([file]);
    expect(plain.code).toBe(0);
    expect(plain.stderr).toMatch(/would stay in rotation with NO check/);
    const strict = await runImport([file, '--strict']);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toBe(plain.stdout);
    expect(strict.stderr).toMatch(/--strict: 3 part\(s\) not imported exactly/);
    expect((await runImport([write('clean.conf', VS('NAT')), '--strict'])).code).toBe(0);
  });
});

describe('import-keepalived: typos', () => {
  it('hints at the keyword meant, distinct from a known keyword that is not imported', () => {
    const r = importKeepalived(`
vrrp_instance VI_1 {
  interface eth0
  virtual_router_idd 51
  virtual_router_id 51
  smtp_alert
  virtual_ipaddress {
    192.0.2.100
  }
}
virtual_server 192.0.2.10 80 {
  lb_algoo rr
  ha_suspend
  real_server 198.51.100.1 80 {
    wieght 2
    HTTP_GET {
      url {
        paht /
      }
      conect_timeout 3
    }
  }
}
vrrp_instace VI_2 {
}
`);
    const by = (kind: string) => r.details.filter((d) => d.kind === kind).map((d) => `${d.where}: ${d.text}`);
    expect(by('unknown')).toEqual([
      'line 4: vrrp_instance VI_1 option virtual_router_idd: unknown keepalived keyword, did you mean virtual_router_id? (not imported)',
      'line 12: virtual_server option lb_algoo: unknown keepalived keyword, did you mean lb_algo? (not imported)',
      'line 15: real_server 198.51.100.1:80 option wieght: unknown keepalived keyword, did you mean weight? (not imported)',
      'line 18: url option paht: unknown keepalived keyword, did you mean path? (not imported)',
      'line 20: HTTP_GET option conect_timeout: unknown keepalived keyword, did you mean connect_timeout? (not imported)',
      'line 24: vrrp_instace: unknown keepalived keyword, did you mean vrrp_instance? (not imported)',
    ]);
    expect(by('ignored')).toEqual([
      'line 6: vrrp_instance VI_1 option smtp_alert is not imported',
      'line 13: virtual_server option ha_suspend is not imported',
    ]);
    expect(vsdAccepts(r.yaml).services).toBe(1);
  });

  it('reads @ID conditional lines for --config-id (keepalived -i)', () => {
    const text = 'vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n@a priority 200\n@^a priority 50\n virtual_ipaddress {\n  192.0.2.1\n }\n}\n';
    expect((importKeepalived(text, { configId: 'a' }).config.ha as { priority: number }).priority).toBe(200);
    const other = importKeepalived(text, { configId: 'b' });
    expect((other.config.ha as { priority: number }).priority).toBe(50);
    expect(other.details.find((d) => d.kind === 'info')?.text).toMatch(/1 conditional line\(s\) \(@ID\) skipped for config id "b"/);
  });
});
