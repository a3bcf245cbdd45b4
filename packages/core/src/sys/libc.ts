/**
 * The one door to libc for the calls Node lacks (netlink, raw IP and AF_PACKET sockets, IP_FREEBIND). koffi is
 * required on first use, not at import, so the CLIs (vsadm, vsctl), which never open such a socket, do not pay for
 * loading the FFI library at every start.
 */
import { createRequire } from 'node:module';
import type * as KoffiModule from 'koffi';

type Koffi = typeof KoffiModule;

let koffiModule: Koffi | undefined;
let library: ReturnType<Koffi['load']> | undefined;

export function loadKoffi(): Koffi {
  koffiModule ??= createRequire(import.meta.url)('koffi') as Koffi;
  return koffiModule;
}

/** libc.so.6, loaded once for the whole process. */
export function libcLibrary(): ReturnType<Koffi['load']> {
  library ??= loadKoffi().load('libc.so.6');
  return library;
}

/** errno of the last libc call made through koffi on this thread. */
export function libcErrno(): number {
  return loadKoffi().errno();
}
