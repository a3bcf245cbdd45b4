/**
 * Socket ABI numbers from the Linux UAPI headers (asm-generic: x86-64 and arm64 share them), for every libc call in
 * vsd. Netlink's own numbers are in ../netlink/constants.ts, epoll's in ./net.ts.
 */
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const AF_PACKET = 17;

export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;

export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_ERROR = 4;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_LINGER = 13;
export const SO_REUSEPORT = 15;
export const SO_RCVTIMEO = 20;
export const SO_BINDTODEVICE = 25;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const SO_ATTACH_REUSEPORT_CBPF = 51;

export const SOL_IP = 0;
export const IPPROTO_IP = 0;
export const IPPROTO_TCP = 6;
export const SOL_IPV6 = 41;
export const IPPROTO_IPV6 = 41;

export const IP_TOS = 1;
export const IP_TTL = 2;
export const IP_FREEBIND = 15;
export const IP_MULTICAST_IF = 32;
export const IP_MULTICAST_TTL = 33;
export const IP_MULTICAST_LOOP = 34;
export const IP_ADD_MEMBERSHIP = 35;

export const IPV6_CHECKSUM = 7;
export const IPV6_UNICAST_HOPS = 16;
export const IPV6_MULTICAST_IF = 17;
export const IPV6_MULTICAST_HOPS = 18;
export const IPV6_MULTICAST_LOOP = 19;
export const IPV6_ADD_MEMBERSHIP = 20;
export const IPV6_V6ONLY = 26;
export const IPV6_RECVPKTINFO = 49;
export const IPV6_PKTINFO = 50;
export const IPV6_RECVHOPLIMIT = 51;
export const IPV6_HOPLIMIT = 52;
export const IPV6_FREEBIND = 78;

export const TCP_NODELAY = 1;
export const SHUT_WR = 1;

export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_MORE = 0x8000;

export const POLLIN = 1;
export const EFD_NONBLOCK = 0o4000;
export const EFD_CLOEXEC = 0o2000000;
