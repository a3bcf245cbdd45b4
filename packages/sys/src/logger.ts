import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** The root logger of a process: pino JSON lines. Components take `logger.child({ component })`. */
export function createLogger(options: LoggerOptions = {}, destination?: NodeJS.WritableStream): Logger {
  const base: LoggerOptions = { level: process.env.VSD_LOG_LEVEL ?? 'info', ...options };
  return destination ? pino(base, destination as never) : pino(base);
}

/** A logger that writes nothing: the default for library components created without one. */
export const silentLogger: Logger = pino({ level: 'silent' });
