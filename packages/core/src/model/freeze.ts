/** Helpers of the parse-once config sections: the file says seconds, the parsed options say milliseconds. */

/** Freezes plain data all the way down: parsed options are shared by every reader, none may change them. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Seconds (the unit of vsd.yaml) to milliseconds, without float noise (0.07 s is 70 ms, not 70.00000000000001). */
export function secondsToMs(seconds: number): number {
  return Math.round(seconds * 1e6) / 1e3;
}
