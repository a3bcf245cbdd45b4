#!/usr/bin/env node
/**
 * Standalone VRRP runner: `vrrp-run CONFIG.yaml|json`. Reads the `ha:` section (or a bare ha object), logs pino
 * JSON lines to stdout. SIGTERM/SIGINT: shut down with a priority-0 advert. SIGUSR1: resign. SIGUSR2: takeover.
 * SIGHUP: release a resign/takeover hold. Used by the namespace tests before the vsd daemon embeds VrrpInstance.
 */
import { readFileSync } from 'node:fs';
import { createLogger, logYamlWarnings, parseYamlConfig } from '@vsd/core';
import { parseHaConfig, type HaConfig } from '../config.js';
import { createVrrpInstance } from '../instance.js';

async function main(): Promise<void> {
  const path = process.argv[2];
  if (!path) {
    process.stderr.write('usage: vrrp-run CONFIG\n');
    process.exit(2);
  }
  const logger = createLogger({ base: { pid: process.pid } });
  let config: HaConfig;
  try {
    const { value, warnings } = parseYamlConfig(readFileSync(path, 'utf8'), path);
    logYamlWarnings(logger, path, warnings);
    const doc = value as Record<string, unknown> | null;
    config = parseHaConfig(doc && typeof doc === 'object' && 'ha' in doc ? doc.ha : doc);
  } catch (err) {
    logger.fatal({ err: (err as Error).message, path }, 'bad config');
    process.exit(2);
  }
  const instance = createVrrpInstance(config, { logger });
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await instance.stop();
    logger.info({ status: instance.status() }, 'exit');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGUSR1', () => instance.resign());
  process.on('SIGUSR2', () => instance.takeover());
  process.on('SIGHUP', () => instance.release());
  instance.onStateChange((t) => logger.info({ event: 'state', ...t, status: instance.status() }, 'state change'));
  try {
    await instance.start();
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, 'start failed');
    await instance.stop().catch(() => {});
    process.exit(1);
  }
}

void main();
