/** How vsadm stops early: the text ipvsadm would print and the status it would exit with. */
export class VsadmExit extends Error {
  constructor(
    readonly code: number,
    readonly stderr = '',
    readonly stdout = '',
  ) {
    super(stderr || stdout || `exit ${code}`);
    this.name = 'VsadmExit';
  }
}

/** ipvsadm's fail(): message and newline on stderr. */
export function fail(code: number, message: string): VsadmExit {
  return new VsadmExit(code, `${message}\n`);
}

/** ipvsadm exits with -1 here, which the shell sees as 255. */
export function tryHelp(program: string): VsadmExit {
  return new VsadmExit(255, `Try \`${program} -h' or '${program} --help' for more information.\n`);
}
