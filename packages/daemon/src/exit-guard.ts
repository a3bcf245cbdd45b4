/**
 * The last line of the stale-VIP guard inside the process: whatever way vsd leaves that still runs JavaScript (an
 * uncaught exception, an unhandled rejection, a stop that overran its deadline, process.exit), the VIPs and vmac
 * interfaces it configured are removed synchronously before the process is gone. A normal stop removes them earlier
 * (VRRP stop); this only finds what is left. SIGKILL runs nothing: ExecStopPost (`vsd cleanup-vips`) and the next
 * start cover that.
 */
import type { Logger } from '@vsd/core';
import { processVipLedger, type VipLedger } from '@vsd/ha';

export function installExitGuard(logger: Logger, ledger: VipLedger = processVipLedger): () => void {
  const log = logger.child({ component: 'exit-guard' });
  const release = (why: string) => {
    if (ledger.size === 0) return;
    const r = ledger.releaseAllSync();
    log[r.errors.length ? 'error' : 'warn']({ why, vips: r.removed, links: r.links, errors: r.errors }, 'removed VIPs on the way out');
  };
  const fatal = (why: string) => (err: unknown) => {
    log.fatal({ err }, `${why}: removing VIPs and exiting`);
    release(why);
    process.exit(1);
  };
  const onUncaught = fatal('uncaught exception');
  const onRejection = fatal('unhandled rejection');
  const onExit = () => release('exit');
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onRejection);
  process.on('exit', onExit);
  return () => {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onRejection);
    process.off('exit', onExit);
  };
}
