/**
 * Prometheus text exposition format 0.0.4, written by hand (no client library): metric families declared once with a
 * stable HELP and TYPE, samples added per scrape. Every family is printed with its HELP/TYPE even without samples,
 * so a dashboard or an alert rule can tell "no real servers" from "vsd does not export this".
 */

import { invariant } from '@vsd/core';

export type Labels = Readonly<Record<string, string | number>>;

const NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export class MetricFamily {
  private readonly samples: string[] = [];
  private readonly seen = new Set<string>();
  /** Label names already validated: a scrape of thousands of real servers checks each name once. */
  private readonly labelNames = new Set<string>();

  constructor(
    readonly name: string,
    readonly type: 'counter' | 'gauge',
    readonly help: string,
  ) {
    // A bad name is a programming error: fail the first scrape in the tests, not a user's Prometheus.
    invariant(NAME.test(name), () => `invalid metric name ${name}`);
    invariant(type !== 'counter' || name.endsWith('_total'), () => `counter ${name} must end in _total`);
  }

  /** One sample; a repeated label set is dropped (the scrape would be refused as a whole otherwise). */
  add(labels: Labels, value: number | boolean | null | undefined): void {
    if (value === null || value === undefined) return;
    let labelText = '';
    for (const k in labels) {
      if (!this.labelNames.has(k)) {
        invariant(LABEL.test(k) && !k.startsWith('__'), () => `invalid label name ${k} on ${this.name}`);
        this.labelNames.add(k);
      }
      labelText += `${labelText ? ',' : '{'}${k}="${escapeLabelValue(String(labels[k]))}"`;
    }
    if (labelText) labelText += '}';
    if (this.seen.has(labelText)) return;
    this.seen.add(labelText);
    this.samples.push(`${this.name}${labelText} ${formatValue(typeof value === 'boolean' ? Number(value) : value)}`);
  }

  /**
   * A state set as a gauge per state (the OpenMetrics StateSet in 0.0.4 clothing): 1 for the current state, 0 for
   * the others, so `x{state="MASTER"} == 1` works and a vanished state does not leave a stale series.
   */
  addStateSet(labels: Labels, label: string, states: readonly string[], current: string | null): void {
    for (const s of states) this.add({ ...labels, [label]: s }, s === current ? 1 : 0);
  }

  render(): string {
    const head = `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`;
    return head + this.samples.map((s) => `${s}\n`).join('');
  }
}

/** A scrape's families in declaration order; `family()` returns the same object for the same name. */
export class Exposition {
  private readonly families = new Map<string, MetricFamily>();

  family(name: string, type: 'counter' | 'gauge', help: string): MetricFamily {
    const existing = this.families.get(name);
    if (existing) {
      invariant(existing.type === type, () => `metric ${name} declared as ${existing.type} and ${type}`);
      return existing;
    }
    const f = new MetricFamily(name, type, help);
    this.families.set(name, f);
    return f;
  }

  counter(name: string, help: string): MetricFamily {
    return this.family(name, 'counter', help);
  }

  gauge(name: string, help: string): MetricFamily {
    return this.family(name, 'gauge', help);
  }

  render(): string {
    return [...this.families.values()].map((f) => f.render()).join('');
  }
}

export function escapeLabelValue(value: string): string {
  if (!/[\\"\n]/.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
