#!/usr/bin/env bash
# Compiles the xdp dataplane's BPF program (packages/core/bpf/*.c) into packages/core/dist/bpf/, before tsc.
# Without clang the build goes on without it: `dataplane: xdp` then refuses to start and says why.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/packages/core/bpf"
out="$root/packages/core/dist/bpf"
if ! command -v clang >/dev/null 2>&1; then
  echo "build-bpf: clang not found; the xdp dataplane's BPF object is not built (apt-get install clang llvm libbpf-dev)" >&2
  exit 0
fi
if [ ! -f /usr/include/bpf/bpf_helpers.h ]; then
  echo "build-bpf: libbpf headers not found (/usr/include/bpf); the xdp dataplane's BPF object is not built (apt-get install libbpf-dev)" >&2
  exit 0
fi
mkdir -p "$out"
# Debian keeps asm/ under the multiarch include directory, which -target bpf does not search.
multiarch="$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
for c in "$src"/*.c; do
  o="$out/$(basename "${c%.c}").o"
  if [ "$o" -nt "$c" ] && [ "$o" -nt "$src/xdp_lb.h" ]; then continue; fi
  clang -O2 -g -target bpf -Wall -Werror -I"/usr/include/$multiarch" -c "$c" -o "$o.tmp"
  mv "$o.tmp" "$o"
done
