#!/usr/bin/env bash
# Compiles every package's BPF programs (packages/*/bpf/*.c: the xdp dataplane's in core, the real-server
# decapsulator in agent) into that package's dist/bpf/, before tsc. Without clang the build goes on without them:
# `dataplane: xdp` and `vsd-agent setup-tun --decap bpf` then refuse to start and say why.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if ! command -v clang >/dev/null 2>&1; then
  echo "build-bpf: clang not found; the BPF objects are not built (apt-get install clang llvm libbpf-dev)" >&2
  exit 0
fi
if [ ! -f /usr/include/bpf/bpf_helpers.h ]; then
  echo "build-bpf: libbpf headers not found (/usr/include/bpf); the BPF objects are not built (apt-get install libbpf-dev)" >&2
  exit 0
fi
# Debian keeps asm/ under the multiarch include directory, which -target bpf does not search.
multiarch="$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
for src in "$root"/packages/*/bpf; do
  [ -d "$src" ] || continue
  out="$(dirname "$src")/dist/bpf"
  mkdir -p "$out"
  for c in "$src"/*.c; do
    o="$out/$(basename "${c%.c}").o"
    fresh=1
    [ "$o" -nt "$c" ] || fresh=0
    for h in "$src"/*.h; do [ -e "$h" ] && { [ "$o" -nt "$h" ] || fresh=0; }; done
    [ "$fresh" = 1 ] && continue
    clang -O2 -g -target bpf -Wall -Werror -I"/usr/include/$multiarch" -c "$c" -o "$o.tmp"
    mv "$o.tmp" "$o"
  done
done
