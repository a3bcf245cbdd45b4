/** Start a real `vsd --dataplane none` for a test and stop it afterwards. Needs `pnpm build` (runs dist/). */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const VSD_BIN = join(CLI_ROOT, '../daemon/bin/vsd.js');
export const VSADM_BIN = join(CLI_ROOT, 'bin/vsadm.js');

export function builtBinaries(): boolean {
  return existsSync(join(CLI_ROOT, '../daemon/dist/bin/vsd.js')) && existsSync(join(CLI_ROOT, 'dist/bin/vsadm.js'));
}

export interface VsdProcess {
  socket: string;
  dir: string;
  stop(): Promise<void>;
}

export async function startVsd(timeoutMs = 20_000): Promise<VsdProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'vsadm-golden-'));
  const socket = join(dir, 'vsd.sock');
  const args = [
    VSD_BIN,
    '--dataplane',
    'none',
    '--socket',
    socket,
    '--state',
    join(dir, 'state.json'),
    '--config',
    join(dir, 'absent.yaml'),
    '--log-level',
    'warn',
  ];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(socket)) {
    if (child.exitCode !== null) throw new Error(`vsd exited with ${child.exitCode}: ${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`vsd did not create ${socket} within ${timeoutMs} ms: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    socket,
    dir,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
