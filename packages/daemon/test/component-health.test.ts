import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildTable, createControlClient, silentLogger, type HealthStatus } from '@vsd/core';
import { healthComponent } from '../src/component-health.js';
import { parseConfigText } from '../src/config-load.js';
import { startDaemon, type Daemon } from '../src/daemon.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function listener(): Promise<{ port: number; server: Server }> {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.address() as { port: number }).port, server };
}

async function waitFor(fn: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function yaml(up: number, down: number, extra = ''): string {
  return `
dataplane: none
virtual_servers:
  - address: 127.0.0.1:8080
    lb_kind: NAT
    delay_loop: 0.05
    sorry_server: 127.0.0.1:9
    quorum: 1${extra}
    real_servers:
      - address: 127.0.0.1:${up}
        checks:
          - tcp_check: {}
            connect_timeout: 0.5
            retry: 0
      - address: 127.0.0.1:${down}
        weight: 2
        checks:
          - http_get: { path: /health, status_code: "200-299" }
            connect_timeout: 0.5
            retry: 0
`;
}

describe('vsd health component', () => {
  it('checks the configured real servers, removes the failed one from the table and serves GET /v1/health', async () => {
    const up = await listener();
    const dead = await listener();
    await new Promise<void>((r) => dead.server.close(() => r()));
    const dir = mkdtempSync(join(tmpdir(), 'vsd-health-daemon-'));
    const config = join(dir, 'vsd.yaml');
    writeFileSync(config, yaml(up.port, dead.port));
    const socket = join(dir, 'vsd.sock');
    const daemon: Daemon = await startDaemon({ configPath: config, statePath: null, logger: silentLogger, socketPath: socket, components: [healthComponent] });
    cleanup.push(() => daemon.stop());
    const table = () => Object.fromEntries(buildTable(daemon.store.state, daemon.overlay)[0]!.dests.map((d) => [d.key, d.effectiveWeight]));

    await waitFor(() => !(`127.0.0.1:${dead.port}` in table()));
    expect(table()).toEqual({ [`127.0.0.1:${up.port}`]: 1 });
    const health = await createControlClient({ socket }).get<HealthStatus>('/v1/health');
    expect(health.services[0]).toMatchObject({ key: 'tcp 127.0.0.1:8080', quorum: { up: true, weightSum: 1 }, sorryServer: null });
    expect(health.services[0]!.realServers.map((r) => [r.key, r.state])).toEqual([
      [`127.0.0.1:${up.port}`, 'up'],
      [`127.0.0.1:${dead.port}`, 'down'],
    ]);
    expect(health.services[0]!.realServers[1]!.reason).toBe('ECONNREFUSED');

    // Reload with inhibit_on_failure: the failed real server comes back at weight 0.
    writeFileSync(config, yaml(up.port, dead.port, '\n    inhibit_on_failure: true'));
    expect(await daemon.reload()).toMatchObject({ ok: true });
    expect(table()).toEqual({ [`127.0.0.1:${up.port}`]: 1, [`127.0.0.1:${dead.port}`]: 0 });

    // The last live one goes: quorum is lost and the sorry server takes over.
    await new Promise<void>((r) => up.server.close(() => r()));
    await waitFor(() => buildTable(daemon.store.state, daemon.overlay)[0]!.dests[0]?.sorry === true);
    expect(table()).toEqual({ '127.0.0.1:9': 1 });
  });

  it('refuses a bad check in vsd.yaml naming the key and the value', () => {
    const bad = yaml(1, 2).replace('status_code: "200-299"', 'status_code: "200-2x9"');
    expect(() => parseConfigText(bad, 'vsd.yaml')).toThrow(/virtual_servers\.0\.real_servers\.1\.checks\.0\.http_get\.status_code: .*200-2x9/);
    const misspelt = yaml(1, 2).replace(
      'connect_timeout: 0.5\n            retry: 0\n      - address',
      'conect_timeout: 0.5\n            retry: 0\n      - address',
    );
    expect(() => parseConfigText(misspelt, 'vsd.yaml')).toThrow(/checks\.0\.conect_timeout: unknown key, did you mean connect_timeout\?/);
    expect(() => parseConfigText(yaml(1, 2).replace('127.0.0.1:9', 'nowhere'), 'vsd.yaml')).toThrow(/virtual_servers\.0\.sorry_server: expected ADDRESS:PORT/);
  });
});
