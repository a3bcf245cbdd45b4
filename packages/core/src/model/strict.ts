/**
 * The one way a config object refuses keys it does not know (vsd.yaml's every section, vsd-agent's file): the
 * problem names the key and the closest known one ("ha.advrt_int: unknown key, did you mean advert_int?").
 * Unknown keys are reported before any other problem of the object, because a misspelt key usually also makes a
 * required one look missing ("interface: Required" would not say why).
 */
import { z } from 'zod';
import { closestKey } from './hint.js';

export interface UnknownKeyOptions {
  /** Keys from keepalived.conf (or common slips) that have another name here: misspelt key -> known key. */
  aliases?: Readonly<Record<string, string>>;
  /** A better hint than the closest key for some keys (", it belongs inside ..."); null: the usual one. */
  hint?: (key: string, known: readonly string[]) => string | null;
  /**
   * Stop at the first unknown key (default). Inside a union the issue must not be fatal: zod would turn it into
   * the union's bare "Invalid input".
   */
  fatal?: boolean;
}

/** "unknown key, did you mean X?" (or without the hint when nothing is close). */
export function unknownKeyMessage(key: string, known: readonly string[], o: UnknownKeyOptions = {}): string {
  const special = o.hint?.(key, known);
  if (special) return `unknown key${special}`;
  const alias = o.aliases?.[key];
  const near = alias !== undefined && known.includes(alias) ? alias : closestKey(key, known);
  return `unknown key${near ? `, did you mean ${near}?` : ''}`;
}

/** Wraps any schema of an object (refined, transformed) so that keys outside `known` are refused with a hint. */
export function withKnownKeys<T extends z.ZodTypeAny>(known: readonly string[], schema: T, o: UnknownKeyOptions = {}) {
  const fatal = o.fatal ?? true;
  return z.preprocess((input, ctx) => {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) return input;
    for (const key of Object.keys(input)) {
      if (known.includes(key)) continue;
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: [key], message: unknownKeyMessage(key, known, o), fatal });
      if (fatal) break;
    }
    return input;
  }, schema);
}

/** z.object(shape) whose unknown keys are refused with a hint (see {@link withKnownKeys}). */
export function strictObject<T extends z.ZodRawShape>(shape: T, o: UnknownKeyOptions = {}) {
  return withKnownKeys(Object.keys(shape), z.object(shape).strip(), o);
}
