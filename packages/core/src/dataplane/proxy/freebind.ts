/**
 * Binding a VIP that is not (yet) on this host, so a standby dispatcher keeps its listeners warm and takes
 * traffic the moment VRRP moves the address here.
 *
 * - TCP: a listening socket is made with koffi (socket, setsockopt IP_FREEBIND / IPV6_FREEBIND, bind, listen)
 *   and handed to Node with `server.listen({ fd })`. Per socket, no privilege, no host-wide side effect.
 * - UDP: Node's dgram cannot adopt a file descriptor, so the only way is the netns-wide sysctl
 *   net.ipv4.ip_nonlocal_bind / net.ipv6.ip_nonlocal_bind, which this module sets to 1 when running as root
 *   (and logs). Without root the bind fails and the dataplane retries it on a timer until the VIP arrives.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { openTcpListener } from '@vsd/sys';

/** A listening TCP socket on address:port with IP_FREEBIND set, as a file descriptor for `server.listen({ fd })`. */
export function freebindTcpListener(address: string, port: number, backlog = 511): number {
  return openTcpListener(address, port, { backlog, freebind: true });
}

/** Turn on ip_nonlocal_bind for the family of `address` in the current network namespace; needs root. */
export function enableNonlocalBind(address: string): boolean {
  const path = `/proc/sys/net/${isIPv6(address) ? 'ipv6' : 'ipv4'}/ip_nonlocal_bind`;
  try {
    if (readFileSync(path, 'utf8').trim() === '1') return true;
    if (process.getuid?.() !== 0) return false;
    writeFileSync(path, '1\n');
    return true;
  } catch {
    return false;
  }
}
