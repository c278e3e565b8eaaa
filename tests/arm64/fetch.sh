#!/usr/bin/env bash
# Downloads (once) what the arm64 end-to-end test boots, from Debian's
# packages, into a cache (default /var/cache/swamp-bpf-arm64,
# $SWAMP_ARM64_CACHE overrides it), and prints the directory that holds:
#   vmlinuz      the kernel of linux-image-arm64's current ABI package (an arm64 Image)
#   vmlinux.btf  that kernel's BTF, cut out of the Image (vmlinux/regen.sh --btf-out)
#   release      its `uname -r`
#   busybox      /bin/busybox of busybox-static:arm64
# Nothing is installed: busybox-static:arm64 would replace the host's busybox.
# Needs the arm64 dpkg architecture and apt lists (scripts/deps-arm64.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${SWAMP_ARM64_CACHE:-/var/cache/swamp-bpf-arm64}"
log() { echo "fetch.sh: $*" >&2; }

abi=$(apt-cache depends linux-image-arm64:arm64 |
      sed -n 's/^ *Depends: linux-image-\([0-9][^:]*\)-arm64\(:arm64\)\?$/\1/p' | head -n 1)
[ -n "$abi" ] || { log "cannot resolve linux-image-arm64:arm64 (run scripts/deps-arm64.sh: arm64 architecture, apt-get update)"; exit 1; }
kpkg="linux-image-$abi-arm64"
out="$cache/$kpkg"
mkdir -p "$cache/debs" "$out"

# download PACKAGE: the .deb's path in the cache, downloaded if missing
download() {
  local deb
  deb=$(ls "$cache"/debs/"$1"_*_arm64.deb 2>/dev/null | head -n 1 || true)
  if [ -z "$deb" ]; then
    log "downloading $1:arm64"
    chmod 755 "$cache" "$cache/debs"
    # apt's _apt user writes the file; without it apt warns and downloads as root
    if id _apt >/dev/null 2>&1; then chown _apt "$cache/debs"; fi
    (cd "$cache/debs" && apt-get download -q "$1:arm64" >&2)
    deb=$(ls "$cache"/debs/"$1"_*_arm64.deb | head -n 1)
  fi
  echo "$deb"
}

if [ ! -s "$out/vmlinuz" ] || [ ! -s "$out/vmlinux.btf" ]; then
  deb=$(download "$kpkg")
  tmp=$(mktemp -d)
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" ./boot
  cp "$tmp/boot/vmlinuz-$abi-arm64" "$out/vmlinuz.part" && mv "$out/vmlinuz.part" "$out/vmlinuz"
  rm -rf "$tmp"
  "$here/../../vmlinux/regen.sh" arm64 --deb "$deb" --btf-out "$out/vmlinux.btf.part"
  mv "$out/vmlinux.btf.part" "$out/vmlinux.btf"
fi
echo "$abi-arm64" >"$out/release"
if [ ! -x "$cache/busybox" ]; then
  deb=$(download busybox-static)
  tmp=$(mktemp -d)
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" ./bin/busybox
  install -m 755 "$tmp/bin/busybox" "$cache/busybox"
  rm -rf "$tmp"
fi
ln -sfn "$kpkg" "$cache/current"
echo "$out"
