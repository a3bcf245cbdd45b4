/**
 * A reader for keepalived.conf: tokens (quoted strings, comments with # or !), nested `{ }` blocks, and `include`
 * left to the caller. The result is a tree of statements `{ words, children }` that the importer walks.
 */

export interface Statement {
  words: string[];
  children: Statement[] | null;
  line: number;
}

export class KeepalivedSyntaxError extends Error {
  constructor(
    readonly line: number,
    reason: string,
  ) {
    super(`keepalived.conf line ${line}: ${reason}`);
  }
}

interface Token {
  text: string;
  line: number;
  quoted: boolean;
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      out.push({ text: '\n', line, quoted: false });
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') i++;
    else if (c === '#' || c === '!') while (i < text.length && text[i] !== '\n') i++;
    else if (c === '{' || c === '}') {
      out.push({ text: c, line, quoted: false });
      i++;
    } else if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) throw new KeepalivedSyntaxError(line, 'unterminated quoted string');
      out.push({ text: text.slice(i + 1, end), line, quoted: true });
      i = end + 1;
    } else {
      let j = i;
      while (j < text.length && !' \t\r\n{}"'.includes(text[j]!)) j++;
      out.push({ text: text.slice(i, j), line, quoted: false });
      i = j;
    }
  }
  return out;
}

/** keepalived.conf nests a few levels (virtual_server > real_server > HTTP_GET > url); far deeper is not a config. */
export const MAX_BLOCK_DEPTH = 32;

export function parseKeepalived(text: string): Statement[] {
  const tokens = tokenize(text);
  let pos = 0;
  const block = (depth: number, openLine: number): Statement[] => {
    const list: Statement[] = [];
    let words: string[] = [];
    let line = 0;
    const flush = (): void => {
      if (words.length) list.push({ words, children: null, line });
      words = [];
    };
    while (pos < tokens.length) {
      const t = tokens[pos++]!;
      if (t.text === '\n' && !t.quoted) flush();
      else if (t.text === '{' && !t.quoted) {
        // "virtual_server 10.0.0.1 80" may end its line and open its block on the next one.
        const prev = list[list.length - 1];
        const stmt: Statement = !words.length && prev && prev.children === null ? list.pop()! : { words, children: null, line: line || t.line };
        words = [];
        // The reader recurses per block: a bound keeps a pathological file a syntax error, not a stack overflow.
        if (depth + 1 > MAX_BLOCK_DEPTH) throw new KeepalivedSyntaxError(t.line, `blocks nested deeper than ${MAX_BLOCK_DEPTH}`);
        stmt.children = block(depth + 1, t.line);
        list.push(stmt);
      } else if (t.text === '}' && !t.quoted) {
        if (depth === 0) throw new KeepalivedSyntaxError(t.line, 'unexpected }');
        flush();
        return list;
      } else {
        if (!words.length) line = t.line;
        words.push(t.text);
      }
    }
    if (depth > 0) throw new KeepalivedSyntaxError(openLine, 'block opened here is never closed');
    flush();
    return list;
  };
  return block(0, 0);
}
