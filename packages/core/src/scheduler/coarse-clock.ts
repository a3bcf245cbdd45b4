/**
 * A millisecond wall clock read without allocating, for the lblc/lblcr tables.
 *
 * Date.now() and performance.now() return their double as a fresh heap number, which would be an allocation
 * per pick. Their expiry works in minutes (6 min, 30 min sweeps, 24 h), so a value refreshed every 100 ms by one
 * shared, unref'd interval is precise enough; it is read from a Float64Array, which needs no boxing.
 * The interval starts with the first scheduler that uses the default clock and never keeps the process alive.
 */
const cell = new Float64Array(1);
let timer: NodeJS.Timeout | null = null;

export const COARSE_CLOCK_PERIOD = 100;

/** The shared cell holding the current time in milliseconds; starts the refresh on first use. */
export function coarseClock(): Float64Array {
  if (timer === null) {
    cell[0] = Date.now();
    timer = setInterval(() => {
      cell[0] = Date.now();
    }, COARSE_CLOCK_PERIOD);
    timer.unref();
  }
  return cell;
}
