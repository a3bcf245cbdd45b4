/**
 * vsadm in-process against every recorded ipvsadm command (parser, formatters, error mapping), with the real
 * transaction code behind a fake control client. golden.test.ts runs the same cases through the binaries and vsd.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResolver } from '../../src/vsadm/resolve.js';
import { runVsadm } from '../../src/vsadm/run.js';
import { createFakeVsd } from './fake-vsd.js';
import { expectationsFor, loadGolden } from './golden-cases.js';

const saved = process.env.VSADM_SYSFS_NET;
beforeAll(() => {
  process.env.VSADM_SYSFS_NET = fileURLToPath(new URL('./sysfs-net', import.meta.url));
});
afterAll(() => {
  if (saved === undefined) delete process.env.VSADM_SYSFS_NET;
  else process.env.VSADM_SYSFS_NET = saved;
});

describe('vsadm in-process matches recorded ipvsadm 1.31', () => {
  // The recording guest's name files: /etc/hosts with localhost only, netbase's /etc/services.
  const resolver = createResolver({
    dns: false,
    hostsFile: fileURLToPath(new URL('./etc/hosts', import.meta.url)),
    servicesFile: fileURLToPath(new URL('./etc/services', import.meta.url)),
  });
  for (const c of loadGolden()) {
    it(c.name, async () => {
      const vsd = createFakeVsd();
      const expected = expectationsFor(c);
      for (const [i, k] of c.commands.entries()) {
        const r = await runVsadm({ args: k.argv, program: 'ipvsadm', client: vsd, resolver, readStdin: async () => k.stdin ?? '' });
        const want = expected[i]!;
        if (!want.compare) continue;
        const label = `${c.name}[${i}] ${JSON.stringify(k.argv)}`;
        expect({ label, code: r.code, stdout: want.normalize(r.stdout), stderr: r.stderr }).toEqual({
          label,
          code: want.exitCode,
          stdout: want.stdout,
          stderr: want.stderr,
        });
      }
    });
  }
});
