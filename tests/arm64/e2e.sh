#!/usr/bin/env bash
# The arm64 end-to-end test: boots Debian's arm64 kernel (6.1) in
# qemu-system-aarch64 (TCG, -M virt -cpu cortex-a72) with an initramfs of
# busybox-static:arm64, the static aarch64 swamp-bpf and hog, and checks what
# its /init (init.sh) prints: the probe's plan, a trace of a small build, a
# fake build stopped and resumed under a memory budget, and the same programs
# loaded as on a kernel without BTF (raw_tp + a min_core_btf file), and the
# tracepoint variant that needs no BTF at all (a trace and the fake build).
# Usage: tests/arm64/e2e.sh --swamp BIN --hog BIN --min-btf FILE --kernel-dir DIR [--keep DIR]
#   DIR is what tests/arm64/fetch.sh printed. ctest runs it from build-arm64
#   (scripts/cross-arm64.sh). Exits 0 only if every check passes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
swamp="" hog="" min_btf="" kdir="" keep=""
while [ $# -gt 0 ]; do
  case "$1" in
    --swamp) swamp="$2"; shift 2 ;;
    --hog) hog="$2"; shift 2 ;;
    --min-btf) min_btf="$2"; shift 2 ;;
    --kernel-dir) kdir="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    *) echo "e2e.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
for f in "$swamp" "$hog" "$min_btf" "$kdir/vmlinuz" "$kdir/../busybox"; do
  [ -s "$f" ] || { echo "e2e.sh: missing $f (see the usage in $0)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/swamp-arm64-e2e.XXXXXX)
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root/bin"
install -m 755 "$kdir/../busybox" "$root/bin/busybox"
aarch64-linux-gnu-strip -o "$root/bin/swamp-bpf" "$swamp"
aarch64-linux-gnu-strip -o "$root/bin/hog" "$hog"
install -m 755 "$here/init.sh" "$root/init"
install -m 755 "$here/fakebuild.sh" "$root/fakebuild.sh"
install -m 644 "$min_btf" "$root/min.btf"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"

pinned=$(sed -n 's/^btf_sha256: //p' "$here/../../vmlinux/arm64/KERNEL")
if [ "$(sha256sum <"$kdir/vmlinux.btf" | cut -d' ' -f1)" != "$pinned" ]; then
  echo "e2e.sh: note: this kernel's BTF is not the one vmlinux/arm64/vmlinux.h was made from (CO-RE copes)"
fi
echo "e2e.sh: booting $(cat "$kdir/release") under qemu-system-aarch64 (TCG), initramfs $(stat -c %s "$work/initrd.gz") bytes"
start=$(date +%s.%N)
# The guest powers itself off; the timeout only ends a hung boot.
status=0
timeout 900 qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 2 -m 1024 -nographic -no-reboot -nic none \
  -kernel "$kdir/vmlinuz" -initrd "$work/initrd.gz" \
  -append "console=ttyAMA0 rdinit=/init panic=-1 loglevel=4" </dev/null >"$work/console.log" 2>&1 || status=$?
end=$(date +%s.%N)
if [ -n "$keep" ]; then mkdir -p "$keep" && cp "$work/console.log" "$keep/"; fi
if [ "$status" -ne 0 ]; then
  tail -n 40 "$work/console.log" >&2
  echo "e2e.sh: qemu-system-aarch64 exited with status $status (124: timed out)" >&2
  exit 1
fi
python3 "$here/check.py" "$work/console.log" --wall "$(echo "$end - $start" | bc)"
