/**
 * `vsd`: the dispatcher daemon's command line. Logs are pino JSON lines on stdout; usage errors go to stderr.
 * Signals: SIGHUP reloads the config file, SIGTERM/SIGINT stop (drain, then exit 0). Every exit that runs code
 * removes the VIPs (exit-guard.ts); `vsd cleanup-vips` does it for a process that died without running any.
 */
import { parseArgs } from 'node:util';
import { createLogger, DEFAULT_SOCKET, type DataplaneName } from '@vsd/core';
import { daemonVersion } from './version.js';
import { daemonNotifier } from './service-notify.js';
import { DEFAULT_CONFIG, DEFAULT_DRAIN_MS, DEFAULT_STATE, startDaemon, type Daemon } from './daemon.js';
import { installExitGuard } from './exit-guard.js';

const USAGE = `Usage: vsd [options]
       vsd keygen [--force] FILE|-     write a new peer/agent key (mode 0600)
       vsd cleanup-vips [--config FILE]

The vsd dispatcher daemon: virtual services, real servers, health checks and VRRP, controlled
through its API socket (vsadm, vsctl).

Options:
  -c, --config FILE         YAML config (default ${DEFAULT_CONFIG}); absent = start empty
  -s, --socket PATH         control API unix socket (default: config control.socket, else ${DEFAULT_SOCKET})
      --state FILE          desired-state file (default ${DEFAULT_STATE}); "none" keeps it in memory
  -d, --dataplane NAME      proxy | ipvs | xdp | none (default: config dataplane, else proxy)
      --listen HOST:PORT    also serve the control API on TCP (needs --token-file)
      --token-file FILE     bearer token for the TCP listener
      --drain-timeout SEC   on SIGTERM, let connections finish for up to SEC seconds (default ${DEFAULT_DRAIN_MS / 1000})
      --log-level LEVEL     trace | debug | info | warn | error | fatal | silent (default info)
      --check               validate the config file against the dataplane (--dataplane, else the
                            config's) and the key files it names; exit 0 if vsd would serve it all
  -h, --help                this text
  -V, --version             print the version

vsd cleanup-vips removes the VIPs (and use_vmac interfaces) of the config's ha: section from this host,
for a vsd that died without doing it (SIGKILL); the systemd unit runs it as ExecStopPost.

The state file is the running truth. The config file's virtual services replace the running table
when the file changed since it was last applied (or there is no state file); SIGHUP reloads it.
`;

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'keygen') return (await import('./keygen.js')).keygen(argv.slice(1));
  if (argv[0] === 'cleanup-vips') return cleanupVips(argv.slice(1));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        socket: { type: 'string', short: 's' },
        state: { type: 'string' },
        dataplane: { type: 'string', short: 'd' },
        listen: { type: 'string' },
        'token-file': { type: 'string' },
        'drain-timeout': { type: 'string' },
        'log-level': { type: 'string' },
        check: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return usageError((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`vsd ${daemonVersion()}\n`);
    return 0;
  }
  const dataplane = values.dataplane as string | undefined;
  if (dataplane !== undefined && !['proxy', 'ipvs', 'xdp', 'none'].includes(dataplane))
    return usageError(`--dataplane must be proxy, ipvs, xdp or none (got ${dataplane})`);
  const level = (values['log-level'] as string | undefined) ?? process.env.VSD_LOG_LEVEL ?? 'info';
  if (!LEVELS.includes(level)) return usageError(`--log-level must be one of ${LEVELS.join(', ')} (got ${level})`);
  const drain = values['drain-timeout'] === undefined ? undefined : Number(values['drain-timeout']);
  if (drain !== undefined && !(drain >= 0)) return usageError(`--drain-timeout must be seconds >= 0 (got ${values['drain-timeout']})`);

  const configPath = (values.config as string | undefined) ?? DEFAULT_CONFIG;
  if (values.check) return checkConfig(configPath, dataplane as DataplaneName | undefined);

  const logger = createLogger({ level, base: { name: 'vsd', pid: process.pid } });
  const sd = daemonNotifier(logger);
  const state = (values.state as string | undefined) ?? DEFAULT_STATE;
  installExitGuard(logger);
  let daemon: Daemon;
  try {
    daemon = await startDaemon({
      configPath,
      statePath: state === 'none' ? null : state,
      logger,
      socketPath: values.socket as string | undefined,
      dataplane: dataplane as DataplaneName | undefined,
      listen: values.listen as string | undefined,
      tokenFile: values['token-file'] as string | undefined,
      drainTimeoutMs: drain === undefined ? undefined : drain * 1000,
    });
  } catch (err) {
    logger.fatal({ err, code: (err as { code?: string }).code }, `vsd cannot start: ${(err as Error).message}`);
    process.stderr.write(`vsd: ${(err as Error).message}\n`);
    sd.startFailed(err as Error);
    return 1;
  }
  sd.started(daemon);

  const stopped = new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'signal received: stopping');
      sd.stopping();
      // A drain that hangs must not keep the process alive forever: exit anyway a little after the drain timeout.
      const drainMs = drain !== undefined ? drain * 1000 : DEFAULT_DRAIN_MS;
      setTimeout(() => resolve(0), drainMs + 3000).unref();
      daemon.stop().then(
        () => resolve(0),
        (err) => {
          logger.error({ err }, 'error while stopping');
          resolve(0);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  process.on('SIGHUP', () => {
    logger.info({ signal: 'SIGHUP' }, 'reloading the config file');
    sd.reloading();
    void daemon.reload().then((r) => sd.reloaded(daemon, r));
  });
  return stopped;
}

async function checkConfig(path: string, dataplane: DataplaneName | undefined): Promise<number> {
  const { checkConfigFile } = await import('./check.js');
  try {
    const r = await checkConfigFile(path, dataplane);
    for (const w of r.warnings) process.stderr.write(`vsd: warning: ${w}\n`);
    if (!r.ok) {
      for (const e of r.errors) process.stderr.write(`vsd: ${e}\n`);
      return 1;
    }
    process.stdout.write(`${path}: OK, ${r.services} virtual service(s), dataplane ${r.dataplane}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`vsd: ${(err as Error).message}\n`);
    return 1;
  }
}

async function cleanupVips(argv: string[]): Promise<number> {
  let configPath: string;
  try {
    const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' } }, strict: true, allowPositionals: false });
    configPath = (values.config as string | undefined) ?? DEFAULT_CONFIG;
  } catch (err) {
    return usageError((err as Error).message);
  }
  const { loadConfig } = await import('./config-load.js');
  const { cleanupInstanceSync } = await import('@vsd/ha');
  let instances: readonly import('@vsd/ha').HaConfig[];
  try {
    const loaded = await loadConfig(configPath);
    instances = loaded.config.ha?.instances ?? [];
  } catch (err) {
    process.stderr.write(`vsd cleanup-vips: ${(err as Error).message}\n`);
    return 1;
  }
  let failed = false;
  for (const instance of instances) {
    const r = cleanupInstanceSync(instance);
    failed ||= r.errors.length > 0;
    process.stdout.write(
      `${r.instance} (${r.interface}): ${r.removed.length ? `removed ${r.removed.join(' ')}` : 'no VIP present'}${r.links.length ? `; deleted ${r.links.join(' ')}` : ''}${r.errors.length ? `; errors: ${r.errors.join('; ')}` : ''}\n`,
    );
  }
  return failed ? 1 : 0;
}

function usageError(message: string): number {
  process.stderr.write(`vsd: ${message}\nTry 'vsd --help' for more information.\n`);
  return 2;
}
