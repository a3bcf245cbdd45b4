// An unauthenticated client of the peer-sync port, run in its own process so its work does not count against the
// event loop under test. Usage:
//   node peer-attacker.mjs junk PORT MIB      one frame header announcing MIB MiB, then that much junk, as fast as taken
//   node peer-attacker.mjs idle PORT COUNT    COUNT connections that never send a byte, held until all are closed
//                                             by the other side (or stdin closes)
// Prints "ready" once started and waits for a line on stdin before attacking (so the test's event-loop probe does not
// measure this process's start-up), then one JSON line when done: {"sent":bytes,"closedMs":ms} or
// {"opened":n,"closedEarly":n,"closedByDeadline":n}.
import { connect } from 'node:net';

const [mode, portText, nText] = process.argv.slice(2);
const port = Number(portText);
const n = Number(nText);

let go;
const started = new Promise((r) => (go = r));
let lines = 0;
process.stdin.on('data', () => {
  if (lines++ === 0) go();
});
process.stdout.write('ready\n');
await started;

if (mode === 'junk') {
  const total = n * 1024 * 1024;
  const s = connect(port, '127.0.0.1');
  const t0 = Date.now();
  let sent = 0;
  const chunk = Buffer.alloc(256 * 1024, 0x7b); // '{'
  s.on('connect', () => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(total);
    s.write(head);
    const more = () => {
      while (sent < total && !s.destroyed) {
        sent += chunk.length;
        if (!s.write(chunk)) return void s.once('drain', more);
      }
    };
    more();
  });
  s.on('error', () => undefined);
  s.on('close', () => {
    process.stdout.write(`${JSON.stringify({ sent, closedMs: Date.now() - t0 })}\n`);
    process.exit(0);
  });
} else if (mode === 'idle') {
  let opened = 0;
  let closedEarly = 0;
  let closedByDeadline = 0;
  const sockets = [];
  for (let i = 0; i < n; i++) {
    const s = connect(port, '127.0.0.1');
    let greeted = false;
    s.on('connect', () => opened++);
    // A connection refused on accept closes before the hello; one held until the deadline gets the hello first.
    s.on('data', () => (greeted = true));
    s.on('error', () => undefined);
    s.on('close', () => {
      if (greeted) closedByDeadline++;
      else closedEarly++;
      if (closedEarly + closedByDeadline === n) report();
    });
    sockets.push(s);
  }
  // Every connection is closed by the other side (refused, or at its deadline): the counts are final once all are.
  const report = () => {
    process.stdout.write(`${JSON.stringify({ opened, closedEarly, closedByDeadline })}\n`);
    for (const s of sockets) s.destroy();
    process.exit(0);
  };
  process.stdin.on('end', report);
}
