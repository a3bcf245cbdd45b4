/**
 * FRR bgpd's vty socket for unit tests: NUL-terminated commands, output ended by three NULs and a status byte;
 * `enable`, `show running-config` (the `network` statements held), the configure commands vsd sends, and
 * `show bgp summary json`. Commands are recorded.
 */
import { createServer, type Server, type Socket } from 'node:net';

export interface FakeBgpd {
  readonly networks: Set<string>;
  readonly commands: string[];
  close(): Promise<void>;
}

export async function startFakeBgpd(socket: string, asn = 65001): Promise<FakeBgpd> {
  const conns = new Set<Socket>();
  const state: FakeBgpd = {
    networks: new Set(),
    commands: [],
    close: () =>
      new Promise<void>((r) => {
        for (const c of conns) c.destroy();
        server.close(() => r());
      }),
  };
  const server: Server = createServer((c) => {
    conns.add(c);
    c.on('close', () => conns.delete(c));
    let enabled = false;
    let node = 'view';
    let buf = '';
    const reply = (text: string, status = 0) => c.write(Buffer.concat([Buffer.from(text), Buffer.from([0, 0, 0, status])]));
    c.on('data', (d) => {
      buf += d.toString();
      let z: number;
      while ((z = buf.indexOf('\0')) >= 0) {
        const cmd = buf.slice(0, z);
        buf = buf.slice(z + 1);
        state.commands.push(cmd);
        const net = /^(no )?network (\S+)$/.exec(cmd);
        if (cmd === 'enable') (enabled = true), reply('');
        else if (cmd === 'show running-config' && enabled)
          reply(
            `frr version 8.4.4\n!\nrouter bgp ${asn}\n bgp router-id 10.0.0.1\n !\n address-family ipv4 unicast\n${[...state.networks].map((n) => `  network ${n}\n`).join('')} exit-address-family\nexit\n!\n`,
          );
        else if (cmd === 'configure terminal' && enabled) (node = 'config'), reply('');
        else if (cmd === `router bgp ${asn}` && node === 'config') (node = 'bgp'), reply('');
        else if (/^address-family ipv[46] unicast$/.test(cmd) && node === 'bgp') (node = 'af'), reply('');
        else if (net && node === 'af') net[1] ? state.networks.delete(net[2]!) : state.networks.add(net[2]!), reply('');
        else if (cmd === 'exit-address-family' && node === 'af') (node = 'bgp'), reply('');
        else if (cmd === 'end') (node = 'enable'), reply('');
        else if (cmd === 'show bgp summary json') reply(JSON.stringify({ ipv4Unicast: { as: asn, peers: { '10.0.0.254': { state: 'Established' } } } }));
        else reply(`% Unknown command: ${cmd}\n`, 2);
      }
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  return state;
}
