/**
 * Worker thread entry: parse and validate a config file's text off the daemon's main thread (see loadConfig),
 * so a large file does not hold up VRRP adverts and health checks while it is read.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { VsdError } from '@vsd/core';
import { parseConfigText } from './config-load.js';

const { text, path } = workerData as { text: string; path: string };
try {
  // As JSON text: one string crosses the thread boundary, cheaper to take in than a cloned object graph.
  parentPort!.postMessage({ ok: true, loaded: JSON.stringify(parseConfigText(text, path)) });
} catch (err) {
  const e = err instanceof VsdError ? { code: err.code, message: err.message, details: err.details } : { message: (err as Error).message };
  parentPort!.postMessage({ ok: false, error: e });
}
