/**
 * The largest gap between 10 ms ticks while `fn` runs: how long the event loop was blocked at worst. `settleMs` keeps
 * the ticker running that long after `fn` so a block at its very end is counted too; `ms` is how long `fn` took.
 */
export async function worstLag<T>(fn: () => Promise<T>, settleMs = 0): Promise<{ value: T; lagMs: number; ms: number }> {
  let last = performance.now();
  let worst = 0;
  const t = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 10);
    last = now;
  }, 10);
  const t0 = performance.now();
  try {
    const value = await fn();
    const ms = performance.now() - t0;
    if (settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
    return { value, lagMs: worst, ms };
  } finally {
    clearInterval(t);
  }
}
