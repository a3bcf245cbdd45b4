// The real server and the client of the connection-sync test (test/uml/guest/conn-sync.mjs), each run in its own
// network namespace. Commands: one JSON object a line on stdin, one JSON answer line on stdout.
//   server: listens on :80; every line received is answered "rs conn=N from=ADDR:PORT line=LINE", N counting the
//           accepted TCP connections, so the client can tell whether two answers came over the same connection.
//   client: one long-lived TCP connection: open, send a line and wait for the answer line (or the failure: a reset,
//           a close, or a timeout), close.
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';

const mode = process.argv[2];
const handlers = { ping: async () => ({}) };

if (mode === 'server') {
  let accepted = 0;
  const server = createServer((s) => {
    const id = ++accepted;
    s.on('error', () => {});
    createInterface({ input: s })
      .on('line', (l) => s.write(`rs conn=${id} from=${s.remoteAddress}:${s.remotePort} line=${l}\n`))
      .on('error', () => {}); // readline re-emits the socket's errors
  });
  const listening = new Promise((resolve, reject) => server.listen(80, '0.0.0.0', resolve).once('error', reject));
  handlers.ping = async () => {
    await listening;
    return {};
  };
  handlers.accepted = async () => ({ accepted });
} else if (mode === 'client') {
  let sock;
  let st;
  handlers.open = ({ host, port, timeoutMs }) =>
    new Promise((resolve, reject) => {
      const s = connect({ host, port });
      const state = { lines: [], failure: null, wake: null };
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`connect to ${host}:${port} timed out`));
      }, timeoutMs);
      s.setNoDelay(true);
      createInterface({ input: s })
        .on('line', (l) => {
          state.lines.push(l);
          state.wake?.();
        })
        .on('error', () => {}); // readline re-emits the socket's errors, which the socket's own handler records
      s.on('error', (err) => {
        state.failure ??= err.code ?? err.message;
        state.wake?.();
        clearTimeout(timer);
        reject(err);
      });
      s.on('close', () => {
        state.failure ??= 'closed';
        state.wake?.();
      });
      s.once('connect', () => {
        clearTimeout(timer);
        sock = s;
        st = state;
        resolve({ localAddress: s.localAddress, localPort: s.localPort });
      });
    });
  handlers.send = async ({ line, timeoutMs }) => {
    const started = Date.now();
    sock.write(`${line}\n`);
    const r = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve({ failure: 'timeout' }), timeoutMs);
      const check = () => {
        if (st.lines.length) resolve({ answer: st.lines.shift() });
        else if (st.failure) resolve({ failure: st.failure });
        else return;
        clearTimeout(timer);
        st.wake = null;
      };
      st.wake = check;
      check();
    });
    return { ...r, ms: Date.now() - started };
  };
  handlers.close = async () => {
    sock?.destroy();
    return {};
  };
} else {
  throw new Error(`usage: conn-sync.peer.mjs server|client (got ${mode})`);
}

for await (const line of createInterface({ input: process.stdin })) {
  const msg = JSON.parse(line);
  try {
    const r = await handlers[msg.op](msg);
    process.stdout.write(`${JSON.stringify({ ok: true, ...r })}\n`);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: `${err.code ?? ''} ${err.message}`.trim() })}\n`);
  }
}
process.exit(0);
