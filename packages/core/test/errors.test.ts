import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// Keeps the code list in src, the docs table and the classes in agreement.
const root = new URL('../../../', import.meta.url);

function codesIn(text: string): Set<string> {
  return new Set(text.match(/VSD_ERR_[A-Z0-9_]+/g) ?? []);
}

describe('error catalogue', () => {
  it('documents every code the sources throw, and no code that does not exist', async () => {
    const { execFileSync } = await import('node:child_process');
    const src = execFileSync(
      'grep',
      [
        '-rhoE',
        "'VSD_ERR_[A-Z0-9_]+'",
        'packages/protocol/src',
        'packages/sys/src',
        'packages/core/src',
        'packages/ha/src',
        'packages/agent/src',
        'packages/daemon/src',
        'packages/cli/src',
      ],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    const thrown = new Set([...codesIn(src)]);
    const documented = codesIn(readFileSync(new URL('docs/errors.md', root), 'utf8'));
    expect([...thrown].filter((c) => !documented.has(c)).sort()).toEqual([]);
    expect([...documented].filter((c) => !thrown.has(c)).sort()).toEqual([]);
  });

  it('gives every error a code, an errno where IPVS has one, and JSON without the stack', async () => {
    const core = await import('@vsd/core');
    const e = new core.ServiceExistsError('tcp 10.0.0.1:80');
    expect(e).toBeInstanceOf(core.VsdError);
    expect(e.code).toBe('VSD_ERR_SERVICE_EXISTS');
    expect(e.errno).toBe('EEXIST');
    expect(JSON.parse(JSON.stringify(e))).toEqual({
      code: 'VSD_ERR_SERVICE_EXISTS',
      message: 'virtual service tcp 10.0.0.1:80 already exists',
      errno: 'EEXIST',
      details: { service: 'tcp 10.0.0.1:80' },
    });
  });

  it('names the call, its context and the errno (name, number, text) in one SyscallError', async () => {
    const core = await import('@vsd/core');
    const e = new core.SyscallError('bind', -99, { interface: 'eth0', address: 'fe80::1' });
    expect(e).toBeInstanceOf(core.VsdError);
    expect(e.message).toBe('bind (interface eth0, address fe80::1): Cannot assign requested address (EADDRNOTAVAIL)');
    expect([e.code, e.syscall, e.errnoNumber, e.errnoName, e.context]).toEqual([
      'VSD_ERR_SYSCALL',
      'bind',
      99,
      'EADDRNOTAVAIL',
      { interface: 'eth0', address: 'fe80::1' },
    ]);
    // An errno IPVS answers with is the catalogue's errno too, so vsadm prints ipvsadm's message for it.
    expect(e.errno).toBeUndefined();
    expect(new core.SyscallError('socket(AF_NETLINK)', 1).errno).toBe('EPERM');
    expect(JSON.parse(JSON.stringify(new core.SyscallError('sendto', 4095)))).toEqual({
      code: 'VSD_ERR_SYSCALL',
      message: 'sendto: Unknown error 4095 (errno 4095)',
      details: { syscall: 'sendto', errnoNumber: 4095, errnoName: 'errno 4095', context: {} },
    });
  });
});
