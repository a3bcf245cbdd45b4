import { describe, expect, it } from 'vitest';
import { splitRestoreInput } from '../../src/vsadm/restore.js';
import { runVsadm } from '../../src/vsadm/run.js';
import { createFakeVsd } from './fake-vsd.js';
import { fakeResolver } from './fake-resolver.js';

async function restore(text: string, vsd = createFakeVsd()) {
  const r = await runVsadm({ args: ['-R'], client: vsd, resolver: fakeResolver, readStdin: async () => text });
  return { ...r, vsd };
}

const SAVED = `# saved by ipvsadm-save
-A -t 10.0.0.100:80 -s rr

ipvsadm -a -t 10.0.0.100:80 -r 192.168.10.1:80 -m -w 1
-a -t 10.0.0.100:80 -r 192.168.10.2:80 -m -w 2   # second
-A -f 7 -s sh -b sh-port
`;

describe('splitRestoreInput', () => {
  it('drops comments, blank lines and "ipvsadm" words, keeping line numbers', () => {
    expect(splitRestoreInput(SAVED).map((l) => [l.line, l.args.join(' ')])).toEqual([
      [2, '-A -t 10.0.0.100:80 -s rr'],
      [4, '-a -t 10.0.0.100:80 -r 192.168.10.1:80 -m -w 1'],
      [5, '-a -t 10.0.0.100:80 -r 192.168.10.2:80 -m -w 2'],
      [6, '-A -f 7 -s sh -b sh-port'],
    ]);
  });
});

describe('vsadm -R', () => {
  it('applies a whole ipvsadm-save file as one transaction', async () => {
    const { code, stderr, vsd } = await restore(SAVED);
    expect([code, stderr]).toEqual([0, '']);
    expect(vsd.transactions).toBe(1);
    expect(vsd.state.services.map((s) => [s.scheduler, s.schedFlags, s.realServers.map((r) => `${r.address}:${r.port}/${r.weight}`)])).toEqual([
      ['rr', [], ['192.168.10.1:80/1', '192.168.10.2:80/2']],
      ['sh', ['sh-port'], []],
    ]);
  });

  it('rejects the whole file when one line does not parse, naming the line', async () => {
    const { code, stderr, vsd } = await restore('-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.1.1.1 -w x\n');
    expect([code, stderr]).toEqual([2, 'line 2: illegal weight specified\n']);
    expect([vsd.transactions, vsd.state.services]).toEqual([0, []]);
  });

  it('changes nothing when vsd refuses one operation, and names the line that failed', async () => {
    const { code, stderr, vsd } = await restore('-A -t 10.0.0.3:80 -s rr\n-A -t 10.0.0.4:80 -s rr\n-A -t 10.0.0.3:80 -s rr\n');
    expect([code, stderr]).toEqual([255, 'line 3: Service already exists\n']);
    expect(vsd.state.services).toEqual([]);
  });

  it('reports a usage error on a line with the line number', async () => {
    expect((await restore('-A -t 10.0.0.5:80 -s rr\n-q\n')).stderr).toBe("line 2: Try `vsadm -h' or 'vsadm --help' for more information.\n");
  });

  it('refuses commands that change nothing (listing, saving, nested -R)', async () => {
    const r = await restore('-A -t 10.0.0.5:80 -s rr\n-L -n\n');
    expect([r.code, r.stderr, r.vsd.transactions]).toEqual([2, 'line 2: -L -n: cannot be restored\n', 0]);
  });

  it('treats empty input as nothing to do', async () => {
    const r = await restore('\n# nothing\n');
    expect([r.code, r.stderr, r.vsd.transactions]).toEqual([0, '', 0]);
  });
});
