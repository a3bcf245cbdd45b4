/**
 * Gratuitous ARP (IPv4) and unsolicited Neighbour Advertisement (IPv6) frames, built as keepalived builds them
 * (vrrp_arp.c / vrrp_ndisc.c), and sent on an AF_PACKET socket so neighbours re-point a VIP at our MAC.
 */
import { readFileSync } from 'node:fs';
import { addressBytes, familyOf } from '../vrrp/addr.js';
import { internetChecksum, pseudoHeader } from '../vrrp/checksum.js';
import { sys } from '@vsd/core';

const { AF_PACKET, SOCK_CLOEXEC, SOCK_RAW, checkSyscall, libc } = sys;

const ETH_P_ARP = 0x0806;
const ETH_P_IPV6 = 0x86dd;
const BROADCAST = Buffer.alloc(6, 0xff);
const ALL_NODES = addressBytes('ff02::1');
const ALL_NODES_MAC = Buffer.from([0x33, 0x33, 0, 0, 0, 1]);

/** ARP request with sender = target = VIP and target hardware ff:ff:ff:ff:ff:ff, to the Ethernet broadcast. */
export function buildGratuitousArp(mac: Buffer, vip: string): Buffer {
  const f = Buffer.alloc(42);
  BROADCAST.copy(f, 0);
  mac.copy(f, 6);
  f.writeUInt16BE(ETH_P_ARP, 12);
  f.writeUInt16BE(1, 14); // Ethernet
  f.writeUInt16BE(0x0800, 16);
  f[18] = 6;
  f[19] = 4;
  f.writeUInt16BE(1, 20); // ARPOP_REQUEST
  mac.copy(f, 22);
  addressBytes(vip).copy(f, 28);
  BROADCAST.copy(f, 32);
  addressBytes(vip).copy(f, 38);
  return f;
}

/**
 * Unsolicited NA: VIP -> ff02::1, hop limit 255, Override set, Solicited clear, Router if forwarding,
 * Target Link-Layer Address option, ICMPv6 checksum over the pseudo-header.
 */
export function buildUnsolicitedNa(mac: Buffer, vip: string, router: boolean): Buffer {
  const src = addressBytes(vip);
  const icmp = Buffer.alloc(32);
  icmp[0] = 136;
  icmp[4] = (router ? 0x80 : 0) | 0x20;
  src.copy(icmp, 8);
  icmp[24] = 2; // Target Link-Layer Address
  icmp[25] = 1; // 8 bytes
  mac.copy(icmp, 26);
  icmp.writeUInt16BE(internetChecksum(pseudoHeader(src, ALL_NODES, icmp.length, 58), icmp), 2);
  const ip = Buffer.alloc(40);
  ip[0] = 0x60;
  ip.writeUInt16BE(icmp.length, 4);
  ip[6] = 58;
  ip[7] = 255;
  src.copy(ip, 8);
  ALL_NODES.copy(ip, 24);
  const eth = Buffer.alloc(14);
  ALL_NODES_MAC.copy(eth, 0);
  mac.copy(eth, 6);
  eth.writeUInt16BE(ETH_P_IPV6, 12);
  return Buffer.concat([eth, ip, icmp]);
}

export function readMac(ifname: string): Buffer {
  const text = readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim();
  return Buffer.from(text.split(':').map((h) => parseInt(h, 16)));
}

function forwardingOn(ifname: string): boolean {
  try {
    return readFileSync(`/proc/sys/net/ipv6/conf/${ifname}/forwarding`, 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

/** Sends one announcement (GARP or NA) per call; tests use a recording fake. */
export interface Announcer {
  announce(vip: string): void;
  close(): void;
}

export function openAnnouncer(ifname: string, ifindex: number): Announcer {
  const fd = checkSyscall('socket(AF_PACKET)', libc().socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0), { interface: ifname });
  const mac = readMac(ifname);
  let open = true;
  return {
    announce(vip: string): void {
      const address = vip.split('/')[0];
      const v6 = familyOf(address) === 6;
      const frame = v6 ? buildUnsolicitedNa(mac, address, forwardingOn(ifname)) : buildGratuitousArp(mac, address);
      // struct sockaddr_ll: family, protocol (network order), ifindex, hatype, pkttype, halen, addr[8].
      const sll = Buffer.alloc(20);
      sll.writeUInt16LE(AF_PACKET, 0);
      sll.writeUInt16BE(v6 ? ETH_P_IPV6 : ETH_P_ARP, 2);
      sll.writeInt32LE(ifindex, 4);
      sll[11] = 6;
      (v6 ? ALL_NODES_MAC : BROADCAST).copy(sll, 12);
      checkSyscall('sendto(AF_PACKET)', libc().sendto(fd, frame, frame.length, 0, sll, 20), { interface: ifname, vip: address });
    },
    close(): void {
      if (open) libc().close(fd);
      open = false;
    },
  };
}
