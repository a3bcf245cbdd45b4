/** zod pieces shared by the wire formats. */
import { z } from 'zod';
import { canonicalAddress } from './address.js';

/** An IPv4 or IPv6 address, parsed to its canonical text. */
export const ipAddress = z
  .string()
  .transform((s, ctx) => {
    const c = canonicalAddress(s);
    if (c === null) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'not an IPv4 or IPv6 address' });
      return z.NEVER;
    }
    return c;
  });
