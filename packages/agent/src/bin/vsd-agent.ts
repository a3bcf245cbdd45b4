import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError, VsdError } from '@vsd/protocol';
import { createLogger, createServiceNotifier, logYamlWarnings, newKeyText, readKeyFile, writeKeyFile } from '@vsd/sys';
import { Agent } from '../agent.js';
import { loadAgentConfig } from '../config.js';
import { DEFAULT_SETUP_STATE, decapStatus, setupDr, setupTun, teardown, type DecapMethod, type SetupChange } from '../setup/setup.js';
import { hostSystem } from '../setup/system.js';
import { ADDR_VIP } from '../setup/decap.js';

const USAGE = `usage:
  vsd-agent --config FILE                 run the agent (reports to the dispatchers, agent-check responder)
  vsd-agent setup-dr --vip VIP [--state FILE]
  vsd-agent setup-tun --vip VIP [--decap auto|ipip|bpf] [--dev IF] [--gue-port PORT] [--state FILE]
  vsd-agent setup-tun --remove [--state FILE]   same as teardown
  vsd-agent teardown [--state FILE]       undo what setup-dr/setup-tun changed
  vsd-agent decap-status [--state FILE]   the BPF decapsulators setup-tun attached: VIPs, counters
  vsd-agent --check --config FILE         validate the config and its key file, then exit
  vsd-agent keygen [--force] FILE|-       write a new key (mode 0600; - prints it); existing FILE kept unless --force
  vsd-agent --version | --help
  options: -c/--config FILE, --json (setup commands), --state (default ${DEFAULT_SETUP_STATE})
`;

function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

function describe(c: SetupChange): string {
  if (c.kind === 'addr') return `address ${c.cidr} on ${c.dev}`;
  if (c.kind === 'sysctl') return `${c.name} ${c.before} -> ${c.after}`;
  if (c.kind === 'xdp-decap') return `BPF decapsulator on ${c.dev} (XDP ${c.mode}, program id ${c.progId})`;
  if (c.kind === 'decap-addr') return c.kinds & ADDR_VIP ? `VIP ${c.addr} decapsulated on ${c.dev}` : `tunnelled packets to ${c.addr} accepted on ${c.dev}`;
  if (c.kind === 'decap-gue') return `GUE port ${c.before || 'off'} -> ${c.after || 'off'} on ${c.dev}`;
  return `link ${c.dev} up`;
}

