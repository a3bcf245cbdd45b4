/**
 * Load -> weight percentage. Each signal is mapped to a pressure between 0 and 1 by its [low, high] marks:
 *
 *     pressure(x) = clamp((x - low) / (high - low), 0, 1)
 *
 * signals: load average per core, CPU busy fraction, memory used fraction, and (when max_connections > 0)
 * established connections / max_connections against [0.5, 1]. The worst signal decides:
 *
 *     weightPct = max(min_weight, round5(100 - (100 - min_weight) x max(pressures)))
 *
 * round5 rounds to the nearest multiple of 5 so that noise in the signals does not reprogram the dispatchers
 * every interval. With the defaults a node below 0.7 load per core, 60 % CPU and 85 % memory gets 100 %, a node
 * at 2 load per core (or 95 % CPU, or 98 % memory) gets min_weight (10 %). Load never drains a node to 0: draining
 * is for failures (storage, service probe, silence), and a cluster-wide load spike must not empty the pool.
 */
import type { LoadConfig } from '../config.js';

export interface LoadSignals {
  loadPerCore: number;
  cpu: number;
  memory: number;
  connections: number;
}

export function pressure(x: number, [low, high]: readonly [number, number]): number {
  return Math.min(1, Math.max(0, (x - low) / (high - low)));
}

export function weightPercent(s: LoadSignals, cfg: LoadConfig): number {
  if (!cfg.enabled) return 100;
  const pressures = [pressure(s.loadPerCore, cfg.load_per_core), pressure(s.cpu, cfg.cpu), pressure(s.memory, cfg.memory)];
  if (cfg.max_connections > 0) pressures.push(pressure(s.connections / cfg.max_connections, [0.5, 1]));
  const p = Math.max(...pressures);
  const raw = 100 - (100 - cfg.min_weight) * p;
  return Math.max(cfg.min_weight, Math.min(100, Math.round(raw / 5) * 5));
}
