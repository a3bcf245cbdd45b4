#!/bin/bash
# Real traffic through IPVS inside the UML guest, programmed by vsd's ipvs dataplane.
# One L2 segment (bridge br0, 10.0.0.0/24): client 10.0.0.2, director 10.0.0.1 (root ns, VIP 10.0.0.100),
# real servers rs1 10.0.0.11 and rs2 10.0.0.12 (namespaces). NAT uses a second segment for the RIPs.
# Writes one result file per method to $VSD_OUT.
set -eu
REPO=$1
prog() { timeout 60 node "$REPO/test/uml/guest/program.mjs" "$@"; }
step() { echo "$*" >> "$VSD_OUT/steps.txt"; }
# Watchdog: if anything wedges, leave a process list behind and power off (the host side then fails the test).
( sleep ${FWD_WATCHDOG:-240}; ps axo pid,stat,wchan:30,cmd > "$VSD_OUT/ps-at-watchdog.txt"; dmesg > "$VSD_OUT/dmesg.txt"; sync; poweroff -f ) &

ip link add br0 type bridge && ip addr add 10.0.0.1/24 dev br0 && ip link set br0 up
sysctl -qw net.ipv4.ip_forward=1
sysctl -qw net.ipv4.vs.conntrack=1 || true
for ns in client rs1 rs2; do
  ip netns add $ns
  ip link add v-$ns type veth peer name eth0 netns $ns
  ip link set v-$ns master br0 up
  ip -n $ns link set lo up
  ip -n $ns link set eth0 up
done
ip -n client addr add 10.0.0.2/24 dev eth0
ip -n rs1 addr add 10.0.0.11/24 dev eth0
ip -n rs2 addr add 10.0.0.12/24 dev eth0
# NAT segment: real servers also get 10.0.1.x behind the director's 10.0.1.1.
ip addr add 10.0.1.1/24 dev br0
ip -n rs1 addr add 10.0.1.11/24 dev eth0
ip -n rs2 addr add 10.0.1.12/24 dev eth0

# One HTTP server per real server, answering with its name, on :80 (all addresses).
for ns in rs1 rs2; do
  ip netns exec $ns node -e "require('http').createServer((q,s)=>s.end('$ns\n')).listen(80,'::')" &
done
for i in $(seq 1 50); do
  ip netns exec client curl -s -m 1 http://10.0.0.11/ >/dev/null 2>&1 && ip netns exec client curl -s -m 1 http://10.0.0.12/ >/dev/null 2>&1 && break
  sleep 0.2
done

hits() { # N requests to the VIP from the client; prints the sorted answer counts
  for i in $(seq 1 $1); do timeout 5 ip netns exec client curl -s -m 2 http://10.0.0.100/ || echo fail; done | sort | uniq -c | awk '{print $2"="$1}' | tr '\n' ' '
}

# --- NAT (masquerading): VIP on the director, real servers route back through it. ---
ip addr add 10.0.0.100/32 dev br0
for ns in rs1 rs2; do ip -n $ns route add default via 10.0.1.1; done
prog '[{"protocol":"tcp","address":"10.0.0.100","port":80,"scheduler":"rr","realServers":[{"address":"10.0.1.11","port":80,"forwarding":"masq"},{"address":"10.0.1.12","port":80,"forwarding":"masq"}]}]'
# Replies must come back through the director: drop the RS's direct route to the client's subnet.
for ns in rs1 rs2; do ip -n $ns route del 10.0.0.0/24 dev eth0; ip -n $ns route add 10.0.0.1/32 dev eth0; done
step nat-programmed
echo "$(hits 10)" > "$VSD_OUT/nat.txt"
step nat-traffic
# The kernel's counters reach what netlink reads (kstats) only when the estimator folds the per-CPU counters in,
# every 2 s: read them after one fold past the last request, or the last connections may not be counted yet.
sleep 2.5
prog - status > "$VSD_OUT/nat-status.json"
# ipvsadm first, ours right after: entries can only expire in between, so ours must be a subset.
timeout 20 ipvsadm -Lnc > "$VSD_OUT/nat-ipvsadm-conns.txt"
prog - connections > "$VSD_OUT/nat-conns.json"
step nat-read
ipvsadm -C
for ns in rs1 rs2; do ip -n $ns route del 10.0.0.1/32 dev eth0; ip -n $ns route add 10.0.0.0/24 dev eth0; ip -n $ns route del default; done

