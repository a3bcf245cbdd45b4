import type { ControlClient } from '@vsd/core';

export interface CommandContext {
  client: ControlClient;
  /** --json: print one JSON document instead of text. */
  json: boolean;
  /** Arguments after the command name. */
  args: string[];
  out: NodeJS.WritableStream;
}

/** A vsctl sub-command: one file each, registered with one line in commands.ts. */
export interface VsctlCommand {
  /** One line for `vsctl --help`. */
  summary: string;
  /** Argument synopsis after the command name, e.g. "[--json]" or "FILE". */
  usage?: string;
  /** Returns the exit code. Errors thrown here are printed as one line by main. */
  run(ctx: CommandContext): Promise<number>;
}
