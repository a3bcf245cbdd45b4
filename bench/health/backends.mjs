// Loopback real servers for the health-check benchmark, in their own process so their CPU is not counted:
// argv[2] raw TCP listeners (accept, close) and argv[3] HTTP listeners (200 "ok"), all on 127.0.0.1.
// Prints one JSON line {tcp: [ports], http: [ports]} when listening; exits when stdin closes.
import { createServer as createHttp } from 'node:http';
import { createServer as createTcp } from 'node:net';

const [tcpCount, httpCount] = [Number(process.argv[2] ?? 500), Number(process.argv[3] ?? 500)];
const listen = (server) =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', backlog: 511 }, () => resolve(server.address().port));
  });

const tcp = [];
// TCP checks close with a reset: ignore it.
for (let i = 0; i < tcpCount; i++) tcp.push(await listen(createTcp((s) => s.on('error', () => undefined).end())));
const http = [];
for (let i = 0; i < httpCount; i++) {
  const server = createHttp((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 3 });
    res.end('ok\n');
  });
  server.keepAliveTimeout = 1000;
  http.push(await listen(server));
}
process.stdout.write(`${JSON.stringify({ tcp, http })}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
