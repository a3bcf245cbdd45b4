import { describe, expect, it } from 'vitest';
import { runInUml, UmlTimeoutError, UmlUnavailableError } from '../lib/uml.js';
import { existsSync } from 'node:fs';

describe('user-mode-linux lab harness', () => {
  it('runs a script as root with modules loaded, returning stdout, stderr, exit code, stdin and $VSD_OUT files', async () => {
    const r = await runInUml(
      `set -u
       id -u
       grep -c '^ip_vs ' /proc/modules
       test -d /proc/sys/net/ipv4/vs && echo sysctl-ok
       cat > "$VSD_OUT/in.txt"
       echo to-stderr >&2
       exit 7`,
      { modules: ['ip_vs'], stdin: 'from-stdin', timeoutMs: 180_000 },
    );
    expect(r.stdout.split('\n')).toEqual(['0', '1', 'sysctl-ok', '']);
    expect(r.stderr).toBe('to-stderr\n');
    expect(r.exitCode).toBe(7);
    expect(r.files['in.txt']).toBe('from-stdin');
    // The guest used a private modules tree: nothing was created on the host.
    expect(existsSync('/lib/modules/6.1.176')).toBe(false);
  });

  it('refuses a module the UML kernel does not ship, before booting', async () => {
    await expect(runInUml('true', { modules: ['ip_vs_no_such_sched'] })).rejects.toBeInstanceOf(UmlUnavailableError);
  });

  it('kills a guest that does not finish in time and says so', async () => {
    const t0 = Date.now();
    await expect(runInUml('sleep 600', { timeoutMs: 20_000 })).rejects.toBeInstanceOf(UmlTimeoutError);
    expect(Date.now() - t0).toBeLessThan(40_000);
  });
});
