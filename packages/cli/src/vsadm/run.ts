/**
 * vsadm's main: argv in, exit status and text out. Everything outside (vsd's control API, stdin, name lookups)
 * is injected, so the whole command line behaviour is testable in-process.
 */
import { ControlUnreachableError, createControlClient, type ControlClient } from '@vsd/core';
import { buildOp } from './build.js';
import { emptyCommand, type ParsedCommand } from './command.js';
import { describeRefusal } from './errors.js';
import { VsadmExit } from './exit.js';
import { runList } from './list-command.js';
import { parseCommand } from './parse.js';
import { createResolver, type Resolver } from './resolve.js';
import { applyRestore, planRestore } from './restore.js';

export interface VsadmIo {
  /** Arguments after the program name. */
  args: string[];
  /** Name shown in "Try `vsadm -h'" and the usage text. */
  program?: string;
  readStdin: () => Promise<string>;
  /** Built from --socket / VSD_SOCKET when absent. */
  client?: ControlClient;
  resolver?: Resolver;
}

export interface VsadmResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const START_HINT = 'start it with `vsd --config /etc/vsd/vsd.yaml`';

/** `--socket PATH` / `--socket=PATH` are vsadm's own; everything else is ipvsadm's. */
export function takeSocketOption(args: readonly string[]): { socket?: string; rest: string[] } {
  const rest: string[] = [];
  let socket: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      rest.push(...args.slice(i));
      break;
    }
    if (a === '--socket' && i + 1 < args.length) socket = args[++i];
    else if (a.startsWith('--socket=')) socket = a.slice('--socket='.length);
    else rest.push(a);
  }
  return { socket, rest };
}

export async function runVsadm(io: VsadmIo): Promise<VsadmResult> {
  const { socket, rest } = takeSocketOption(io.args);
  const client = io.client ?? createControlClient(socket ? { socket } : {});
  const resolver = io.resolver ?? createResolver();
  const ctx = { program: io.program ?? 'vsadm', resolver };
  try {
    // No arguments at all lists the table with names, as ipvsadm does.
    const ce = rest.length === 0 ? null : await parseCommand(rest, ctx);
    const stdout = await execute(ce, client, resolver, io, ctx);
    return { code: 0, stdout, stderr: '' };
  } catch (err) {
    if (err instanceof VsadmExit) return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    if (err instanceof ControlUnreachableError || (err as { code?: string }).code === 'VSD_ERR_CONTROL_UNREACHABLE') {
      const d = (err as ControlUnreachableError).details as { where?: string; reason?: string };
      return { code: 2, stdout: '', stderr: `vsadm: cannot reach vsd at ${d.where} (${d.reason}): ${START_HINT}\n` };
    }
    return { code: 255, stdout: '', stderr: `vsadm: ${(err as Error).message}\n` };
  }
}

async function execute(
  ce: ParsedCommand | null,
  client: ControlClient,
  resolver: Resolver,
  io: VsadmIo,
  ctx: { program: string; resolver: Resolver },
): Promise<string> {
  if (!ce) return runList(emptyCommand(), client, resolver);
  if (ce.cmd === 'list') return runList(ce, client, resolver);
  if (ce.cmd === 'save') return runList({ ...ce, format: { ...ce.format, rule: true } }, client, resolver);
  if (ce.cmd === 'restore') {
    const plan = await planRestore(await io.readStdin(), ctx);
    await applyRestore(plan, client);
    return '';
  }
  const op = buildOp(ce);
  if (!op) return '';
  try {
    await client.call('transactions', { ops: [op] });
  } catch (err) {
    if ((err as { code?: string }).code === 'VSD_ERR_CONTROL_UNREACHABLE') throw err;
    throw new VsadmExit(255, `${describeRefusal(ce.cmd, err)}\n`);
  }
  return '';
}
