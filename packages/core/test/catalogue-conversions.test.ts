/** Errors that used to be bare `Error`s reach operators as catalogue errors naming what was wrong and the value. */
import { describe, expect, it } from 'vitest';
import { AgentHub } from '../src/agents/hub.js';
import { Router } from '../src/control/routes.js';
import { decodeDest, decodeService } from '../src/dataplane/ipvs/codec.js';
import { createIpvsDataplane } from '../src/dataplane/ipvs/dataplane.js';
import { EngineUnavailableError, InternalError, invariant, NetlinkError, ValidationError, VsdError } from '../src/errors.js';
import { parseStatusCodes } from '../src/health/status-codes.js';
import { WeightOverlay } from '../src/weights/overlay.js';
import { FakeStore, stateWith } from './agents/hub-helpers.js';

function thrown(f: () => unknown): VsdError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(VsdError);
    return err as VsdError;
  }
  throw new VsdError('VSD_ERR_TEST', 'nothing thrown');
}

describe('catalogue errors for operator input', () => {
  it('status_code: names the token and the field', () => {
    const e = thrown(() => parseStatusCodes('200 2x9'));
    expect(e).toBeInstanceOf(ValidationError);
    expect([e.code, e.details.field, e.details.value]).toEqual(['VSD_ERR_VALIDATION', 'status_code', '2x9']);
    expect(e.message).toBe('status_code: "2x9" is not a status code or range (e.g. 200, 200-299) (got "2x9")');
    expect(thrown(() => parseStatusCodes([200, 700])).details).toMatchObject({
      field: 'status_code',
      value: '700',
      reason: '"700" is outside 100-599 or reversed',
    });
    expect(thrown(() => parseStatusCodes('  ')).details).toMatchObject({ field: 'status_code', value: '  ', reason: 'no status code given' });
  });

  it('agents.listen that is not HOST:PORT: ValidationError naming the value', async () => {
    const hub = new AgentHub({
      listen: 'nowhere',
      key: Buffer.from('k'.repeat(20)),
      store: new FakeStore(stateWith('10.0.0.1')),
      overlay: new WeightOverlay(),
    } as never);
    const e = await hub.start().then(
      () => null,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).message).toBe('agents.listen: expected HOST:PORT (e.g. 0.0.0.0:7443) (got "nowhere")');
  });

  it('ipvs zero of something that is not a service key: ValidationError, before the kernel is asked', async () => {
    const dp = createIpvsDataplane();
    const e = await dp.zero('tcp 10.0.0.1').then(
      () => null,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).details).toMatchObject({ field: 'service', value: 'tcp 10.0.0.1' });
  });

  it('an IPVS reply without its attribute is a NetlinkError naming the command', () => {
    const empty = Buffer.alloc(0);
    const s = thrown(() => decodeService(empty));
    expect(s).toBeInstanceOf(NetlinkError);
    expect([s.code, s.message, s.details.errnoName]).toEqual([
      'VSD_ERR_NETLINK',
      'netlink IPVS GET_SERVICE: service reply without a service attribute',
      'EBADMSG',
    ]);
    expect(thrown(() => decodeDest(empty, 'inet')).message).toBe('netlink IPVS GET_DEST: dest reply without a dest attribute');
  });

  it('EngineUnavailableError names the setting, the engine and the reason', () => {
    const e = new EngineUnavailableError('proxy_engine epoll', 'the epoll engine thread is not built (run pnpm build)');
    expect(e.toJSON()).toEqual({
      code: 'VSD_ERR_ENGINE_UNAVAILABLE',
      message: 'proxy_engine epoll: the epoll engine thread is not built (run pnpm build)',
      details: { engine: 'proxy_engine epoll', reason: 'the epoll engine thread is not built (run pnpm build)' },
    });
  });
});

describe('internal invariants', () => {
  it('invariant() throws one InternalError (VSD_ERR_INTERNAL) saying it is a bug, and passes a true condition', () => {
    expect(() => invariant(true, 'unused')).not.toThrow();
    let built = 0;
    invariant(1, () => `${++built}`);
    expect(built).toBe(0);
    const e = thrown(() => invariant(false, () => 'the thing broke'));
    expect(e).toBeInstanceOf(InternalError);
    expect([e.code, e.message, e.details.what]).toEqual(['VSD_ERR_INTERNAL', 'internal error (a bug in vsd): the thing broke', 'the thing broke']);
  });

  it('a control route registered twice is an InternalError naming it', () => {
    const r = new Router();
    const route = { name: 'x', method: 'GET', path: '/v1/x', handler: () => null } as never;
    r.add([route]);
    const e = thrown(() => r.add([route]));
    expect(e).toBeInstanceOf(InternalError);
    expect(e.message).toBe('internal error (a bug in vsd): control route GET /v1/x is registered twice');
  });
});
