/**
 * Pre-shared key files (peer sync, agents). Making one: 32 random bytes in base64 on one line, the form readKeyFile() reads
 * (its trimmed text is the key). The file is created with mode 0600 and never replaced unless asked: a key
 * overwritten on one dispatcher silently splits the pair until it is copied again.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { AuthError } from '@vsd/protocol';
import { KeyFileError } from './errors.js';

export const KEY_BYTES = 32;

export function newKeyText(): string {
  return `${randomBytes(KEY_BYTES).toString('base64')}\n`;
}

export interface WriteKeyOptions {
  /** Replace an existing file (atomically: a reader sees the old key or the new one). */
  force?: boolean;
}

/** Write a new key to `path` (mode 0600); returns the key text. Refuses an existing file without `force`. */
export function writeKeyFile(path: string, options: WriteKeyOptions = {}): string {
  const text = newKeyText();
  const target = options.force ? join(dirname(path), `.${basename(path)}.${process.pid}.tmp`) : path;
  let fd: number;
  try {
    // 'wx': O_CREAT|O_EXCL, so an existing key is never truncated; the mode applies at creation (umask can only remove bits).
    fd = openSync(target, 'wx', 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KeyFileError(
      path,
      code === 'EEXIST'
        ? 'exists; keep it, or replace it with --force (then copy it to every node that shares it)'
        : `cannot create: ${(err as Error).message}`,
    );
  }
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(target, 0o600);
  if (target !== path) {
    try {
      renameSync(target, path);
    } catch (err) {
      rmSync(target, { force: true });
      throw new KeyFileError(path, `cannot replace: ${(err as Error).message}`);
    }
  }
  return text;
}

/** Read a key file: its trimmed content; at least 16 bytes so a typo'd empty file is not a valid key. */
export function readKeyFile(path: string): Buffer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new AuthError(`cannot read key file ${path}: ${(err as Error).message}`, { path });
  }
  if (Buffer.byteLength(text) < 16) throw new AuthError(`key file ${path} holds fewer than 16 bytes`, { path });
  return Buffer.from(text);
}
