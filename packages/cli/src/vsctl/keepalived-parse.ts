/**
 * A reader for keepalived.conf: tokens (quoted strings, comments with # or !), nested `{ }` blocks, conditional
 * lines (`@ID ...`, `@^ID ...`, keepalived -i), and `include` left to the caller (keepalived-include.ts). The result
 * is a tree of statements `{ words, children }` that the importer walks.
 */

export interface Statement {
  words: string[];
  children: Statement[] | null;
  line: number;
  /** The included file the statement comes from; absent for the file named on the command line. */
  file?: string;
}

export interface ParseOptions {
  /** The file's name for statements (included files). */
  file?: string;
  /**
   * keepalived's config id (`keepalived -i ID`, default the host name): a line `@ID ...` is read only under that
   * id, a line `@^ID ...` under every other one.
   */
  configId?: string;
  /** Lines dropped by a conditional, for the caller to report. */
  skipped?: Array<{ line: number; id: string }>;
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

function tokenize(text: string, opts: ParseOptions): Token[] {
  const out: Token[] = [];
  let line = 1;
  let i = 0;
  let lineStart = true;
  while (i < text.length) {
    const c = text[i]!;
    if (lineStart && c === '@') {
      const m = /^@(\^?)(\S+)/.exec(text.slice(i, i + 256));
      const id = m ? m[2]! : '';
      const match = id === opts.configId;
      if (m && (m[1] ? !match : match)) i += m[0].length;
      else {
        opts.skipped?.push({ line, id: m ? m[0].slice(1) : '' });
        while (i < text.length && text[i] !== '\n') i++;
      }
      lineStart = false;
      continue;
    }
    if (c !== ' ' && c !== '\t') lineStart = c === '\n';
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
      // A brace inside a word is a glob's {a,b} (include conf.d/{web,db}.conf), not a block.
      if (text[j] === '{' && j > i) {
        let k = j;
        while (k < text.length && !' \t\r\n"'.includes(text[k]!)) k++;
        if (/\{[^{}]*,[^{}]*\}/.test(text.slice(j, k))) j = k;
      }
      out.push({ text: text.slice(i, j), line, quoted: false });
      i = j;
    }
  }
  return out;
}

/** keepalived.conf nests a few levels (virtual_server > real_server > HTTP_GET > url); far deeper is not a config. */
export const MAX_BLOCK_DEPTH = 32;

export function parseKeepalived(text: string, opts: ParseOptions = {}): Statement[] {
  const tokens = tokenize(text, opts);
  let pos = 0;
  const block = (depth: number, openLine: number): Statement[] => {
    const list: Statement[] = [];
    let words: string[] = [];
    let line = 0;
    const flush = (): void => {
      if (words.length) list.push({ words, children: null, line, ...(opts.file ? { file: opts.file } : {}) });
      words = [];
    };
    while (pos < tokens.length) {
      const t = tokens[pos++]!;
      if (t.text === '\n' && !t.quoted) flush();
      else if (t.text === '{' && !t.quoted) {
        // "virtual_server 10.0.0.1 80" may end its line and open its block on the next one.
        const prev = list[list.length - 1];
        const stmt: Statement =
          !words.length && prev && prev.children === null
            ? list.pop()!
            : { words, children: null, line: line || t.line, ...(opts.file ? { file: opts.file } : {}) };
        words = [];
        if (!stmt.words.length) throw new KeepalivedSyntaxError(t.line, 'a block { } needs a keyword before it');
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
