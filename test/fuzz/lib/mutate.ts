/**
 * Mutators: byte-level (for binary decoders and as noise for text ones), text-level (lines, numbers, tokens that
 * matter to the format), and JSON-structural (keep the document parseable, break its shape). Sizes stay bounded so a
 * target's time per input measures the decoder, not the mutator.
 */
import type { Rng } from './prng.js';

const MAX_LEN = 256 * 1024;
const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x0d, 0x20, 0x22, 0x5c, 0x7b, 0x7d];
const INTERESTING_NUMBERS = [
  '0',
  '-1',
  '1',
  '255',
  '256',
  '65535',
  '65536',
  '4294967295',
  '4294967296',
  '9007199254740993',
  '1e308',
  '-1e308',
  '1e-320',
  '0.5',
  '-0',
  'NaN',
  'Infinity',
  '0x10',
  '010',
  '1_000',
  '',
];

export function mutateBytes(rng: Rng, input: Uint8Array, corpus: readonly Uint8Array[] = []): Uint8Array {
  let b = Uint8Array.from(input);
  const rounds = rng.range(1, 4);
  for (let r = 0; r < rounds; r++) {
    const at = rng.int(b.length + 1);
    switch (rng.int(9)) {
      case 0:
        if (b.length) b[Math.min(at, b.length - 1)]! ^= 1 << rng.int(8);
        break;
      case 1:
        if (b.length) b[Math.min(at, b.length - 1)] = rng.pick(INTERESTING_BYTES);
        break;
      case 2:
        b = concat(b.subarray(0, at), rng.bytes(rng.range(1, 16)), b.subarray(at));
        break;
      case 3:
        b = concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + rng.range(1, 16))));
        break;
      case 4: {
        const len = rng.range(1, 64);
        b = concat(b.subarray(0, at), b.subarray(at, at + len), b.subarray(at));
        break;
      }
      case 5: {
        const other = corpus.length ? rng.pick(corpus) : b;
        const from = rng.int(other.length + 1);
        b = concat(b.subarray(0, at), other.subarray(from, from + rng.range(1, 64)), b.subarray(at));
        break;
      }
      case 6:
        b = b.subarray(0, at);
        break;
      case 7:
        if (b.length >= 2) {
          const v = rng.pick([0, 0xffff, 0x7fff, 0x8000, 1]);
          const i = Math.min(at, b.length - 2);
          b[i] = v >> 8;
          b[i + 1] = v & 0xff;
        }
        break;
      default:
        if (b.length) b[Math.min(at, b.length - 1)] = rng.u32() & 0xff;
    }
  }
  return b.length > MAX_LEN ? b.subarray(0, MAX_LEN) : b;
}

/** Text mutations; `tokens` are the format's meaningful pieces (brackets, keywords, option names). */
export function mutateText(rng: Rng, input: string, tokens: readonly string[], corpus: readonly string[] = []): string {
  let t = input;
  const rounds = rng.range(1, 3);
  for (let r = 0; r < rounds; r++) {
    const lines = t.split('\n');
    switch (rng.int(9)) {
      case 0: {
        const nums = [...t.matchAll(/-?\d+(\.\d+)?/g)];
        if (nums.length) {
          const m = rng.pick(nums);
          t = t.slice(0, m.index) + rng.pick(INTERESTING_NUMBERS) + t.slice(m.index! + m[0].length);
        }
        break;
      }
      case 1: {
        const at = rng.int(t.length + 1);
        t = t.slice(0, at) + rng.pick(tokens) + t.slice(at);
        break;
      }
      case 2: {
        const i = rng.int(lines.length);
        lines.splice(i, 0, ...new Array<string>(rng.chance(0.1) ? rng.range(2, 200) : 1).fill(lines[i] ?? ''));
        t = lines.join('\n');
        break;
      }
      case 3:
        lines.splice(rng.int(lines.length), 1);
        t = lines.join('\n');
        break;
      case 4: {
        const i = rng.int(lines.length);
        const j = rng.int(lines.length);
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        t = lines.join('\n');
        break;
      }
      case 5: {
        const other = corpus.length ? rng.pick(corpus) : t;
        const ol = other.split('\n');
        const from = rng.int(ol.length);
        lines.splice(rng.int(lines.length + 1), 0, ...ol.slice(from, from + rng.range(1, 10)));
        t = lines.join('\n');
        break;
      }
      case 6: {
        const open = rng.pick(['{', '[', '(', '"', "'", '{\n']);
        const at = rng.int(t.length + 1);
        t = t.slice(0, at) + open.repeat(rng.range(1, 300)) + t.slice(at);
        break;
      }
      case 7: {
        const at = rng.int(t.length + 1);
        t = t.slice(0, at) + rng.pick(['\u0000', '\u001b[2J', '\u202e', '\ufffd', '\r', '\t', '\u00ff', '😀', 'x'.repeat(rng.range(100, 5000))]) + t.slice(at);
        break;
      }
      default:
        t = Buffer.from(mutateBytes(rng, Buffer.from(t, 'utf8'))).toString('utf8');
    }
  }
  return t.length > MAX_LEN ? t.slice(0, MAX_LEN) : t;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export function randomJson(rng: Rng, depth = 0): Json {
  switch (rng.int(depth > 3 ? 5 : 7)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, -1, 1, 0.5, 255, 65535, 65536, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e308, -0, rng.u32(), rng.int(100)]);
    case 3:
      return rng.pick([
        '',
        'x',
        '10.0.0.1',
        '::1',
        '10.0.0.1:80',
        'tcp',
        'rr',
        'masq',
        'add-service',
        '__proto__',
        'constructor',
        'a'.repeat(rng.range(1, 3000)),
        '\u0000\u001b[1m',
      ]);
    case 4:
      return String(rng.u32());
    case 5:
      return Array.from({ length: rng.range(0, 4) }, () => randomJson(rng, depth + 1));
    default: {
      const o: { [k: string]: Json } = {};
      for (let i = rng.range(0, 4); i > 0; i--)
        setKey(o, rng.pick(['v', 't', 'type', 'op', 'ops', 'service', 'server', 'address', 'port', 'weight', 'x', '__proto__']), randomJson(rng, depth + 1));
      return o;
    }
  }
}

