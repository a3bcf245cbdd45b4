#!/usr/bin/env bash
# Builds the two Debian packages with dpkg-deb:
#   vsd_<version>_<arch>.deb        dispatchers: vsd (@vsd/daemon), vsadm and vsctl (@vsd/cli); vsd.service; /etc/vsd/vsd.yaml
#   vsd-agent_<version>_<arch>.deb  real servers: vsd-agent; vsd-agent.service; /etc/vsd/agent.yaml
# Each carries its own tree under /usr/lib (the compiled workspace packages and their production npm dependencies,
# koffi's native library for this architecture only) and runs on the nodejs package (>= 20; Debian 12's own is 18:
# use Debian 13 or NodeSource's nodejs 20+).
#
# Usage: packaging/deb/build.sh [OUTDIR]        (default packaging/deb/out; `pnpm package:deb`)
# Environment: DEB_COMPRESS=xz|gzip|zstd|none (default xz), DEB_REVISION (default 1), SKIP_BUILD=1 (dist/ is fresh).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mkdir -p "${1:-$root/packaging/deb/out}" && cd "${1:-$root/packaging/deb/out}" && pwd)
compress=${DEB_COMPRESS:-xz}
version="$(node -p "require('$root/packages/daemon/package.json').version")-${DEB_REVISION:-1}"
arch=$(dpkg --print-architecture)
case "$arch" in
  amd64) triplet=linux_x64 ;;
  arm64) triplet=linux_arm64 ;;
  armhf) triplet=linux_armhf ;;
  i386) triplet=linux_ia32 ;;
  riscv64) triplet=linux_riscv64d ;;
  loong64) triplet=linux_loong64 ;;
  *) echo "build.sh: no koffi build for Debian architecture $arch" >&2; exit 1 ;;
esac
for tool in dpkg-deb node pnpm gzip; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool is missing" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

[ -n "${SKIP_BUILD:-}" ] || (cd "$root" && pnpm -s build)
for p in protocol sys core ha agent daemon cli; do
  [ -f "$root/packages/$p/dist/index.js" ] || { echo "build.sh: packages/$p/dist is missing (pnpm build)" >&2; exit 1; }
done

