/**
 * The print boundary of vsctl: text that came from elsewhere (agent names and reasons, peer ids, mount sources,
 * error messages a dispatcher relays) must not reach the terminal as control sequences. An agent named
 * "\x1b]0;owned\x07\x1b[2J" would otherwise retitle and clear the operator's terminal, or \r rewrite a line to
 * hide a drained server. Every control character but newline and tab (C0, DEL, C1 including the one-byte CSI
 * U+009B) and the bidirectional overrides (which reorder what is shown) are written as visible escapes.
 */
import { Writable } from 'node:stream';

const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** Text for a terminal: unsafe characters as \xHH / \uHHHH. */
export function sanitizeText(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}

/**
 * JSON for a terminal: JSON.stringify escapes C0 already; DEL, C1 and the overrides get \u escapes too (they can
 * only occur inside strings, so the document stays the same JSON).
 */
export function sanitizeJson(text: string): string {
  return text.replace(UNSAFE, (c) => (c === '\n' || c === '\t' ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/** A stream that writes to `out` through `clean`. */
export function sanitizing(out: NodeJS.WritableStream, clean: (text: string) => string): NodeJS.WritableStream {
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      out.write(clean(typeof chunk === 'string' ? chunk : chunk.toString('utf8')));
      callback();
    },
    decodeStrings: false,
  });
}
