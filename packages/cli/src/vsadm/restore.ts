/**
 * -R: read an ipvsadm-save file from stdin and apply it as ONE transaction. Every line is parsed before anything
 * is sent, so a bad line (named by its number) changes nothing; ipvsadm would have applied the lines before it.
 */
import { ControlRequestError, firstFailingOp, type ControlClient, type DesiredState, type StateOp } from '@vsd/core';
import { buildOp } from './build.js';
import { describeRefusal } from './errors.js';
import { VsadmExit } from './exit.js';
import type { CommandName } from './options.js';
import { parseCommand, type ParseContext } from './parse.js';

export interface RestoreLine {
  line: number;
  args: string[];
}

/** Split the input as config_stream.c does: whitespace, no quoting, `#` starts a comment, `ipvsadm` words dropped. */
export function splitRestoreInput(text: string): RestoreLine[] {
  const out: RestoreLine[] = [];
  text.split('\n').forEach((raw, i) => {
    const words = raw
      .replace(/#.*/, '')
      .split(/[ \t\r]+/)
      .filter((w) => w !== '' && w !== 'ipvsadm');
    if (words.length > 0) out.push({ line: i + 1, args: words });
  });
  return out;
}

const RESTORABLE = new Set<CommandName>([
  'add-service',
  'edit-service',
  'delete-service',
  'flush',
  'add-server',
  'edit-server',
  'delete-server',
  'zero',
  'set',
  'start-daemon',
  'stop-daemon',
]);

export interface PlannedOp {
  line: number;
  cmd: CommandName;
  op: StateOp;
}

/** Parse every line; the first bad one aborts with its line number and ipvsadm's message for it. */
export async function planRestore(text: string, ctx: ParseContext): Promise<PlannedOp[]> {
  const plan: PlannedOp[] = [];
  for (const { line, args } of splitRestoreInput(text)) {
    let op: StateOp | null;
    let cmd: CommandName;
    try {
      const ce = await parseCommand(args, ctx);
      cmd = ce.cmd;
      op = RESTORABLE.has(cmd) ? buildOp(ce) : null;
    } catch (err) {
      if (!(err instanceof VsadmExit)) throw err;
      const text = err.stderr || err.stdout;
      throw new VsadmExit(err.code || 2, `line ${line}: ${text}`);
    }
    if (!op) throw new VsadmExit(2, `line ${line}: ${args.join(' ')}: cannot be restored\n`);
    plan.push({ line, cmd, op });
  }
  return plan;
}

/** Send the plan; on failure find the line that failed by replaying it on the state vsd holds. */
export async function applyRestore(plan: readonly PlannedOp[], client: ControlClient): Promise<void> {
  if (plan.length === 0) return;
  try {
    // vsd answers once the whole table is validated, stored and programmed: about 0.1 ms per rule, with room.
    await client.call('transactions', { ops: plan.map((p) => p.op) }, { timeoutMs: Math.max(10_000, plan.length) });
  } catch (err) {
    if ((err as { code?: string }).code === 'VSD_ERR_CONTROL_UNREACHABLE') throw err;
    if (err instanceof ControlRequestError && err.code === 'VSD_ERR_BODY_TOO_LARGE') throw new VsadmExit(255, tooLarge(plan, err));
    const failed = await findFailingLine(plan, client).catch(() => undefined);
    const message = failed ? `line ${failed.line}: ${describeRefusal(failed.cmd, err)}` : describeRefusal('restore', err);
    throw new VsadmExit(255, `${message}\n`);
  }
}

/** vsd refused the size, not a line: say so in the restore's terms, and that nothing changed (-R is atomic). */
function tooLarge(plan: readonly PlannedOp[], err: ControlRequestError): string {
  const { limit, size } = err.details as { limit?: number; size?: number };
  const mib = (n: number | undefined) => (n === undefined ? '?' : `${(n / 1048576).toFixed(1)} MiB`);
  return (
    `vsadm: restore refused: ${plan.length} rules (${mib(size)} of operations) exceed what vsd accepts in one transaction ` +
    `(${mib(limit)}); nothing was changed. Restore the file in parts (each part is applied on its own).\n`
  );
}

/** One copy of the state and one pass over the plan (not a copy per line). */
async function findFailingLine(plan: readonly PlannedOp[], client: ControlClient): Promise<PlannedOp | undefined> {
  const state: DesiredState = await client.call('state');
  const { index } = firstFailingOp(
    state,
    plan.map((p) => p.op),
  );
  return index < 0 ? undefined : plan[index];
}
