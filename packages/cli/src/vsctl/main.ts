/**
 * `vsctl`: operations on a running dispatcher through its control API.
 * Exit codes: 0 ok, 1 the command failed or vsd is unreachable, 2 usage error.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ControlUnreachableError, createControlClient, DEFAULT_SOCKET, UsageError, VsdError } from '@vsd/core';
import { cliVersion } from '../version.js';
import { commands } from './commands.js';
import { sanitizeJson, sanitizeText, sanitizing } from './safe-output.js';

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const list = Object.entries(commands)
    .map(([name, c]) => `  ${name.padEnd(width)}  ${c.usage ? `${c.usage}  ` : ''}${c.summary}`)
    .join('\n');
  return `Usage: vsctl [--socket PATH | --url http://HOST:PORT --token-file FILE] [--json] COMMAND [ARGS]

Commands:
${list}

Options:
  -s, --socket PATH      vsd control socket (default VSD_SOCKET, else ${DEFAULT_SOCKET})
      --url URL          a vsd TCP control listener instead of the socket (VSD_URL)
      --token-file FILE  bearer token for --url (VSD_TOKEN_FILE)
      --json             machine-readable output
  -h, --help             this text
  -V, --version          print the version
`;
}

export async function main(argv: string[], rawOut: NodeJS.WritableStream = process.stdout, rawErr: NodeJS.WritableStream = process.stderr): Promise<number> {
  // Everything printed passes the print boundary: peer- and agent-supplied text cannot drive the terminal.
  const json = argv.includes('--json');
  const out = sanitizing(rawOut, json ? sanitizeJson : sanitizeText);
  const err = sanitizing(rawErr, sanitizeText);
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        socket: { type: 'string', short: 's' },
        url: { type: 'string' },
        'token-file': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
      allowPositionals: true,
      strict: false,
    }));
  } catch (e) {
    err.write(`vsctl: ${(e as Error).message}\n`);
    return 2;
  }
  const [name, ...args] = positionals;
  if (values.version && !name) {
    out.write(`vsctl ${cliVersion()}\n`);
    return 0;
  }
  if (values.help || !name) {
    (values.help ? out : err).write(usage());
    return values.help ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    err.write(`vsctl: unknown command ${JSON.stringify(name)}; commands: ${Object.keys(commands).join(', ')}\n`);
    return 2;
  }
  const socket = (values.socket as string | undefined) ?? process.env.VSD_SOCKET ?? DEFAULT_SOCKET;
  const url = (values.url as string | undefined) ?? process.env.VSD_URL;
  const tokenFile = (values['token-file'] as string | undefined) ?? process.env.VSD_TOKEN_FILE;
  try {
    const token = tokenFile ? readFileSync(tokenFile, 'utf8').trim() : undefined;
    const client = createControlClient({ socket, url, token });
    // Unknown options after the command belong to it (e.g. `vsctl import-keepalived --out x`); --json is global.
    const rest = argv.slice(argv.indexOf(name) + 1).filter((a) => a !== '--json');
    return await command.run({ client, json: !!values.json, args: rest.length ? rest : args, out });
  } catch (e) {
    if (e instanceof ControlUnreachableError) {
      const where = url ? `vsd --listen ${new URL(url).host} --token-file FILE` : `vsd --socket ${socket}`;
      err.write(`vsctl: ${e.message}: is vsd running? start it with \`${where}\`, or point ${url ? '--url/VSD_URL' : '--socket/VSD_SOCKET'} at it\n`);
      return 1;
    }
    err.write(`vsctl: ${e instanceof VsdError ? e.message : (e as Error).message}\n`);
    // 2 as for a bad global option: the command line is wrong, nothing was asked of vsd.
    return e instanceof UsageError ? 2 : 1;
  }
}
