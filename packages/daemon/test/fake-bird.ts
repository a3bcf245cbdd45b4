/**
 * A BIRD 2 control socket for unit tests: the greeting, `show protocols`, `enable`/`disable "NAME"` and
 * `show bfd sessions`, answered with BIRD's reply codes and line format; every command is recorded.
 */
import { createServer, type Server, type Socket } from 'node:net';

export interface FakeBird {
  readonly socket: string;
  /** Static protocols by name: true = enabled (the route is announced). */
  readonly protocols: Map<string, boolean>;
  readonly commands: string[];
  /** Answer nothing to commands (a hung daemon). */
  hang: boolean;
  close(): Promise<void>;
}

export async function startFakeBird(socket: string, protocols: Record<string, boolean>): Promise<FakeBird> {
  const state: FakeBird = {
    socket,
    protocols: new Map(Object.entries(protocols)),
    commands: [],
    hang: false,
    close: () =>
      new Promise<void>((r) => {
        for (const c of conns) c.destroy();
        server.close(() => r());
      }),
  };
  const conns = new Set<Socket>();
  const server: Server = createServer((c) => {
    conns.add(c);
    c.on('close', () => conns.delete(c));
    c.write('0001 BIRD 2.0.12 ready.\n');
    let buf = '';
    c.on('data', (d) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const cmd = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        state.commands.push(cmd);
        if (!state.hang) c.write(answer(state, cmd));
      }
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  return state;
}

function answer(state: FakeBird, cmd: string): string {
  if (cmd === 'show protocols') {
    const rows = [
      'device1    Device     ---        up     17:44:59.883  ',
      ...[...state.protocols].map(([n, on]) => `${n} Static     master4    ${on ? 'up  ' : 'down'}   17:45:14.294  `),
      'up1        BGP        ---        up     17:45:03.898  Established   ',
      'up2        BGP        ---        start  2026-12-01 17:45:03  Active        ',
    ];
    return `2002-Name       Proto      Table      State  Since         Info\n1002-${rows[0]}\n${rows
      .slice(1)
      .map((r) => ` ${r}\n`)
      .join('')}0000 \n`;
  }
  if (cmd === 'show bfd sessions')
    return '1020-bfd1:\n IP address                Interface  State      Since         Interval  Timeout\n 10.99.0.1                 eth0       Up         17:45:00.631    0.100    0.300\n0000 \n';
  const m = /^(enable|disable) "([^"]+)"$/.exec(cmd);
  if (m) {
    const [, verb, name] = m;
    if (!state.protocols.has(name!)) return '8003 No protocols match\n';
    const on = state.protocols.get(name!)!;
    state.protocols.set(name!, verb === 'enable');
    if (verb === 'enable') return on ? `0010-${name}: already enabled\n0000 \n` : `0011-${name}: enabled\n0000 \n`;
    return on ? `0009-${name}: disabled\n0000 \n` : `0008-${name}: already disabled\n0000 \n`;
  }
  return '9001 syntax error, unexpected CF_SYM_UNDEFINED\n';
}
