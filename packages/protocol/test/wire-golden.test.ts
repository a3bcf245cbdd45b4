/**
 * The wire bytes are those of the build before @vsd/protocol existed (peer sync v2 and agent protocol 1 must keep
 * interoperating with it): these values were produced by that build's encode/encodeFrame/proof functions.
 */
import { describe, expect, it } from 'vitest';
import { agentProof, decodeWire, dispatcherProof, encode, encodeFrame, formatAgentCheck, parseFrame, proof, reportSchema } from '@vsd/protocol';

const key = Buffer.from('0123456789abcdef0123456789abcdef');

describe('wire formats are byte-identical to the previous build', () => {
  it('peer sync v2: a tx frame, its length prefix, and a hello', () => {
    const tx = encode({ t: 'tx', generation: 7, ops: [{ op: 'zero' }], hash: 'ab', at: 1700000000000 });
    expect(tx).toBe('{"v":2,"t":"tx","generation":7,"ops":[{"op":"zero"}],"hash":"ab","at":1700000000000}');
    expect(encodeFrame(tx).toString('hex')).toBe(
      '000000547b2276223a322c2274223a227478222c2267656e65726174696f6e223a372c226f7073223a5b7b226f70223a227a65726f227d5d2c2268617368223a226162222c226174223a313730303030303030303030307d',
    );
    expect(encode({ t: 'hello', id: 'lvs1', nonce: 'n'.repeat(16) })).toBe('{"v":2,"t":"hello","id":"lvs1","nonce":"nnnnnnnnnnnnnnnn"}');
    expect(decodeWire(tx)).toEqual({ v: 2, t: 'tx', generation: 7, ops: [{ op: 'zero' }], hash: 'ab', at: 1700000000000 });
    expect(decodeWire('{"v":1,"t":"want"}')).toMatch(/^v: /);
  });

  it('the challenge proofs of both channels', () => {
    expect(
      proof(key, 'initiator', 'vsd-peer-sync-v2', { initiator: 'a'.repeat(16), responder: 'b'.repeat(16) }, { initiator: 'lvs1', responder: 'lvs2' }),
    ).toBe('YtvwB9EVeEeBdPYcd9KJGMY+gZQHKjlbGcFj9UYk4h0=');
    const p = { agent: 'web1', dispatcher: 'lvs1', agentNonce: 'a'.repeat(16), dispatcherNonce: 'b'.repeat(16) };
    expect(agentProof(key, p)).toBe('MsM1or9h8ouJOOcqKMhb7S7Lp0ZXgxVlZOhixYxiIYQ=');
    expect(dispatcherProof(key, p)).toBe('0QWD8hErKYphXZ2gPiVg3RD1K6GMpvXrDwwvsymmPdk=');
  });

  it('agent frames and the agent-check line', () => {
    expect(formatAgentCheck({ maintenance: false, downReason: null, weightPct: 42 })).toBe('up ready 42%\n');
    const report = {
      v: 1,
      type: 'report',
      seq: 1,
      at: 2,
      service: null,
      load: { loadPerCore: 0.1, cpu: 0.2, memory: 0.3, connections: 4, weightPct: 90 },
      mounts: [],
      maintenance: false,
    };
    expect(parseFrame(reportSchema, JSON.stringify(report))).toEqual({ ok: true, msg: report });
    expect(parseFrame(reportSchema, JSON.stringify({ ...report, v: 2 }))).toEqual({ ok: false, reason: 'unsupported protocol version 2' });
  });
});
