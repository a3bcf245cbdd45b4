// A peer-sync node holding a big table, in its own process so that serialising its snapshot does not count against the
// event loop under test. Usage: node peer-sender.mjs KEY SERVICES PER_SERVICE. Prints {"port":N} once listening;
// runs until stdin closes.
import { parseState, StateStore } from '../../../core/dist/index.js';
import { createPeerSync } from '../../dist/sync/index.js';

const [key, servicesText, perText] = process.argv.slice(2);
const services = [];
for (let i = 0; i < Number(servicesText); i++) {
  const realServers = [];
  for (let j = 0; j < Number(perText); j++) realServers.push({ address: `10.78.${j}.${(i % 250) + 1}`, port: 80, forwarding: 'masq' });
  services.push({ protocol: 'tcp', address: `10.77.${(i >> 8) & 255}.${i & 255}`, port: 80, scheduler: 'wlc', realServers });
}
const store = await StateStore.open({ path: null });
await store.install(parseState({ version: 1, generation: 7, services }, 'sender'), 'config');
const sync = createPeerSync({ id: 'sender', key: Buffer.from(key), listen: { host: '127.0.0.1', port: 0 }, store });
const { port } = await sync.start();
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.stdin.on('data', () => undefined);
process.stdin.on('end', () => void sync.stop().then(() => process.exit(0)));