step nat-done
if [ "${FWD_METHODS:-nat}" = nat ]; then kill $(jobs -p) 2>/dev/null || true; sync; exit 0; fi

# --- DR and TUN: vsd (ipvs dataplane) in the director's namespace, programmed through vsadm over its socket. ---
# The director, the client and the real servers share br0, so the director hands frames to the real servers'
# MACs (DR) or IPIP-encapsulates to their RIPs (TUN), and the real servers answer the client directly from the VIP.
sysctl -qw net.ipv4.vs.conntrack=0 || true
W=$(dirname "$VSD_OUT")
SOCK="$W/vsd.sock"
# vsadm's own main (runVsadm, what bin/vsadm.js runs) in one long-lived node process: a node start costs
# seconds in the guest. One request per line "OUTFILE ARG...", one answer line "rc=N" per request.
coproc VSADM { exec node --input-type=module -e '
  import { createInterface } from "node:readline";
  import { writeFileSync } from "node:fs";
  const { runVsadm } = await import(process.argv[1] + "/packages/cli/dist/vsadm/run.js");
  for await (const line of createInterface({ input: process.stdin })) {
    const [out, ...args] = line.split(" ");
    const r = await runVsadm({ args: ["--socket", process.argv[2], ...args], readStdin: async () => "" });
    if (out !== "-") writeFileSync(out, r.stdout + r.stderr);
    process.stdout.write(`rc=${r.code}\n`);
  }' "$REPO" "$SOCK"; }
vsadm_to() { # OUTFILE ARG...: bounded; fails on a non-zero exit status
  local reply
  echo "$*" >&"${VSADM[1]}"
  read -t 60 -r reply <&"${VSADM[0]}" || { echo "vsadm: no answer to $*" >&2; return 1; }
  [ "$reply" = rc=0 ] || { echo "vsadm $*: $reply" >&2; return 1; }
}
vsadm() { vsadm_to - "$@"; }
agent() { local ns=$1; shift; timeout 60 ip netns exec $ns node "$REPO/packages/agent/bin/vsd-agent.js" "$@" --state "$W/$ns-rs-setup.json"; }
on_both() { # FUNCTION: run it for rs1 and rs2 at once (node starts are slow), fail if either fails
  local a b; "$1" rs1 & a=$!; "$1" rs2 & b=$!; wait $a; wait $b
}
setup_dr() { agent $1 setup-dr --vip 10.0.0.100 > "$VSD_OUT/$1-setup-dr.txt" 2>&1; }
setup_tun() { agent $1 setup-tun --vip 10.0.0.100 > "$VSD_OUT/$1-setup-tun.txt" 2>&1; }
teardown() { agent $1 teardown >> "$VSD_OUT/$1-teardown.txt" 2>&1; }
seqhits() { # N requests to the VIP, one answer per line (fail when none)
  for i in $(seq 1 $1); do timeout 10 ip netns exec client curl -s -m 8 http://10.0.0.100/ || echo fail; done
}
snap() { # name: ipvsadm and vsadm listings at one moment (counters only move with traffic or expiry: retry until stable)
  local n=$1 k
  for k in 1 2 3 4 5; do
    timeout 20 ipvsadm -L -n > "$VSD_OUT/$n-ipvsadm-ln.txt" 2>&1
    vsadm_to "$VSD_OUT/$n-vsadm-ln.txt" -L -n
    timeout 20 ipvsadm -L -n > "$VSD_OUT/$n-ipvsadm-ln2.txt" 2>&1
    cmp -s "$VSD_OUT/$n-ipvsadm-ln.txt" "$VSD_OUT/$n-ipvsadm-ln2.txt" && break
  done
  for k in 1 2 3 4 5; do
    timeout 20 ipvsadm -L -n --stats > "$VSD_OUT/$n-ipvsadm-stats.txt" 2>&1
    vsadm_to "$VSD_OUT/$n-vsadm-stats.txt" -L -n --stats
    timeout 20 ipvsadm -L -n --stats > "$VSD_OUT/$n-ipvsadm-stats2.txt" 2>&1
    cmp -s "$VSD_OUT/$n-ipvsadm-stats.txt" "$VSD_OUT/$n-ipvsadm-stats2.txt" && break
  done
  timeout 20 ipvsadm -S -n > "$VSD_OUT/$n-ipvsadm-Sn.txt" 2>&1
  vsadm_to "$VSD_OUT/$n-vsadm-Sn.txt" -S -n
  timeout 30 ipvsadm -S > "$VSD_OUT/$n-ipvsadm-S.txt" 2>&1
  vsadm_to "$VSD_OUT/$n-vsadm-S.txt" -S
}
diag() { # name: kernel view for a failed phase
  { ipvsadm -Lnc; ipvsadm -Ln --stats; for ns in client rs1 rs2; do echo "== $ns"; ip -n $ns -s link; ip -n $ns addr; ip -n $ns route; ip netns exec $ns sysctl net.ipv4.conf.all.rp_filter net.ipv4.conf.all.arp_ignore; done; } > "$VSD_OUT/$1-diag.txt" 2>&1
}
node "$REPO/packages/daemon/bin/vsd.js" --config "$W/vsd-none.yaml" --socket "$SOCK" --state none --dataplane ipvs --log-level info > "$VSD_OUT/vsd.log" 2>&1 &
VSD_PID=$!
for i in $(seq 1 150); do vsadm -L -n 2>/dev/null && break; sleep 0.2; done
step vsd-up

# DR: VIP on lo, ARP sysctls (vsd-agent setup-dr).
on_both setup_dr
vsadm -A -t 10.0.0.100:80 -s rr
vsadm -a -t 10.0.0.100:80 -r 10.0.0.11:80 -g -w 1
vsadm -a -t 10.0.0.100:80 -r 10.0.0.12:80 -g -w 1
step dr-programmed
seqhits 6 > "$VSD_OUT/dr-seq.txt"
grep -q fail "$VSD_OUT/dr-seq.txt" && diag dr
step dr-traffic
snap dr
vsadm -e -t 10.0.0.100:80 -r 10.0.0.11:80 -g -w 0
seqhits 4 > "$VSD_OUT/dr-quiesced-seq.txt"
snap dr-quiesced
step dr-done
vsadm -D -t 10.0.0.100:80
on_both teardown

# TUN: VIP on tunl0 (ipip), rp_filter off (vsd-agent setup-tun).
on_both setup_tun
vsadm -A -t 10.0.0.100:80 -s rr
vsadm -a -t 10.0.0.100:80 -r 10.0.0.11:80 -i -w 1
vsadm -a -t 10.0.0.100:80 -r 10.0.0.12:80 -i -w 1
step tun-programmed
seqhits 6 > "$VSD_OUT/tun-seq.txt"
grep -q fail "$VSD_OUT/tun-seq.txt" && diag tun
step tun-traffic
snap tun
vsadm -e -t 10.0.0.100:80 -r 10.0.0.12:80 -i -w 0
seqhits 4 > "$VSD_OUT/tun-quiesced-seq.txt"
snap tun-quiesced
step tun-done
vsadm -C
on_both teardown
kill $VSD_PID 2>/dev/null || true
for i in $(seq 1 50); do kill -0 $VSD_PID 2>/dev/null || break; sleep 0.2; done
step done
kill $(jobs -p) 2>/dev/null || true
sync
