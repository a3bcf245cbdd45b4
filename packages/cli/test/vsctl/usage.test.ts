/** A command line vsctl cannot run is a UsageError: `vsctl: COMMAND: REASON` on stderr, exit 2, nothing sent to vsd. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { UsageError } from '@vsd/core';
import { instanceArg } from '../../src/vsctl/ha.js';
import { main } from '../../src/vsctl/main.js';

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { stream, text: () => text };
}

describe('vsctl usage errors', () => {
  it('are UsageError with the command in details', () => {
    let caught: unknown;
    try {
      instanceArg('takeover', ['VI_1', 'VI_2']);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as UsageError).code).toBe('VSD_ERR_USAGE');
    expect((caught as UsageError).details.command).toBe('takeover');
    expect((caught as Error).message).toBe('takeover: one VRRP instance at a time (got VI_1 VI_2)');
  });

  it.each([
    [['failover', 'VI_1', 'VI_2'], 'vsctl: failover: one VRRP instance at a time (got VI_1 VI_2)\n'],
    [['bgp', 'frobnicate'], 'vsctl: bgp: expected status, drain or undrain (got frobnicate)\n'],
    [['sync', '--drop-divergence'], 'vsctl: sync: --drop-divergence needs the entry ids (or "all")\n'],
    [['sync', '--bogus'], 'vsctl: sync: unknown option --bogus (vsctl sync [--divergence | --replay-divergence [ID...] | --drop-divergence ID...|all])\n'],
  ])('vsctl %j exits 2 before connecting', async (argv, message) => {
    const out = sink();
    const err = sink();
    // A socket nobody listens on: reaching it would be a different error (VSD_ERR_CONTROL_UNREACHABLE, exit 1).
    const code = await main(['--socket', '/nonexistent/vsd-usage-test.sock', ...argv], out.stream, err.stream);
    expect(err.text()).toBe(message);
    expect(code).toBe(2);
    expect(out.text()).toBe('');
  });
});
