import { describe, expect, it } from 'vitest';
import { parseIpvsConn } from '@vsd/core';

// Format of ip_vs_conn_seq_show (net/netfilter/ipvs/ip_vs_conn.c): hex IPv4, full IPv6, seconds to expiry.
const PROC = `Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP C0A80A01 D431 0A000001 0050 C0A80102 0050 ESTABLISHED     899
TCP C0A80A01 0000 0A000001 0050 C0A80102 0050 NONE            358
UDP 2001:0db8:0000:0000:0000:0000:0000:0010 9C40 2001:0db8:0000:0000:0000:0000:0000:0001 0035 2001:0db8:0000:0000:0000:0000:0000:0020 0035 UDP             299
UDP C0A80A02 13C4 0A000002 13C4 C0A80103 13C4 UDP              59 sip 3a9f-call-id
`;

describe('parseIpvsConn', () => {
  it('reads IPv4, IPv6, templates and persistence-engine data', () => {
    const rows = parseIpvsConn(PROC);
    expect(rows).toHaveLength(4);
    expect(rows[0]).toEqual({
      protocol: 'TCP',
      expires: 899,
      state: 'ESTABLISHED',
      client: { address: '192.168.10.1', port: 54321 },
      virtual: { address: '10.0.0.1', port: 80 },
      destination: { address: '192.168.1.2', port: 80 },
    });
    expect(rows[1]).toMatchObject({ state: 'NONE', template: true, client: { port: 0 } });
    expect(rows[2]).toMatchObject({ protocol: 'UDP', client: { address: '2001:db8::10', port: 40000 }, destination: { address: '2001:db8::20', port: 53 } });
    expect(rows[3]).toMatchObject({ pe: { name: 'sip', data: '3a9f-call-id' }, expires: 59 });
  });

  it('an empty table is just the header', () => {
    expect(parseIpvsConn('Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n')).toEqual([]);
  });
});
