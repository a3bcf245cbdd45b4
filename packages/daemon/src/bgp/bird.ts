/**
 * BIRD 2's control socket (the one birdc talks to), spoken directly: one command per line, answered by lines
 * "CODE-text" (more follows), " text" (continuation of the previous code) and one "CODE text" that ends the reply.
 * Codes: 0xxx done, 1xxx table rows, 2xxx table heading, 8xxx run-time error, 9xxx parse error; "+" lines are
 * spontaneous printouts (ignored). On connect BIRD greets with 0001.
 *
 * A session per sync pass: nothing is held open between passes, so a BIRD restart costs nothing but the pass
 * that saw it go.
 */
import { connect, type Socket } from 'node:net';
import { BgpDaemonError } from '@vsd/core';

export interface BirdReply {
  /** The code of the line that ended the reply. */
  code: number;
  /** Every line of the reply, codes stripped, in order. */
  lines: Array<{ code: number; text: string }>;
}

/** Parses BIRD reply lines; feed it text as it arrives, it returns the replies completed by that text. */
export class BirdReplyParser {
  private buffer = '';
  private pending: BirdReply['lines'] = [];
  private lastCode = 0;

  push(text: string): BirdReply[] {
    this.buffer += text;
    const done: BirdReply[] = [];
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      const m = /^(\d{4})([ -])(.*)$/.exec(line);
      if (m) {
        this.lastCode = Number(m[1]);
        this.pending.push({ code: this.lastCode, text: m[3]! });
        if (m[2] === ' ') {
          done.push({ code: this.lastCode, lines: this.pending });
          this.pending = [];
        }
      } else if (line.startsWith(' ')) {
        this.pending.push({ code: this.lastCode, text: line.slice(1) });
      }
      // "+..." (spontaneous) and anything else carries no part of a reply.
    }
    return done;
  }
}

export interface BirdSessionOptions {
  socket: string;
  /** Per command (and for the greeting). */
  timeoutMs: number;
}

export class BirdSession {
  private readonly parser = new BirdReplyParser();
  private readonly replies: BirdReply[] = [];
  private waiter: ((r: BirdReply | Error) => void) | null = null;
  private failure: Error | null = null;

  private constructor(
    private readonly sock: Socket,
    private readonly options: BirdSessionOptions,
  ) {
    sock.setEncoding('utf8');
    sock.on('data', (text: string) => {
      for (const r of this.parser.push(text)) this.deliver(r);
    });
    const fail = (err: Error) => {
      this.failure ??= err;
      this.deliver(this.failure);
    };
    sock.on('error', (err) => fail(this.error('connection', err.message)));
    sock.on('close', () => fail(this.error('connection', 'closed by the daemon')));
  }

  static async open(options: BirdSessionOptions): Promise<BirdSession> {
    const session = await new Promise<BirdSession>((resolve, reject) => {
      const sock = connect(options.socket);
      const t = setTimeout(() => {
        sock.destroy();
        reject(new BgpDaemonError('bird', options.socket, 'connect', `no answer in ${options.timeoutMs} ms`));
      }, options.timeoutMs);
      sock.once('connect', () => {
        clearTimeout(t);
        resolve(new BirdSession(sock, options));
      });
      sock.once('error', (err) => {
        clearTimeout(t);
        reject(new BgpDaemonError('bird', options.socket, 'connect', err.message));
      });
    });
    const hello = await session.next('greeting');
    if (hello.code !== 1) {
      session.close();
      throw session.error('greeting', `unexpected greeting ${hello.code} ${hello.lines[0]?.text ?? ''}`.trim(), hello.code);
    }
    return session;
  }

  /** Run one command; a reply ending in 8xxx/9xxx is thrown as a BgpDaemonError carrying the code and BIRD's text. */
  async command(cmd: string): Promise<BirdReply> {
    if (/[\r\n]/.test(cmd)) throw this.error(cmd, 'a command is one line');
    this.sock.write(`${cmd}\n`);
    const reply = await this.next(cmd);
    if (reply.code >= 8000)
      throw this.error(
        cmd,
        reply.lines
          .map((l) => l.text)
          .join(' ')
          .trim() || `reply ${reply.code}`,
        reply.code,
      );
    return reply;
  }

  close(): void {
    this.sock.destroy();
  }

  private next(what: string): Promise<BirdReply> {
    const ready = this.replies.shift();
    if (ready) return Promise.resolve(ready);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiter = null;
        this.sock.destroy();
        reject(this.error(what, `no answer in ${this.options.timeoutMs} ms`));
      }, this.options.timeoutMs);
      this.waiter = (r) => {
        clearTimeout(t);
        this.waiter = null;
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
    });
  }

  private deliver(r: BirdReply | Error): void {
    if (this.waiter) this.waiter(r);
    else if (!(r instanceof Error)) this.replies.push(r);
  }

  private error(command: string, reason: string, code?: number): BgpDaemonError {
    return new BgpDaemonError('bird', this.options.socket, command, reason, code);
  }
}

export interface BirdProtocol {
  name: string;
  proto: string;
  /** up, down, start, ... as BIRD prints it. */
  state: string;
  /** The Info column ("Established", "Active", "Passive", ...), '' when empty. */
  info: string;
}

/** The rows of `show protocols` (reply 1002, continuation lines included; the 2002 heading skipped). */
export function parseProtocols(reply: BirdReply): BirdProtocol[] {
  const rows: BirdProtocol[] = [];
  for (const l of reply.lines) {
    if (l.code !== 1002) continue;
    const f = l.text.trim().split(/\s+/);
    if (f.length < 4) continue;
    // Since is a time ("17:45:03.898") or a date and a time, depending on BIRD's timeformat.
    let i = 4;
    if (/^\d{4}-\d{2}-\d{2}$/.test(f[i] ?? '')) i++;
    rows.push({ name: f[0]!, proto: f[1]!, state: f[3]!, info: f.slice(i + 1).join(' ') });
  }
  return rows;
}

export interface BfdSession {
  address: string;
  iface: string;
  state: string;
}

/** The rows of `show bfd sessions` (reply 1020: a line per BFD protocol name, then heading and session rows). */
export function parseBfdSessions(reply: BirdReply): BfdSession[] {
  const rows: BfdSession[] = [];
  for (const l of reply.lines) {
    if (l.code !== 1020) continue;
    const f = l.text.trim().split(/\s+/);
    // Heading "IP address Interface State ...", the protocol's "bfd1:" line: not sessions.
    if (f.length < 3 || f[0] === 'IP' || f[0]!.endsWith(':')) continue;
    rows.push({ address: f[0]!, iface: f[1]!, state: f[2]! });
  }
  return rows;
}