/** Change one node of a JSON document (keeping the rest), so that validators meet almost-valid input. */
export function mutateJson(rng: Rng, doc: unknown): unknown {
  const root = structuredClone(doc) as Json;
  const rounds = rng.range(1, 3);
  let out: Json = root;
  for (let r = 0; r < rounds; r++) out = mutateNode(rng, out, 0);
  return out;
}

function mutateNode(rng: Rng, node: Json, depth: number): Json {
  const descend = node !== null && typeof node === 'object' && depth < 12 && rng.chance(0.75);
  if (descend) {
    if (Array.isArray(node)) {
      if (node.length === 0 || rng.chance(0.15)) return arrayEdit(rng, node);
      const i = rng.int(node.length);
      node[i] = mutateNode(rng, node[i]!, depth + 1);
      return node;
    }
    const keys = Object.keys(node);
    if (keys.length === 0 || rng.chance(0.15)) return objectEdit(rng, node);
    const k = rng.pick(keys);
    setKey(node, k, mutateNode(rng, node[k]!, depth + 1));
    return node;
  }
  switch (rng.int(6)) {
    case 0:
      return randomJson(rng);
    case 1:
      return typeof node === 'number' ? rng.pick([node + 1, node - 1, -node, node * 65536, 2 ** 53, 0.5, 1e308]) : randomJson(rng);
    case 2:
      return typeof node === 'string' ? node + rng.pick(['x', '0', ':', '/33', ' ', '\u0000']) : (JSON.stringify(node) ?? 'null');
    case 3: {
      // Nesting (kept within what JSON.stringify itself survives; deepNest() goes deeper, as text).
      let n: Json = node;
      for (let i = rng.range(10, 1000); i > 0; i--) n = rng.chance(0.5) ? [n] : { x: n };
      return n;
    }
    case 4:
      return [node, node];
    default:
      return null;
  }
}

/**
 * Arrays grow by repeating one element up to 50 times, at most to MAX_ARRAY elements: spreading a large
 * repetition into push() overflowed the stack in the fuzzer itself, not in the decoder.
 */
const MAX_ARRAY = 4096;

function arrayEdit(rng: Rng, a: Json[]): Json {
  if (a.length && rng.chance(0.4)) a.splice(rng.int(a.length), 1);
  else if (a.length && a.length < MAX_ARRAY && rng.chance(0.3)) {
    // The same element repeated (the document is serialised once, so sharing is invisible); cloning a node that
    // earlier rounds nested a thousand deep overflowed the stack too.
    const copy = a[rng.int(a.length)]!;
    for (let n = rng.range(1, 50); n > 0 && a.length < MAX_ARRAY; n--) a.push(copy);
  } else a.splice(rng.int(a.length + 1), 0, randomJson(rng));
  return a;
}

function objectEdit(rng: Rng, o: { [k: string]: Json }): Json {
  const keys = Object.keys(o);
  if (keys.length && rng.chance(0.5)) delete o[rng.pick(keys)];
  else setKey(o, rng.pick(['extra', 'v', 'type', '__proto__', 'constructor', rng.pick(keys.length ? keys : ['k']) + 'x']), randomJson(rng));
  return o;
}

/** An own property even for "__proto__", as JSON.parse makes it (an assignment would change the prototype). */
function setKey(o: { [k: string]: Json }, k: string, v: Json): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Replace one value of a JSON text by a nesting up to 200,000 deep (within maxBytes, the decoder's frame limit): the depth limits must answer, not the stack. */
export function deepNest(rng: Rng, json: string, maxBytes = 2 * 1024 * 1024): string {
  const colons = [...json.matchAll(/:/g)];
  const n = rng.pick([100, 1000, 10_000, 200_000].filter((d) => d * 6 < maxBytes));
  const v = rng.chance(0.5) ? `${'['.repeat(n)}${']'.repeat(n)}` : `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
  if (!colons.length) return v;
  const at = rng.pick(colons).index! + 1;
  const rest = json.slice(at);
  // Drop the old value up to the next comma or closing bracket at the same level (roughly: the next , } or ]).
  const end = rest.search(/[,}\]]/);
  return json.slice(0, at) + v + (end < 0 ? '' : rest.slice(end));
}
