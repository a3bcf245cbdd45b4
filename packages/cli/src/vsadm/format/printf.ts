/** The printf conversions ipvsadm's output uses. */

/** %-Ns */
export function left(value: string | number, width: number): string {
  return String(value).padEnd(width);
}

/** %Ns / %Nllu */
export function right(value: string | number, width: number): string {
  return String(value).padStart(width);
}

/** print_largenum: 9 columns, scaled to K/M/G/T unless --exact. */
export function largenum(n: number, exact: boolean): string {
  const v = Math.max(0, Math.floor(n));
  if (exact) {
    const digits = String(v).length;
    return right(v, digits <= 8 ? 9 : digits + 1);
  }
  if (v < 1e8) return right(v, 9);
  if (v < 1e9) return `${right(Math.floor(v / 1e3), 8)}K`;
  if (v < 1e11) return `${right(Math.floor(v / 1e6), 8)}M`;
  if (v < 1e14) return `${right(Math.floor(v / 1e9), 8)}G`;
  return `${right(Math.floor(v / 1e12), 8)}T`;
}
