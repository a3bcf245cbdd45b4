export interface UmlOptions {
  /** Kernel modules to modprobe in the guest before the script runs (e.g. ['ip_vs', 'ip_vs_rr']). */
  modules?: string[];
  /** Hard limit for boot + script + power-off; the UML process group is killed after it. Default 120 s. */
  timeoutMs?: number;
  /** Guest memory in MiB (default 512). */
  memMb?: number;
  /** Extra environment variables exported to the script. */
  env?: Record<string, string>;
  /** Fed to the script's stdin. */
  stdin?: string;
  /** Host directory for the per-run work dir (default /var/tmp; must not be under /tmp or /run). */
  workBase?: string;
  /** TMPDIR for UML's memory file (default /dev/shm). */
  umlTmp?: string;
  /** Keep the work dir for debugging. */
  keepWork?: boolean;
  /** Aborting kills the guest's process group and rejects (a benchmark's Ctrl-C). */
  signal?: AbortSignal;
  /** Called with the UML kernel's pid once it runs; it leads its own process group (guest processes are in it). */
  onSpawn?: (pid: number) => void;
}
export interface UmlResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** Files the script wrote into $VSD_OUT, by name. */
  files: Record<string, string>;
  /** UML console (kernel messages). */
  console: string;
  elapsedMs: number;
}
export declare const UML_KERNEL: string;
export declare const UML_MODULES_ROOT: string;
export declare class UmlUnavailableError extends Error {
  reason: string;
}
export declare class UmlTimeoutError extends Error {}
export declare function umlKernelRelease(): string | undefined;
export declare function assertUmlAvailable(): string;
export declare function umlModulesAvailable(names: string[]): string[];
export declare function shellQuote(s: string): string;
export declare function runInUml(script: string, opts?: UmlOptions): Promise<UmlResult>;
