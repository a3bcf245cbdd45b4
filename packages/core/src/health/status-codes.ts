import { ValidationError } from '../errors.js';

/** keepalived's `status_code` syntax: numbers and ranges, e.g. "200-299 400-499 503", a list, or one number. */
export type StatusRange = [number, number];

const MIN = 100;
const MAX = 599;

export function parseStatusCodes(input: number | string | ReadonlyArray<number | string>): StatusRange[] {
  const parts = Array.isArray(input) ? input : [input];
  const out: StatusRange[] = [];
  for (const part of parts) {
    const tokens =
      typeof part === 'number'
        ? [String(part)]
        : String(part)
            .split(/[\s,]+/)
            .filter(Boolean);
    for (const token of tokens) out.push(parseToken(token));
  }
  if (out.length === 0) throw new ValidationError('status_code', input, 'no status code given');
  return out;
}

function parseToken(token: string): StatusRange {
  const m = /^(\d{3})(?:-(\d{3}))?$/.exec(token);
  if (!m) throw new ValidationError('status_code', token, `"${token}" is not a status code or range (e.g. 200, 200-299)`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < MIN || hi > MAX || lo > hi) throw new ValidationError('status_code', token, `"${token}" is outside ${MIN}-${MAX} or reversed`);
  return [lo, hi];
}

export function statusAccepted(status: number, ranges: readonly StatusRange[]): boolean {
  return ranges.some(([lo, hi]) => status >= lo && status <= hi);
}

export function formatStatusCodes(ranges: readonly StatusRange[]): string {
  return ranges.map(([lo, hi]) => (lo === hi ? String(lo) : `${lo}-${hi}`)).join(' ');
}
