// Builds bench/xdp's C helpers (c/*.c) once per source version into /var/tmp/vsd-xdpbench-<hash>/, a directory the
// user-mode-linux guest also sees (its /tmp is private). Fails with what to install when a tool is missing.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('./c/', import.meta.url));
const FILES = ['bench.bpf.c', 'xdptool.c', 'pktsend.c'];

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`bench/xdp build: ${cmd} not runnable (${r.error.message}); apt-get install clang gcc libbpf-dev`);
  if (r.status !== 0) throw new Error(`bench/xdp build: ${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout.trim();
}

/** Paths of the built helpers: { dir, bpfObject, xdptool, pktsend }. */
export function buildTools() {
  const hash = createHash('sha256');
  for (const f of FILES) hash.update(f).update(readFileSync(join(SRC, f)));
  const dir = join(process.env.VSD_XDPBENCH_WORK ?? '/var/tmp', `vsd-xdpbench-${hash.digest('hex').slice(0, 12)}`);
  const out = { dir, bpfObject: join(dir, 'bench.bpf.o'), xdptool: join(dir, 'xdptool'), pktsend: join(dir, 'pktsend') };
  if (existsSync(out.bpfObject) && existsSync(out.xdptool) && existsSync(out.pktsend)) return out;
  mkdirSync(dir, { recursive: true });
  if (!existsSync('/usr/include/bpf/bpf_helpers.h')) throw new Error('bench/xdp build: libbpf headers missing; apt-get install libbpf-dev');
  // Debian keeps asm/ under the multiarch include directory, which -target bpf does not search.
  const multiarch = spawnSync('gcc', ['-print-multiarch'], { encoding: 'utf8' }).stdout?.trim() || 'x86_64-linux-gnu';
  const tmp = (p) => `${p}.${process.pid}`;
  run('clang', ['-O2', '-g', '-target', 'bpf', '-Wall', `-I/usr/include/${multiarch}`, '-c', join(SRC, 'bench.bpf.c'), '-o', tmp(out.bpfObject)]);
  run('gcc', ['-O2', '-Wall', '-o', tmp(out.xdptool), join(SRC, 'xdptool.c'), '-lbpf']);
  run('gcc', ['-O2', '-Wall', '-o', tmp(out.pktsend), join(SRC, 'pktsend.c')]);
  for (const p of [out.bpfObject, out.xdptool, out.pktsend]) renameSync(tmp(p), p);
  return out;
}
