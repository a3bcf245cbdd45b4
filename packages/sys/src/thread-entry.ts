/**
 * Finding and vetting the compiled entry of a dedicated libc-socket thread (the proxy's epoll engine, the health
 * probe thread). Worker threads load JavaScript, so when the caller runs from TypeScript sources (tests), the entry
 * comes from the package's dist/ instead; and such a thread needs Linux and libc through koffi.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { netCalls } from './net.js';

/**
 * `sibling` (new URL('./thread.js', import.meta.url) in the caller) when it exists, i.e. the caller runs from dist;
 * otherwise `dist`, the same entry in the caller's package build (new URL('../../dist/x/thread.js', import.meta.url));
 * null when neither exists.
 */
export function threadEntry(sibling: URL, dist: URL): string | null {
  if (existsSync(sibling)) return fileURLToPath(sibling);
  return existsSync(dist) ? fileURLToPath(dist) : null;
}

/** Why a thread named `what` cannot run here, or null when it can: Linux, its entry file, libc through koffi. */
export function threadUnavailable(what: string, script: string | null, custom: boolean): string | null {
  if (process.platform !== 'linux') return `the ${what} needs Linux (this is ${process.platform})`;
  if (!script || !existsSync(script)) return custom ? `no ${what} at ${script}` : `the ${what} is not built (run pnpm build)`;
  try {
    netCalls();
  } catch (err) {
    return `libc is not reachable through koffi: ${(err as Error).message}`;
  }
  return null;
}
