import { ControlRequestError, typedClient, type ControlClient } from '@vsd/core';
import { describe, expect, it } from 'vitest';
import { runVsadm, takeSocketOption } from '../../src/vsadm/run.js';
import { createFakeVsd, unreachableClient } from './fake-vsd.js';
import { fakeResolver } from './fake-resolver.js';

const run = (args: string[], client: ControlClient = createFakeVsd()) => runVsadm({ args, client, resolver: fakeResolver, readStdin: async () => '' });

describe('runVsadm', () => {
  it('says in one line that vsd does not answer, and exits 2', async () => {
    const r = await run(['-ln'], unreachableClient('/run/vsd/vsd.sock'));
    expect(r).toEqual({
      code: 2,
      stdout: '',
      stderr: 'vsadm: cannot reach vsd at /run/vsd/vsd.sock (ENOENT): start it with `vsd --config /etc/vsd/vsd.yaml`\n',
    });
  });

  it('exits 1 with the library message when a listing cannot be fetched', async () => {
    const broken: ControlClient = typedClient({
      where: 'x',
      get: async () => {
        throw new ControlRequestError(500, { code: 'VSD_ERR_INTERNAL', message: 'boom', errno: 'EPERM' });
      },
      post: async () => ({}) as never,
    });
    expect(await run(['-Ln'], broken)).toEqual({ code: 1, stdout: '', stderr: 'Permission denied (you must be root)\n' });
  });

  it('exits 1 with "No such service" when the listed service does not exist', async () => {
    expect(await run(['-Ln', '-t', '10.9.9.9:80'])).toEqual({ code: 1, stdout: '', stderr: 'No such service\n' });
  });

  it('maps errno and operation to ipvsadm messages with status 255', async () => {
    const vsd = createFakeVsd();
    expect((await run(['-a', '-t', '10.0.0.1:80', '-r', '10.1.1.1'], vsd)).stderr).toBe('Service not defined\n');
    await run(['-A', '-t', '10.0.0.1:80'], vsd);
    expect((await run(['-e', '-t', '10.0.0.1:80', '-r', '10.1.1.1'], vsd)).stderr).toBe('No such destination\n');
    expect(await run(['-E', '-t', '10.0.0.1:80', '-s', 'nosuch'], vsd)).toEqual({
      code: 255,
      stdout: '',
      stderr: 'Scheduler or persistence engine not found\n',
    });
    expect((await run(['-Z', '-t', '10.0.0.2:80'], vsd)).stderr).toBe('No such service\n');
  });

  it('keeps vsd words for refusals the kernel has no errno for', async () => {
    const refusing: ControlClient = typedClient({
      where: 'x',
      get: async () => ({}) as never,
      post: async () => {
        throw new ControlRequestError(409, { code: 'VSD_ERR_NOT_MASTER', message: 'this dispatcher is BACKUP; change the master' });
      },
    });
    expect(await run(['-C'], refusing)).toEqual({ code: 255, stdout: '', stderr: 'vsadm: this dispatcher is BACKUP; change the master\n' });
  });

  it('-E and -e send whole objects: what the line omits takes the default', async () => {
    const vsd = createFakeVsd();
    await run(['-A', '-t', '10.0.0.1:80', '-s', 'sh', '-b', 'sh-port', '-p', '60'], vsd);
    await run(['-a', '-t', '10.0.0.1:80', '-r', '10.1.1.1:8080', '-m', '-w', '5', '-x', '10', '-y', '2'], vsd);
    await run(['-E', '-t', '10.0.0.1:80'], vsd);
    await run(['-e', '-t', '10.0.0.1:80', '-r', '10.1.1.1:8080', '-m'], vsd);
    const svc = vsd.state.services[0]!;
    expect([svc.scheduler, svc.schedFlags, svc.persistence.timeout]).toEqual(['wlc', [], 0]);
    expect(svc.realServers[0]).toMatchObject({ forwarding: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 });
  });

  it('lists with no arguments, resolving names like ipvsadm -L', async () => {
    const vsd = createFakeVsd();
    await run(['-A', '-t', '127.0.0.1:80', '-s', 'rr'], vsd);
    expect((await run([], vsd)).stdout.split('\n')[3]).toBe('TCP  localhost:http rr');
  });
});

describe('takeSocketOption', () => {
  it('removes --socket PATH and --socket=PATH anywhere before --', () => {
    expect(takeSocketOption(['-L', '--socket', '/tmp/a', '-n'])).toEqual({ socket: '/tmp/a', rest: ['-L', '-n'] });
    expect(takeSocketOption(['--socket=/tmp/b', '-C'])).toEqual({ socket: '/tmp/b', rest: ['-C'] });
    expect(takeSocketOption(['-L', '--', '--socket', 'x'])).toEqual({ socket: undefined, rest: ['-L', '--', '--socket', 'x'] });
  });
});

describe('vsd validation refusals', () => {
  it('reports a scheduler name vsd cannot have as the kernel does (module not found)', async () => {
    const vsd = createFakeVsd();
    expect(await run(['-A', '-t', '10.0.0.1:80', '-s', 'RR'], vsd)).toEqual({ code: 255, stdout: '', stderr: 'Scheduler or persistence engine not found\n' });
  });

  it('keeps vsd words, naming field and value, for limits tighter than IPVS', async () => {
    const vsd = createFakeVsd();
    await run(['-A', '-t', '10.0.0.1:80'], vsd);
    const r = await run(['-a', '-t', '10.0.0.1:80', '-r', '10.1.1.1', '-w', '70000'], vsd);
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/^vsadm: ops\.0\.server\.weight: .*\(got 70000\)\n$/);
  });
});
