/** zod pieces shared by the wire formats. */
import { z } from 'zod';
import { canonicalAddress } from './address.js';
import { ValidationError } from './errors.js';

/** An IPv4 or IPv6 address, parsed to its canonical text. */
export const ipAddress = z.string().transform((s, ctx) => {
  const c = canonicalAddress(s);
  if (c === null) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'not an IPv4 or IPv6 address' });
    return z.NEVER;
  }
  return c;
});

/** Parse with a schema; the first issue becomes a ValidationError naming `prefix.path` and the offending value. */
export function parseWith<S extends z.ZodTypeAny>(schema: S, input: unknown, prefix: string): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  // A strict object reports unknown keys on the object itself: name the first unknown key instead.
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
  const field = [prefix, ...path.map(String)].filter(Boolean).join('.');
  throw new ValidationError(field, valueAt(input, path), issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message);
}

function valueAt(input: unknown, path: readonly (string | number)[]): unknown {
  let v: unknown = input;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[k];
  }
  return v;
}
