#!/bin/bash
# bench/xdp inside the user-mode-linux guest (test/uml/runner.mjs boots it): IPVS DR against plain IPv4 forwarding
# of the same UDP traffic, through the same dispatcher namespace, with the host's topology (see topology.mjs):
#   gen g0 ==veth== d0 dir d1 ==veth== r0 rs
# The guest has one CPU and veth's default receive path (netif_rx): each packet is sent, forwarded and dropped at
# the real server within the generator's sendmmsg(), so the figure is what the whole chain does on one CPU. (A NAPI
# thread per hop does not help here: UML charges CPU time by the 10 ms tick, and a wake-up per packet costs more
# than the packet.) The real server drops the packets at IP input (the VIP is not its address and it does not
# forward), counted on r0. One JSON line per measurement on stdout. With XB_MARKS set (a host path), the measured
# sends mark their start and end there, and the host reads the UML process group's CPU time at each mark: that time
# per packet is steady where the guest's own rate follows the host's load.
# Usage: uml-guest.sh TOOLS_DIR SECONDS ROUNDS FLOWS PORTS_PER_ADDR
set -eu
T=$1 SECS=$2 ROUNDS=$3 FLOWS=$4 PPA=$5
PKT="$T/pktsend"
VIP=10.201.9.1 RIP=10.201.1.2 PORT=80
MAXP=$(awk -v s="$SECS" 'BEGIN { printf "%d", s * 10000000 }')
# Watchdog: whatever wedges, the guest powers off (the host side then reports the phase as failed).
( sleep 600; echo "watchdog" >&2; sync; poweroff -f ) &

for n in gen dir rs; do ip netns add $n; ip -n $n link set lo up; done
ip link add g0 netns gen type veth peer name d0 netns dir
ip link add d1 netns dir type veth peer name r0 netns rs
ip -n gen addr add 10.201.0.2/24 dev g0
ip -n dir addr add 10.201.0.1/24 dev d0
ip -n dir addr add 10.201.1.1/24 dev d1
ip -n rs addr add $RIP/24 dev r0
for x in gen:g0 dir:d0 dir:d1 rs:r0; do ip -n ${x%%:*} link set ${x##*:} up; done
ip netns exec dir sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.d0.rp_filter=0 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.d1.send_redirects=0
ip netns exec rs sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.r0.rp_filter=0
ip -n dir route add 10.202.0.0/16 via 10.201.0.2
mac() { ip netns exec $1 cat /sys/class/net/$2/address; }
G0=$(mac gen g0) D0=$(mac dir d0) R0=$(mac rs r0)
ip -n dir neigh replace $RIP lladdr $R0 dev d1 nud permanent
ip -n dir neigh replace 10.201.0.2 lladdr $G0 dev d0 nud permanent
rx() { ip netns exec $1 cat /sys/class/net/$2/statistics/rx_packets; }

set_path() {
  case $1 in
    kernel-forwarding)
      ip netns exec dir ipvsadm -C
      ip -n dir addr del $VIP/32 dev lo 2>/dev/null || true
      ip -n dir route replace $VIP/32 via $RIP
      ;;
    ipvs-dr)
      ip -n dir route del $VIP/32 2>/dev/null || true
      ip -n dir addr replace $VIP/32 dev lo
      ip netns exec dir ipvsadm -C
      ip netns exec dir ipvsadm -A -u $VIP:$PORT -s rr
      ip netns exec dir ipvsadm -a -u $VIP:$PORT -r $RIP:$PORT -g -w 1
      ;;
  esac
}

send() { ip netns exec gen "$PKT" send g0 $D0 $G0 10.202.0.1 $VIP $PORT $FLOWS $PPA $1 $MAXP; }
marked_send() { ip netns exec gen env ${XB_MARKS:+PKTSEND_MARKS=$XB_MARKS} "$PKT" send g0 $D0 $G0 10.202.0.1 $VIP $PORT $FLOWS $PPA $1 $MAXP; }

measure() {
  local path=$1 round=$2
  send 0.5 >/dev/null # warm-up: every flow seen once (IPVS creates its connection entries here)
  local d0a r0a d0b r0b out
  d0a=$(rx dir d0); r0a=$(rx rs r0)
  out=$(marked_send $SECS)
  d0b=$(rx dir d0); r0b=$(rx rs r0)
  # perCore: packets at the real server per second of the one CPU, which did everything.
  echo "$out" | awk -v path=$path -v round=$round -v d="$((d0b - d0a))" -v r="$((r0b - r0a))" '{
    match($0, /"sent":[0-9]+/); sent = substr($0, RSTART + 7, RLENGTH - 7)
    match($0, /"seconds":[0-9.]+/); secs = substr($0, RSTART + 10, RLENGTH - 10)
    printf "{\"path\":\"%s\",\"gen\":\"afpacket\",\"round\":%d,\"seconds\":%s,\"offered\":%.0f,\"handled\":%.0f,\"rs\":%.0f,\"cpu\":1,\"perCore\":%.0f}\n", path, round - 1, secs, sent / secs, d / secs, r / secs, r / secs
  }'
}

for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then order="kernel-forwarding ipvs-dr"; else order="ipvs-dr kernel-forwarding"; fi
  for p in $order; do
    set_path $p
    measure $p $r
  done
done
ip netns exec dir ipvsadm -L -n --stats -u $VIP:$PORT 2>/dev/null >&2 || true
kill $(jobs -p) 2>/dev/null || true