async function runAgent(configPath: string): Promise<void> {
  const { config, warnings } = loadAgentConfig(configPath);
  const logger = createLogger({ level: process.env.VSD_LOG_LEVEL ?? config.log_level, base: { pid: process.pid } });
  logYamlWarnings(logger, configPath, warnings);
  // systemd Type=notify: READY=1 once the agent runs (reports, agent-check responder), STOPPING=1 on a signal.
  const sd = createServiceNotifier({ logger });
  const agent = new Agent({ config, key: readKeyFile(config.key_file), logger });
  await agent.start();
  sd.ready(`reporting to ${config.dispatchers.join(', ')}`);
  const stop = (sig: string): void => {
    logger.info({ signal: sig }, 'stopping');
    sd.stopping('stopping');
    void agent.stop().finally(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      vip: { type: 'string' },
      state: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'V' },
      check: { type: 'boolean' },
      force: { type: 'boolean', short: 'f' },
      decap: { type: 'string' },
      dev: { type: 'string' },
      'gue-port': { type: 'string' },
      remove: { type: 'boolean' },
    },
  });
  const cmd = positionals[0];
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`vsd-agent ${version()}\n`);
    return 0;
  }
  if (cmd === 'keygen') {
    const file = positionals[1];
    if (!file || positionals.length > 2) throw new UsageError('keygen', 'needs one FILE (or - for stdout)');
    if (file === '-') process.stdout.write(newKeyText());
    else {
      writeKeyFile(file, { force: values.force });
      process.stdout.write(`${file}: new key written (mode 0600)\n`);
    }
    return 0;
  }
  if (values.check) {
    if (!values.config) throw new UsageError('--check', 'needs --config FILE');
    const { config, warnings } = loadAgentConfig(values.config);
    readKeyFile(config.key_file);
    for (const w of warnings)
      process.stderr.write(`${values.config}: warning: ${w.message}${w.line === null ? '' : ` (line ${w.line}, column ${w.column})`}\n`);
    process.stdout.write(`${values.config}: OK, agent ${config.name}, ${config.dispatchers.length} dispatcher(s), ${config.mounts.length} mount(s)\n`);
    return 0;
  }
  const statePath = values.state ?? DEFAULT_SETUP_STATE;
  const tunOnly = (['decap', 'dev', 'gue-port', 'remove'] as const).filter((k) => values[k] !== undefined);
  if (cmd !== 'setup-tun' && tunOnly.length) throw new UsageError(cmd ?? 'run', `--${tunOnly[0]} is a setup-tun option`);
  if (cmd === 'setup-tun' && values.remove) return teardownCommand(statePath, values.json === true);
  if (cmd === 'setup-dr' || cmd === 'setup-tun') {
    if (!values.vip) throw new UsageError(cmd, 'needs --vip VIP');
    const made =
      cmd === 'setup-dr' ? await setupDr(hostSystem(), values.vip, statePath) : await setupTun(hostSystem(), values.vip, statePath, tunOptions(values));
    if (values.json) process.stdout.write(`${JSON.stringify({ changed: made, state: statePath })}\n`);
    else process.stdout.write(made.length ? made.map((c) => `changed: ${describe(c)}\n`).join('') : 'nothing to change\n');
    return 0;
  }
  if (cmd === 'teardown') return teardownCommand(statePath, values.json === true);
  if (cmd === 'decap-status') {
    const st = decapStatus(hostSystem(), statePath);
    if (values.json) process.stdout.write(`${JSON.stringify(st)}\n`);
    else if (!st.length) process.stdout.write('no BPF decapsulator recorded\n');
    else
      for (const d of st) {
        const counters = d.stats
          ? Object.entries(d.stats)
              .map(([k, v]) => `${k}=${v}`)
              .join(' ')
          : 'no counters';
        process.stdout.write(
          `${d.dev}: ${d.attached ? `attached (XDP ${d.mode}, program id ${d.progId})` : 'NOT attached'} vips=${d.vips.join(',') || '-'} gue_port=${d.guePort || 'off'} ${counters}\n`,
        );
      }
    return st.every((d) => d.attached) ? 0 : 1;
  }
  if (cmd === undefined || cmd === 'run') {
    if (!values.config) throw new UsageError(cmd ?? 'run', '--config FILE is required');
    await runAgent(values.config);
    return -1;
  }
  throw new UsageError(cmd, 'unknown command');
}

async function teardownCommand(statePath: string, json: boolean): Promise<number> {
  const r = await teardown(hostSystem(), statePath);
  if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
  else {
    for (const c of r.reverted) process.stdout.write(`reverted: ${describe(c)}\n`);
    for (const s of r.skipped) process.stdout.write(`left alone: ${describe(s.change)} (${s.reason})\n`);
    if (!r.reverted.length && !r.skipped.length) process.stdout.write('nothing to undo\n');
  }
  return r.skipped.length ? 1 : 0;
}

function tunOptions(values: { decap?: string; dev?: string; 'gue-port'?: string }): { decap?: DecapMethod; dev?: string; guePort?: number } {
  const out: { decap?: DecapMethod; dev?: string; guePort?: number } = {};
  if (values.decap !== undefined) {
    if (values.decap !== 'auto' && values.decap !== 'ipip' && values.decap !== 'bpf')
      throw new UsageError('setup-tun', `--decap must be auto, ipip or bpf (got ${JSON.stringify(values.decap)})`);
    out.decap = values.decap;
  }
  if (values.dev !== undefined) out.dev = values.dev;
  if (values['gue-port'] !== undefined) {
    const p = Number(values['gue-port']);
    if (!/^\d+$/.test(values['gue-port']) || p < 1 || p > 65535)
      throw new UsageError('setup-tun', `--gue-port must be a UDP port 1-65535 (got ${JSON.stringify(values['gue-port'])})`);
    out.guePort = p;
  }
  return out;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      process.stderr.write(`vsd-agent: ${(err as Error).message}\n${USAGE}`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`vsd-agent: ${err instanceof VsdError ? `${err.message} [${err.code}]` : String((err as Error)?.stack ?? err)}\n`);
      process.exitCode = 1;
    }
  },
);