# stage_tree DEST FILTERS PACKAGE...: the named workspace packages (package.json, bin, dist) with a flat
# production node_modules installed from the lockfile, then pruned to what runs.
stage_tree() {
  local dest=$1 filters=() f p
  for f in $2; do filters+=(--filter "$f"); done
  shift 2
  mkdir -p "$dest"
  cp "$root/package.json" "$root/pnpm-lock.yaml" "$root/pnpm-workspace.yaml" "$dest/"
  # Every workspace package.json, so the frozen lockfile matches; code only for the packages this tree runs.
  for p in protocol sys core ha agent daemon cli; do
    mkdir -p "$dest/packages/$p"
    cp "$root/packages/$p/package.json" "$dest/packages/$p/"
  done
  for p in "$@"; do
    cp -r "$root/packages/$p/dist" "$dest/packages/$p/"
    if [ -d "$root/packages/$p/bin" ]; then cp -r "$root/packages/$p/bin" "$dest/packages/$p/"; fi
  done
  local install=(pnpm install --prod --frozen-lockfile --ignore-scripts --config.node-linker=hoisted "${filters[@]}")
  (cd "$dest" && { "${install[@]}" --offline >"$work/pnpm.log" 2>&1 || "${install[@]}" --prefer-offline >"$work/pnpm.log" 2>&1; }) ||
    { cat "$work/pnpm.log" >&2; echo "build.sh: pnpm install of the production dependencies failed" >&2; exit 1; }

  # What does not run: the workspace's own packages this tree does not ship (and links to them), pnpm's
  # bookkeeping, TypeScript (sources and declarations; Node runs the compiled .js), source maps, koffi's sources and its builds for other systems.
  for p in protocol sys core ha agent daemon cli; do
    if [[ " $* " != *" $p "* ]]; then rm -rf "${dest:?}/packages/$p"; fi
  done
  # The workspace root's own dependencies (every program) are installed whatever the filter says: keep in the flat
  # node_modules only what the shipped packages reach through their dependencies (vsd-agent's tree has no lowdb).
  node - "$dest" "$@" <<'JS'
const { existsSync, readdirSync, readFileSync, rmSync } = require('node:fs');
const { join } = require('node:path');
const [dest, ...shipped] = process.argv.slice(2);
const nm = join(dest, 'node_modules');
const deps = (dir) => {
  const j = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  return Object.keys({ ...j.dependencies, ...j.optionalDependencies });
};
// The shipped packages' own links too: vsctl loads @vsd/daemon/config when it is there, without depending on it.
const keep = new Set(shipped.map((p) => `@vsd/${p}`));
const queue = shipped.flatMap((p) => deps(join(dest, 'packages', p)));
while (queue.length > 0) {
  const name = queue.pop();
  if (keep.has(name)) continue;
  keep.add(name);
  const dir = join(nm, name);
  if (existsSync(join(dir, 'package.json'))) queue.push(...deps(dir));
}
for (const entry of readdirSync(nm)) {
  if (entry.startsWith('.')) continue;
  const names = entry.startsWith('@') ? readdirSync(join(nm, entry)).map((n) => `${entry}/${n}`) : [entry];
  for (const n of names) if (!keep.has(n)) rmSync(join(nm, n), { recursive: true, force: true });
  if (entry.startsWith('@') && readdirSync(join(nm, entry)).length === 0) rmSync(join(nm, entry), { recursive: true });
}
JS
  rm -rf "$dest/pnpm-lock.yaml" "$dest/pnpm-workspace.yaml" "$dest/node_modules/.bin" "$dest/node_modules/.pnpm" \
    "$dest/node_modules/.modules.yaml" "$dest"/node_modules/.pnpm-workspace-state*.json "$dest"/packages/*/node_modules/.bin
  find "$dest" -xtype l -delete
  find "$dest" \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' -o -name '*.tsbuildinfo' \) -type f -delete
  local koffi="$dest/node_modules/koffi"
  [ -f "$koffi/build/koffi/$triplet/koffi.node" ] || { echo "build.sh: koffi has no $triplet build" >&2; exit 1; }
  find "$koffi/build/koffi" -mindepth 1 -maxdepth 1 ! -name "$triplet" -exec rm -rf {} +
  rm -rf "$koffi/src" "$koffi/vendor" "$koffi/doc"
  find "$dest/node_modules" -depth -type d \( -name test -o -name tests -o -name docs -o -name .github \) -exec rm -rf {} +
}

# wrapper FILE SCRIPT [NODE FLAGS...]: /usr/bin/NAME running the tree next to it (relative to the wrapper's own
# path, so an unpacked package runs too: dpkg -x, dpkg --root).
wrapper() {
  local file=$1 script=$2
  shift 2
  mkdir -p "$(dirname "$file")"
  cat >"$file" <<SH
#!/bin/sh
# Installed by the vsd packages: Node.js >= 20 runs /usr/lib/$script.
here=\$(dirname "\$(readlink -f "\$0")")
exec /usr/bin/node $* "\$here/../lib/$script" "\$@"
SH
  chmod 0755 "$file"
}

manpage() { # manpage PKGDIR PAGE.SECTION
  local dir="$1/usr/share/man/man${2##*.}"
  mkdir -p "$dir"
  gzip -9n <"$root/packaging/man/$2" >"$dir/$2.gz"
}

control() { # control PKGDIR NAME DEPENDS RECOMMENDS DESCRIPTION LONG
  local size
  size=$(du -sk --exclude=DEBIAN "$1" | cut -f1)
  mkdir -p "$1/DEBIAN"
  {
    echo "Package: $2"
    echo "Version: $version"
    echo "Architecture: $arch"
    echo "Maintainer: vsd maintainers <maintainers@vsd.invalid>"
    echo "Installed-Size: $size"
    echo "Depends: $3"
    [ -z "$4" ] || echo "Recommends: $4"
    echo "Section: net"
    echo "Priority: optional"
    echo "Description: $5"
    echo "$6" | fold -s -w 78 | sed 's/ *$//; s/^/ /'
  } >"$1/DEBIAN/control"
}

scripts() { # scripts PKGDIR NAME: maintainer scripts from packaging/deb/scripts/NAME.*
  local s
  for s in postinst prerm postrm; do
    install -m 0755 "$root/packaging/deb/scripts/$2.$s" "$1/DEBIAN/$s"
  done
}

docs() { # docs PKGDIR NAME FILE...
  local d="$1/usr/share/doc/$2" f
  shift 2
  mkdir -p "$d"
  for f in "$@"; do cp "$root/$f" "$d/"; done
  cp "$root/LICENSE" "$d/copyright"
  gzip -9n <"$root/CHANGELOG.md" >"$d/changelog.gz"
}

build() { # build PKGDIR NAME
  find "$1" -path "$1/DEBIAN" -prune -o -type d -exec chmod 0755 {} + -o -type f ! -perm -u+x -exec chmod 0644 {} + -o -type f -perm -u+x -exec chmod 0755 {} +
  dpkg-deb --root-owner-group -Z"$compress" --build "$1" "$out/$2_${version}_${arch}.deb" >/dev/null
  echo "$out/$2_${version}_${arch}.deb"
}

# ---- vsd: the dispatcher ----
d="$work/vsd"
stage_tree "$d/usr/lib/vsd" '@vsd/daemon... @vsd/cli...' protocol sys core ha agent daemon cli
wrapper "$d/usr/bin/vsd" vsd/packages/daemon/bin/vsd.js
wrapper "$d/usr/bin/vsadm" vsd/packages/cli/bin/vsadm.js
wrapper "$d/usr/bin/vsctl" vsd/packages/cli/bin/vsctl.js
install -D -m 0644 "$root/packaging/systemd/vsd.service" "$d/lib/systemd/system/vsd.service"
install -D -m 0644 "$root/packaging/deb/sysusers/vsd.conf" "$d/usr/lib/sysusers.d/vsd.conf"
install -D -m 0644 "$root/examples/vsd.yaml" "$d/etc/vsd/vsd.yaml"
for m in vsd.8 vsadm.8 vsctl.8 vsd.yaml.5; do manpage "$d" "$m"; done
docs "$d" vsd README.md docs/deploy.md docs/migrate-from-keepalived.md docs/errors.md docs/control-api.md
cp "$root/packaging/README.md" "$d/usr/share/doc/vsd/packaging.md"
mkdir -p "$d/usr/share/doc/vsd/examples" && cp "$root/examples/vsd.yaml" "$root/examples/agent.yaml" "$d/usr/share/doc/vsd/examples/"
control "$d" vsd 'nodejs (>= 20), adduser | systemd' 'iproute2, nftables' \
  'HA pair of load-balancing dispatchers (LVS virtual services, VRRP)' \
  'vsd re-creates the Linux Virtual Server cluster: virtual services with every IPVS scheduler on the kernel IPVS or a userspace proxy dataplane, keepalived-compatible health checks, VRRP failover between two dispatchers with authenticated peer sync, and the agents of the real servers. vsadm takes ipvsadm command lines; vsctl runs pair operations (status, failover, takeover, sync, import-keepalived).'
echo /etc/vsd/vsd.yaml >"$d/DEBIAN/conffiles"
scripts "$d" vsd
build "$d" vsd

# ---- vsd-agent: the real-server agent ----
d="$work/vsd-agent"
stage_tree "$d/usr/lib/vsd-agent" '@vsd/agent...' protocol sys agent
wrapper "$d/usr/bin/vsd-agent" vsd-agent/packages/agent/bin/vsd-agent.js --lite-mode --no-expose-wasm --max-semi-space-size=1 --max-old-space-size=24
install -D -m 0644 "$root/packaging/systemd/vsd-agent.service" "$d/lib/systemd/system/vsd-agent.service"
install -D -m 0644 "$root/packaging/deb/sysusers/vsd-agent.conf" "$d/usr/lib/sysusers.d/vsd-agent.conf"
install -D -m 0644 "$root/examples/agent.yaml" "$d/etc/vsd/agent.yaml"
manpage "$d" vsd-agent.8
docs "$d" vsd-agent packages/agent/README.md docs/deploy.md
control "$d" vsd-agent 'nodejs (>= 20), adduser | systemd' 'iproute2, kmod, libbpf1' \
  'real-server agent for vsd dispatchers (health, load, shared storage)' \
  'vsd-agent runs on each real server behind vsd dispatchers: it reports a local service probe, a weight from load (load average, CPU, memory, connections) and the state of shared storage mounts (mounted, responsive, writable, consistent) to both dispatchers, answers HAProxy agent-check, and prepares the server for DR or TUN forwarding (setup-dr, setup-tun, teardown).'
echo /etc/vsd/agent.yaml >"$d/DEBIAN/conffiles"
scripts "$d" vsd-agent
build "$d" vsd-agent
