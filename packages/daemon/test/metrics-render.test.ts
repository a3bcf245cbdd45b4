import { describe, expect, it } from 'vitest';
import { renderPrometheus } from '../src/metrics/render.js';
import { parseIpvsTotals } from '../src/metrics/snapshot.js';
import { fixtureSnapshot, HOSTILE_AGENT } from './metrics-fixture.js';
import { promtoolCheck } from './promtool.js';

/** Sample lines of one metric name, as text. */
function samples(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe('metrics listener: Prometheus text', () => {
  it('passes promtool check metrics, with every family typed and described once', async () => {
    const text = renderPrometheus(await fixtureSnapshot(), { nodeIpvs: true });
    const r = promtoolCheck(text);
    expect(r.output).toBe('');
    expect(r.code).toBe(0);
    const helps = text.split('\n').filter((l) => l.startsWith('# HELP '));
    const types = text.split('\n').filter((l) => l.startsWith('# TYPE '));
    expect(helps.length).toBe(types.length);
    expect(new Set(types).size).toBe(types.length);
    expect(helps.length).toBeGreaterThan(80);
  });

  it('exports the split-brain guard: quorum state set and votes per VRID, each witness reached or not', async () => {
    const text = renderPrometheus(await fixtureSnapshot(), { nodeIpvs: false });
    for (const line of [
      'vsd_witness_quorum{vrid="51",quorum="contending"} 1',
      'vsd_witness_quorum{vrid="51",quorum="allowed"} 0',
      'vsd_witness_votes_held{vrid="51"} 1',
      'vsd_witness_votes_needed{vrid="51"} 2',
      'vsd_witness_agent_connected{agent="web2"} 0',
      'vsd_witness_gateway_reached{gateway="192.0.2.1"} 1',
      'vsd_witness_lease_seconds 0.5',
    ])
      expect(text).toContain(line);
    const off = renderPrometheus({ ...(await fixtureSnapshot()), witness: null }, { nodeIpvs: false });
    expect(off).not.toContain('vsd_witness_');
  });

  it('exports node_exporter ipvs names and labels (global totals unlabelled, backends with six labels)', async () => {
    const text = renderPrometheus(await fixtureSnapshot(), { nodeIpvs: true });
    expect(text).toContain('# TYPE node_ipvs_connections_total counter\nnode_ipvs_connections_total 30\n');
    expect(samples(text, 'node_ipvs_incoming_packets_total')).toEqual(['node_ipvs_incoming_packets_total 300']);
    expect(samples(text, 'node_ipvs_outgoing_bytes_total')).toEqual(['node_ipvs_outgoing_bytes_total 270000']);
    const labels = 'local_address="192.0.2.10",local_port="80",remote_address="198.51.100.1",remote_port="8080",proto="TCP",local_mark=""';
    expect(samples(text, 'node_ipvs_backend_connections_active')).toContain(`node_ipvs_backend_connections_active{${labels}} 3`);
    expect(samples(text, 'node_ipvs_backend_connections_inactive')).toContain(`node_ipvs_backend_connections_inactive{${labels}} 0`);
    // The weight as programmed: 2 x the agent's 50% = 1; the storage-drained and the quiesced server 0.
    const weights = samples(text, 'node_ipvs_backend_weight');
    expect(weights).toContain(`node_ipvs_backend_weight{${labels}} 3`);
    expect(weights).toContain(`node_ipvs_backend_weight{${labels.replace('198.51.100.1', '198.51.100.2')}} 1`);
    expect(weights).toContain(`node_ipvs_backend_weight{${labels.replace('198.51.100.1', '198.51.100.3')}} 0`);
    expect(text).toContain('# TYPE node_ipvs_backend_weight gauge');
  });

  it('labels a fwmark backend as node_exporter does (no address, port 0, proto FWM, mark %08X)', async () => {
    const snap = await fixtureSnapshot();
    snap.status[1] = { ...snap.status[1]!, dests: [] };
    // The health check removed the fwmark service's only real server: put one back to see its labels.
    snap.table[1]!.dests.push({ ...snap.table[0]!.dests[0]!, address: '198.51.100.5', key: '198.51.100.5:8080', effectiveWeight: 1 });
    snap.status[1]!.dests.push({ key: '198.51.100.5:8080', activeConns: 1, inactiveConns: 2, persistConns: 0, counters: snap.status[0]!.counters });
    snap.table[1]!.service = { ...snap.table[1]!.service, fwmark: 255 } as never;
    const text = renderPrometheus(snap, { nodeIpvs: true });
    expect(samples(text, 'node_ipvs_backend_connections_inactive')).toContain(
      'node_ipvs_backend_connections_inactive{local_address="",local_port="0",remote_address="198.51.100.5",remote_port="8080",proto="FWM",local_mark="000000FF"} 2',
    );
  });

  it('leaves the node_ipvs names out when asked (node_exporter scrapes the host itself)', async () => {
    const text = renderPrometheus(await fixtureSnapshot(), { nodeIpvs: false });
    expect(text).not.toContain('node_ipvs_');
    expect(text).toContain('vsd_service_connections_total{service="tcp 192.0.2.10:80"} 30');
  });

  it('exports VRRP state as a state set, priorities and counters', async () => {
    const text = renderPrometheus(await fixtureSnapshot(), { nodeIpvs: true });
    const l = 'vrrp_instance="VI_1",vrid="51",interface="eth0"';
    expect(samples(text, 'vsd_vrrp_state')).toEqual(
      ['INIT', 'BACKUP', 'MASTER', 'FAULT', 'STOP'].map((s) => `vsd_vrrp_state{${l},state="${s}"} ${s === 'MASTER' ? 1 : 0}`),
    );
    expect(samples(text, 'vsd_vrrp_priority')).toEqual([`vsd_vrrp_priority{${l}} 150`]);
    expect(samples(text, 'vsd_vrrp_transitions_total')).toEqual([`vsd_vrrp_transitions_total{${l}} 3`]);
    expect(samples(text, 'vsd_vrrp_adverts_sent_total')).toEqual([`vsd_vrrp_adverts_sent_total{${l}} 1200`]);
    expect(samples(text, 'vsd_vrrp_adverts_received_total')).toEqual([`vsd_vrrp_adverts_received_total{${l}} 40`]);
    expect(samples(text, 'vsd_vrrp_adverts_dropped_total')).toEqual([`vsd_vrrp_adverts_dropped_total{${l},reason="bad_ttl"} 2`]);
    expect(samples(text, 'vsd_vrrp_advert_interval_seconds')).toEqual([`vsd_vrrp_advert_interval_seconds{${l}} 1`]);
  });

  it('exports weights with the factor of each source, health, agents, storage, sync and proxy', async () => {
    const text = renderPrometheus(await fixtureSnapshot(), { nodeIpvs: true });
    const rs = (n: number) => `service="tcp 192.0.2.10:80",real_server="198.51.100.${n}:8080"`;
    expect(samples(text, 'vsd_real_server_weight')).toContain(`vsd_real_server_weight{${rs(4)}} 0`);
    expect(samples(text, 'vsd_real_server_effective_weight')).toEqual(
      expect.arrayContaining([
        `vsd_real_server_effective_weight{${rs(1)}} 3`,
        `vsd_real_server_effective_weight{${rs(2)}} 1`,
        `vsd_real_server_effective_weight{${rs(3)}} 0`,
      ]),
    );
    expect(samples(text, 'vsd_real_server_weight_factor')).toEqual(
      expect.arrayContaining([`vsd_real_server_weight_factor{${rs(2)},source="agent"} 0.5`, `vsd_real_server_weight_factor{${rs(3)},source="storage"} 0`]),
    );
    expect(samples(text, 'vsd_real_server_removed')).toContain('vsd_real_server_removed{service="fwmark 7",real_server="198.51.100.5:8080"} 1');
    const f7 = 'service="fwmark 7",real_server="198.51.100.5:8080"';
    expect(samples(text, 'vsd_health_real_server_up')).toEqual([`vsd_health_real_server_up{${f7}} 0`]);
    expect(samples(text, 'vsd_health_real_server_transitions_total')).toEqual([`vsd_health_real_server_transitions_total{${f7}} 2`]);
    expect(samples(text, 'vsd_health_check_up')).toEqual([`vsd_health_check_up{${f7},check="TCP_CHECK",kind="tcp"} 0`]);
    expect(samples(text, 'vsd_agent_weight_ratio')).toContain('vsd_agent_weight_ratio{agent="web-2"} 0.5');
    expect(samples(text, 'vsd_agent_last_report_age_seconds')).toContain('vsd_agent_last_report_age_seconds{agent="web-2"} 0.8');
    expect(samples(text, 'vsd_agent_load_per_core')).toContain('vsd_agent_load_per_core{agent="web-2"} 0.5');
    expect(samples(text, 'vsd_agent_state')).toContain('vsd_agent_state{agent="web-9",state="pending"} 1');
    expect(samples(text, 'vsd_agent_storage_ok')).toContain('vsd_agent_storage_ok{agent="web-2",mount="/srv/www",group="www"} 1');
    expect(samples(text, 'vsd_sync_generation_lag')).toEqual(['vsd_sync_generation_lag 1']);
    expect(samples(text, 'vsd_sync_peer_generation')).toEqual(['vsd_sync_peer_generation 11']);
    expect(samples(text, 'vsd_sync_role')).toContain('vsd_sync_role{role="master"} 1');
    expect(samples(text, 'vsd_proxy_retries_total')).toEqual(['vsd_proxy_retries_total 3']);
    expect(samples(text, 'vsd_metrics_source_up')).toEqual([
      'vsd_metrics_source_up{source="dataplane"} 1',
      'vsd_metrics_source_up{source="ha"} 1',
      'vsd_metrics_source_up{source="health"} 1',
      'vsd_metrics_source_up{source="agents"} 1',
    ]);
  });

  it('escapes an untrusted agent name in label values (quotes, backslash, newline)', async () => {
    const text = renderPrometheus(await fixtureSnapshot(), { nodeIpvs: true });
    const escaped = HOSTILE_AGENT.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    expect(samples(text, 'vsd_agent_connected')).toContain(`vsd_agent_connected{agent="${escaped}"} 1`);
    // No raw newline inside a sample: every line is a comment or a complete sample.
    for (const line of text.trimEnd().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|[a-z_]+(\{.*\})? [-+0-9.eEInfNa]+)$/);
  });

  it('still passes promtool with nothing configured (families present, no samples)', async () => {
    const snap = await fixtureSnapshot();
    const empty = { ...snap, table: [], status: [], realServers: [], vrrp: [], sync: null, health: null, agents: null, proxy: null };
    const text = renderPrometheus(empty, { nodeIpvs: true });
    expect(promtoolCheck(text)).toEqual({ code: 0, output: '' });
    expect(text).toContain('# TYPE vsd_vrrp_state gauge');
    expect(text).toContain('node_ipvs_connections_total 0');
  });

  it('reads the kernel totals from /proc/net/ip_vs_stats (hexadecimal)', () => {
    const text =
      '   Total Incoming Outgoing         Incoming         Outgoing\n   Conns  Packets  Packets            Bytes            Bytes\n      1F      3E8        0            1E240                0\n\n Conns/s   Pkts/s   Pkts/s          Bytes/s          Bytes/s\n       0        0        0                0                0\n';
    expect(parseIpvsTotals(text)).toEqual({ conns: 31, inPkts: 1000, outPkts: 0, inBytes: 123456, outBytes: 0 });
    expect(parseIpvsTotals('garbage')).toBeNull();
  });
});
