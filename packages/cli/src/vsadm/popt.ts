/**
 * The subset of libpopt's argv scanner that ipvsadm relies on, with popt's own quirks: short options cluster
 * (`-Ln`), a short option's value may be glued (`-p60`, `-p=60`) or be the next word, `--long=value`, an optional
 * value is taken from the next word unless that word starts with `-`, non-options anywhere are kept as leftovers,
 * `--` ends option scanning, and errors name the whole argv word being scanned ("-Lq: unknown option").
 */

export type ArgKind = 'none' | 'string' | 'optional';

export interface PoptOption {
  long?: string;
  short?: string;
  arg: ArgKind;
  /** What the scanner reports for this option (ipvsadm's `val`). */
  tag: string;
}

export interface PoptEvent {
  tag: string;
  /** The value for options that take one; null when an optional value was absent. */
  value: string | null;
  /** What poptBadOption() would return right after this option: the argv word last consumed. */
  bad: string;
}

export interface PoptScan {
  events: PoptEvent[];
  /** The scan stopped here: ipvsadm prints `${bad}: ${message}`. */
  error?: { bad: string; message: string };
  leftovers: string[];
}

export const POPT_ERRORS = {
  badopt: 'unknown option',
  noarg: 'missing argument',
  unwanted: 'option does not take an argument',
} as const;

/** Scan `args` (argv without the program name). */
export function poptScan(args: readonly string[], table: readonly PoptOption[]): PoptScan {
  const events: PoptEvent[] = [];
  const leftovers: string[] = [];
  let i = 0;
  let rest = false;
  const fail = (bad: string, message: string): PoptScan => ({ events, leftovers, error: { bad, message } });

  while (i < args.length) {
    const word = args[i++]!;
    if (rest || !word.startsWith('-') || word === '-') {
      leftovers.push(word);
      continue;
    }
    if (word === '--') {
      rest = true;
      continue;
    }
    if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const name = eq < 0 ? word.slice(2) : word.slice(2, eq);
      const inline = eq < 0 ? null : word.slice(eq + 1);
      const opt = table.find((o) => o.long === name);
      if (!opt) return fail(word, POPT_ERRORS.badopt);
      if (opt.arg === 'none') {
        if (inline !== null) return fail(word, POPT_ERRORS.unwanted);
        events.push({ tag: opt.tag, value: null, bad: word });
        continue;
      }
      if (inline !== null) {
        events.push({ tag: opt.tag, value: inline, bad: word });
        continue;
      }
      const taken = takeNext(args, i, opt.arg);
      if (taken === 'missing') return fail(word, POPT_ERRORS.noarg);
      if (taken !== null) i++;
      events.push({ tag: opt.tag, value: taken, bad: taken !== null ? args[i - 1]! : word });
      continue;
    }
    // A cluster of short options: each letter is an option until one takes a value.
    let pos = 1;
    while (pos < word.length) {
      const opt = table.find((o) => o.short === word[pos]);
      if (!opt) return fail(word, POPT_ERRORS.badopt);
      pos++;
      if (opt.arg === 'none') {
        if (word[pos] === '=') return fail(word, POPT_ERRORS.unwanted);
        events.push({ tag: opt.tag, value: null, bad: word });
        continue;
      }
      if (pos < word.length) {
        const glued = word.slice(word[pos] === '=' ? pos + 1 : pos);
        events.push({ tag: opt.tag, value: glued, bad: word });
        break;
      }
      const taken = takeNext(args, i, opt.arg);
      if (taken === 'missing') return fail(word, POPT_ERRORS.noarg);
      if (taken !== null) i++;
      events.push({ tag: opt.tag, value: taken, bad: taken !== null ? args[i - 1]! : word });
    }
  }
  return { events, leftovers };
}

function takeNext(args: readonly string[], i: number, kind: ArgKind): string | null | 'missing' {
  if (i >= args.length) return kind === 'optional' ? null : 'missing';
  const next = args[i]!;
  if (kind === 'optional' && next.startsWith('-')) return null;
  return next;
}
