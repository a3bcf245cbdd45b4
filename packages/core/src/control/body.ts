/**
 * Reading a control API request body: bounded in size and in nesting depth before anything recursive (zod, the
 * error serialiser, the logger) sees it. A body above the limit is still read to its end (and dropped), so the
 * client has finished sending when the 413 reaches it: closing while it writes would turn the answer into a
 * reset it reports as "cannot reach vsd".
 */
import type { IncomingMessage } from 'node:http';
import { ControlProtocolError } from '../errors.js';

/** Deeper than any document of the API (a transaction is 5 levels) by a wide margin. */
export const MAX_JSON_DEPTH = 64;

/**
 * The deepest nesting of arrays and objects in JSON text (UTF-8 bytes: no byte of a multi-byte character is ASCII,
 * so brackets and quotes are found by their byte), in one pass with no recursion; stops counting at `stop`.
 * Brackets inside strings do not count.
 */
export function jsonDepth(bytes: Uint8Array | string, stop = Infinity): number {
  const text = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest >= stop) return deepest;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

export function readJsonBody(req: IncomingMessage, max: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = declared > max;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) tooLarge = true;
      if (!tooLarge) chunks.push(c);
      else chunks.length = 0;
    });
    req.on('error', reject);
    req.on('end', () => {
      if (tooLarge)
        return reject(
          new ControlProtocolError(
            'VSD_ERR_BODY_TOO_LARGE',
            `request body of ${Math.max(size, declared)} bytes exceeds the limit of ${max} bytes for ${req.url}`,
            {
              limit: max,
              size: Math.max(size, declared),
            },
          ),
        );
      try {
        resolve(parseJson(Buffer.concat(chunks)));
      } catch (err) {
        reject(err);
      }
    });
  });
}

function parseJson(bytes: Buffer): unknown {
  if (jsonDepth(bytes, MAX_JSON_DEPTH + 1) > MAX_JSON_DEPTH)
    throw new ControlProtocolError('VSD_ERR_BAD_REQUEST', `JSON body nested deeper than ${MAX_JSON_DEPTH} levels`, { limit: MAX_JSON_DEPTH });
  const text = bytes.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ControlProtocolError('VSD_ERR_BAD_REQUEST', `malformed JSON body: ${(err as Error).message}`);
  }
}
