// Typed entry point of the user-mode-linux kernel lab for vitest tests (test/uml/*.test.ts).
// The implementation is plain ESM (test/uml/runner.mjs) so node scripts (recordings, bench/ipvs)
// share it without a build step.
export {
  runInUml,
  assertUmlAvailable,
  umlModulesAvailable,
  umlKernelRelease,
  shellQuote,
  UmlUnavailableError,
  UmlTimeoutError,
  UML_KERNEL,
  UML_MODULES_ROOT,
} from '../uml/runner.mjs';
export type { UmlOptions, UmlResult } from '../uml/runner.mjs';

/** IPVS core plus every scheduler module the UML kernel ships (twos is not in 6.1). */
export const IPVS_SCHEDULER_MODULES = [
  'ip_vs_rr',
  'ip_vs_wrr',
  'ip_vs_lc',
  'ip_vs_wlc',
  'ip_vs_sed',
  'ip_vs_nq',
  'ip_vs_dh',
  'ip_vs_sh',
  'ip_vs_lblc',
  'ip_vs_lblcr',
  'ip_vs_mh',
  'ip_vs_fo',
  'ip_vs_ovf',
  'ip_vs_twos',
] as const;
