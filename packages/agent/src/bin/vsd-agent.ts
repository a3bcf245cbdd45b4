import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createLogger, createServiceNotifier, newKeyText, readKeyFile, VsdError, writeKeyFile } from '@vsd/core';
import { Agent } from '../agent.js';
import { loadAgentConfig } from '../config.js';
import { DEFAULT_SETUP_STATE, setupDr, setupTun, teardown, type SetupChange } from '../setup/setup.js';
import { hostSystem } from '../setup/system.js';

const USAGE = `usage:
  vsd-agent --config FILE                 run the agent (reports to the dispatchers, agent-check responder)
  vsd-agent setup-dr --vip VIP [--state FILE]
  vsd-agent setup-tun --vip VIP [--state FILE]
  vsd-agent teardown [--state FILE]       undo what setup-dr/setup-tun changed
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
  return `link ${c.dev} up`;
}

async function runAgent(configPath: string): Promise<void> {
  const config = loadAgentConfig(configPath);
  const logger = createLogger({ level: process.env.VSD_LOG_LEVEL ?? config.log_level, base: { pid: process.pid } });
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
    if (!file || positionals.length > 2) throw new UsageError('keygen needs one FILE (or - for stdout)');
    if (file === '-') process.stdout.write(newKeyText());
    else {
      writeKeyFile(file, { force: values.force });
      process.stdout.write(`${file}: new key written (mode 0600)\n`);
    }
    return 0;
  }
  if (values.check) {
    if (!values.config) throw new UsageError('--check needs --config FILE');
    const config = loadAgentConfig(values.config);
    readKeyFile(config.key_file);
    process.stdout.write(`${values.config}: OK, agent ${config.name}, ${config.dispatchers.length} dispatcher(s), ${config.mounts.length} mount(s)\n`);
    return 0;
  }
  const statePath = values.state ?? DEFAULT_SETUP_STATE;
  if (cmd === 'setup-dr' || cmd === 'setup-tun') {
    if (!values.vip) throw new UsageError(`${cmd} needs --vip VIP`);
    const made = await (cmd === 'setup-dr' ? setupDr : setupTun)(hostSystem(), values.vip, statePath);
    if (values.json) process.stdout.write(`${JSON.stringify({ changed: made, state: statePath })}\n`);
    else process.stdout.write(made.length ? made.map((c) => `changed: ${describe(c)}\n`).join('') : 'nothing to change\n');
    return 0;
  }
  if (cmd === 'teardown') {
    const r = await teardown(hostSystem(), statePath);
    if (values.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else {
      for (const c of r.reverted) process.stdout.write(`reverted: ${describe(c)}\n`);
      for (const s of r.skipped) process.stdout.write(`left alone: ${describe(s.change)} (${s.reason})\n`);
      if (!r.reverted.length && !r.skipped.length) process.stdout.write('nothing to undo\n');
    }
    return r.skipped.length ? 1 : 0;
  }
  if (cmd === undefined || cmd === 'run') {
    if (!values.config) throw new UsageError('--config FILE is required');
    await runAgent(values.config);
    return -1;
  }
  throw new UsageError(`unknown command ${cmd}`);
}

class UsageError extends Error {}

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
