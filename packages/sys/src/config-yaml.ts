/**
 * Config files' YAML, with the yaml library's problems made ours. Its errors become a ConfigError naming the file (a
 * duplicate key names the key, with its place in the document); its warnings (an unresolved tag, ...) are returned
 * as records for the caller's logger. The library never prints: left to itself it sends warnings through
 * process.emitWarning, to stderr, outside the JSON logs and with no file named.
 */
import { isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { ConfigError } from '@vsd/protocol';
import type { Logger } from './logger.js';

/** One warning from the YAML parser, JSON-safe (it crosses from the config parser thread). */
export interface YamlWarning {
  /** The yaml library's code, e.g. TAG_RESOLVE_FAILED. */
  code: string;
  /** Its message, first line (the rest is a source excerpt). */
  message: string;
  line: number | null;
  column: number | null;
}

export interface ParsedYaml {
  /** The document as plain data (null for an empty file). */
  value: unknown;
  warnings: YamlWarning[];
}

/** Parse the text of the config file `path`. Throws ConfigError (VSD_ERR_CONFIG). */
export function parseYamlConfig(text: string, path: string): ParsedYaml {
  let duplicate: { first: Node; again: Node } | null = null;
  const doc = parseDocument(text, {
    // 'error' keeps the library from printing its warnings (it does for 'warn' and 'debug'); they are read below.
    logLevel: 'error',
    // The library's test (same node, or scalars of equal value) made stricter: keys that become the same property of
    // the JS object (1 and "1") are the same key too, or the later would silently replace the earlier.
    uniqueKeys: (a, b) => {
      const same = a === b || (isScalar(a) && isScalar(b) && String(a.value) === String(b.value));
      if (same && !duplicate) duplicate = { first: a, again: b };
      return same;
    },
  });
  const first = doc.errors[0];
  if (first) {
    const at = first.linePos?.[0];
    const where = at ? { line: at.line, column: at.col } : {};
    const place = at ? ` (line ${at.line}, column ${at.col})` : '';
    const dup = duplicate as { first: Node; again: Node } | null;
    if (first.code === 'DUPLICATE_KEY' && dup) {
      const key = keyText(dup.again);
      const field = fieldOf(doc.contents, dup.again) ?? fieldOf(doc.contents, dup.first);
      throw new ConfigError(path, `duplicate key ${JSON.stringify(field ?? key)}${place}`, { key, ...(field ? { field } : {}), ...where });
    }
    throw new ConfigError(path, `not valid YAML: ${firstLine(first.message)}`, { yamlCode: first.code, ...where });
  }
  const warnings = doc.warnings.map((w) => {
    const at = w.linePos?.[0];
    return { code: w.code, message: firstLine(w.message), line: at?.line ?? null, column: at?.col ?? null };
  });
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    // An alias bomb, or an alias to nothing.
    throw new ConfigError(path, `not valid YAML: ${firstLine((err as Error).message)}`);
  }
  return { value, warnings };
}

/**
 * The YAML parser's warnings on the config file `path` (an unresolved tag, ...), one warn line each: what every
 * process that reads a config file (vsd at each load, vsd-agent, vrrp-run) logs, so they read alike.
 */
export function logYamlWarnings(log: Logger, path: string, warnings: readonly YamlWarning[] | undefined): void {
  for (const w of warnings ?? [])
    log.warn({ config: path, yaml: w.code, line: w.line, column: w.column, reason: w.message, code: 'VSD_ERR_CONFIG_WARNING' }, 'config file: YAML warning');
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

function keyText(key: Node): string {
  return isScalar(key) ? String(key.value) : String(key);
}

/** The dotted field of a map key in the document (virtual_servers.0.port), or null when it is not found. */
function fieldOf(node: unknown, key: Node, prefix = ''): string | null {
  if (isMap(node)) {
    for (const pair of node.items) {
      const name = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const field = prefix ? `${prefix}.${name}` : name;
      if (pair.key === key) return field;
      const inner = fieldOf(pair.value, key, field);
      if (inner) return inner;
    }
  } else if (isSeq(node)) {
    for (const [i, item] of node.items.entries()) {
      const inner = fieldOf(item, key, prefix ? `${prefix}.${i}` : String(i));
      if (inner) return inner;
    }
  }
  return null;
}
