#!/usr/bin/env bash
# Regenerate the pinned vmlinux/<arch>/vmlinux.h from a named kernel's BTF.
# See usage() below and vmlinux/README.md.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage:
  vmlinux/regen.sh ARCH [--version ABI]
  vmlinux/regen.sh ARCH --btf FILE --name KERNEL_NAME
  vmlinux/regen.sh ARCH --deb PACKAGE.deb --btf-out FILE

Regenerates vmlinux/ARCH/vmlinux.h and vmlinux/ARCH/KERNEL.
ARCH is x86 or arm64.

Mode 1 (default): fetch Debian's linux-image-ABI-FLAVOUR package with apt
  (FLAVOUR = amd64 for x86, arm64 for arm64), extract the BTF embedded in
  its vmlinuz and dump it with bpftool. Without --version, ABI (e.g.
  6.1.0-56) is taken from the current dependency of the metapackage
  linux-image-FLAVOUR. Adds the arm64 dpkg architecture and runs
  apt-get update when needed.

Mode 2: use an existing BTF file (raw BTF such as /sys/kernel/btf/vmlinux or
  a pahole-generated blob, or an ELF with a .BTF section) and record
  KERNEL_NAME as its source.

Mode 3: only extract the BTF embedded in a linux-image package that is
  already downloaded (tests/arm64/fetch.sh) to FILE, as raw BTF; the pinned
  header is left alone.

Options:
  --deb FILE         linux-image-*.deb to use instead of downloading (mode 3)
  --btf-out FILE     write the extracted raw BTF there and stop (mode 3)
  --version ABI      kernel ABI to fetch, e.g. 6.1.0-56 (mode 1)
  --btf FILE         BTF file to use (mode 2)
  --name NAME        kernel name to record (mode 2, required with --btf)
  -h, --help         show this text

Examples:
  vmlinux/regen.sh arm64
  vmlinux/regen.sh x86 --version 6.1.0-56
  vmlinux/regen.sh arm64 --btf rpi.btf --name "linux-image-rpi-v8 <version>"

Needs root (apt-get) unless the tools are already installed.
EOF
}

die() { echo "regen.sh: error: $*" >&2; exit 1; }
log() { echo "regen.sh: $*" >&2; }

ARCH=""
VERSION=""
BTF_IN=""
NAME=""
DEB_IN=""
BTF_OUT=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --version) [[ $# -ge 2 ]] || die "--version needs a value"; VERSION="$2"; shift 2 ;;
        --btf) [[ $# -ge 2 ]] || die "--btf needs a value"; BTF_IN="$2"; shift 2 ;;
        --name) [[ $# -ge 2 ]] || die "--name needs a value"; NAME="$2"; shift 2 ;;
        --deb) [[ $# -ge 2 ]] || die "--deb needs a value"; DEB_IN="$(realpath "$2")"; shift 2 ;;
        --btf-out) [[ $# -ge 2 ]] || die "--btf-out needs a value"; BTF_OUT="$2"; shift 2 ;;
        -*) usage >&2; die "unknown option: $1" ;;
        *) [[ -z "$ARCH" ]] || { usage >&2; die "unexpected argument: $1"; }; ARCH="$1"; shift ;;
    esac
done

[[ -n "$ARCH" ]] || { usage >&2; exit 2; }
case "$ARCH" in
    x86) DEB_ARCH=amd64; FLAVOUR=amd64 ;;
    arm64) DEB_ARCH=arm64; FLAVOUR=arm64 ;;
    *) usage >&2; die "ARCH must be x86 or arm64, not '$ARCH'" ;;
esac
if [[ -n "$BTF_IN" ]]; then
    [[ -n "$NAME" ]] || die "--btf needs --name KERNEL_NAME"
    [[ -z "$VERSION" ]] || die "--version and --btf are exclusive"
    [[ -r "$BTF_IN" ]] || die "cannot read $BTF_IN"
    BTF_IN="$(realpath "$BTF_IN")"
elif [[ -n "$NAME" ]]; then
    die "--name is only for --btf mode"
fi
[[ -n "$DEB_IN" && -n "$BTF_OUT" ]] || [[ -z "$DEB_IN" && -z "$BTF_OUT" ]] || die "--deb and --btf-out go together"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT_DIR="$SCRIPT_DIR/$ARCH"

export LC_ALL=C

TMP="$(mktemp -d -t vmlinux-regen.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
mkdir "$TMP/deb"
# Let apt's _apt user write the download (avoids apt's "unsandboxed" warning).
chmod 755 "$TMP"
if id _apt >/dev/null 2>&1; then chown _apt "$TMP/deb" 2>/dev/null || true; fi

APT_UPDATED=0
apt_update() {
    if [[ $APT_UPDATED -eq 0 ]]; then
        log "apt-get update"
        apt-get update -qq >&2
        APT_UPDATED=1
    fi
}

# need_tool COMMAND DEBIAN_PACKAGE
need_tool() {
    command -v "$1" >/dev/null 2>&1 && return 0
    log "installing $2 (for $1)"
    apt_update
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >&2
    command -v "$1" >/dev/null 2>&1 || die "$1 still missing after installing $2"
}

need_tool bpftool bpftool
need_tool sha256sum coreutils
need_tool grep grep
need_tool od coreutils

# u32le FILE OFFSET COUNT -> COUNT little-endian u32 values, space separated
u32le() { od -An -v -tu4 --endian=little -j "$2" -N "$((4 * $3))" "$1" | xargs; }
u8s() { od -An -v -tu1 -j "$2" -N "$3" "$1" | xargs; }

# btf_ok FILE: true if bpftool parses FILE as BTF (its raw dump starts at type [1]).
btf_ok() {
    # bpftool dies of SIGPIPE when head exits; under pipefail ignore that, judge the output.
    { bpftool btf dump file "$1" format raw 2>/dev/null || true; } | head -n 3 >"$TMP/raw.head" || true
    grep -q '^\[1\] ' "$TMP/raw.head"
}

# find_btf INPUT OUTPUT: scan INPUT for BTF headers (9f eb 01 00), cut each
# plausible blob, keep the largest one bpftool accepts. Returns 1 if none.
find_btf() {
    local in="$1" out="$2" size off hl to tl so sl end len best_len=0 best_off=-1 n=0
    size=$(stat -c %s "$in")
    while IFS=: read -r off _; do
        n=$((n + 1))
        [[ $n -le 200 ]] || break
        # u16 magic, u8 version (1), u8 flags (0), u32 hdr_len (24), ...
        read -r _ _ ver flags <<<"$(u8s "$in" "$off" 4)"
        [[ "$ver" == 1 && "$flags" == 0 ]] || continue
        read -r hl to tl so sl <<<"$(u32le "$in" "$((off + 4))" 5)"
        [[ "$hl" == 24 ]] || continue
        end=$((to + tl)); [[ $((so + sl)) -gt $end ]] && end=$((so + sl))
        len=$((hl + end))
        [[ $tl -gt 0 && $sl -gt 0 && $((off + len)) -le $size ]] || continue
        [[ $len -gt $best_len ]] || continue
        tail -c +"$((off + 1))" "$in" | head -c "$len" >"$TMP/cand.btf"
        if btf_ok "$TMP/cand.btf"; then
            log "BTF candidate at offset $off: $len bytes (valid)"
            best_len=$len; best_off=$off
            mv "$TMP/cand.btf" "$out"
        else
            log "BTF candidate at offset $off: $len bytes (rejected by bpftool)"
        fi
    done < <(grep -obUaP '\x9f\xeb\x01\x00' "$in" || true)
    [[ $best_off -ge 0 ]] || return 1
    # A vmlinux BTF is several MB; anything small is a module or a false hit.
    [[ $best_len -ge 1000000 ]] || { log "largest valid BTF is only $best_len bytes"; return 1; }
    return 0
}

# decompress_payload IMAGE OUT: for a bzImage / compressed Image, find a
# compressed stream that decompresses to an ELF; returns 1 if none.
decompress_payload() {
    local img="$1" out="$2" kind magic cmd off n
    for kind in xz zstd gzip; do
        case $kind in
            xz) magic='\xfd\x37\x7a\x58\x5a\x00'; cmd='xz -dc'; need_tool xz xz-utils ;;
            zstd) magic='\x28\xb5\x2f\xfd'; cmd='zstd -dcq'; need_tool zstd zstd ;;
            gzip) magic='\x1f\x8b\x08'; cmd='gzip -dc'; need_tool gzip gzip ;;
        esac
        n=0
        while IFS=: read -r off _; do
            n=$((n + 1))
            [[ $n -le 20 ]] || break
            # Trailing data after the stream makes the decompressor fail; keep its output.
            { tail -c +"$((off + 1))" "$img" | $cmd 2>/dev/null || true; } >"$out"
            if [[ "$(head -c 4 "$out" | od -An -tx1 | xargs)" == "7f 45 4c 46" ]]; then
                log "decompressed $kind payload at offset $off: $(stat -c %s "$out") bytes of ELF"
                return 0
            fi
        done < <(grep -obUaP "$magic" "$img" || true)
    done
    return 1
}

if [[ -z "$BTF_IN" ]]; then
    need_tool apt-get apt
    need_tool dpkg-deb dpkg
    need_tool file file
    need_tool objcopy binutils
    if [[ -n "$DEB_IN" ]]; then
        DEB="$DEB_IN"
        PKG=$(dpkg-deb -f "$DEB" Package)
        VERSION=${PKG#linux-image-}; VERSION=${VERSION%-"$FLAVOUR"}
    elif [[ "$DEB_ARCH" != "$(dpkg --print-architecture)" ]] &&
        ! dpkg --print-foreign-architectures | grep -qx "$DEB_ARCH"; then
        log "dpkg --add-architecture $DEB_ARCH"
        dpkg --add-architecture "$DEB_ARCH"
        APT_UPDATED=0
    fi
    [[ -n "$DEB_IN" ]] || apt_update
    if [[ -z "$VERSION" ]]; then
        dep=$(apt-cache depends "linux-image-$FLAVOUR:$DEB_ARCH" |
            sed -n "s/^ *Depends: linux-image-\([0-9][^:]*\)-$FLAVOUR\(:$DEB_ARCH\)\?\$/\1/p" | head -n 1)
        [[ -n "$dep" ]] || die "cannot resolve version from metapackage linux-image-$FLAVOUR:$DEB_ARCH"
        VERSION="$dep"
    fi
    if [[ -z "$DEB_IN" ]]; then
        PKG="linux-image-$VERSION-$FLAVOUR"
        log "downloading $PKG:$DEB_ARCH"
        (cd "$TMP/deb" && apt-get download -q "$PKG:$DEB_ARCH" >&2)
        DEB=$(ls "$TMP"/deb/"$PKG"_*_"$DEB_ARCH".deb 2>/dev/null | head -n 1)
        [[ -n "$DEB" ]] || die "download of $PKG:$DEB_ARCH produced no .deb"
    fi
    PKG_VER=$(dpkg-deb -f "$DEB" Version)
    SOURCE="$PKG $PKG_VER"
    mkdir "$TMP/x"
    dpkg-deb --fsys-tarfile "$DEB" | tar -x -C "$TMP/x" ./boot
    IMG=$(ls "$TMP"/x/boot/vmlinuz-"$VERSION"-"$FLAVOUR" 2>/dev/null || true)
    [[ -n "$IMG" ]] || die "no boot/vmlinuz-$VERSION-$FLAVOUR in $DEB"
    log "image: $(file -b "$IMG")"
    case "$(file -b "$IMG")" in
        gzip*) gzip -dc <"$IMG" >"$TMP/image"; IMG="$TMP/image" ;;
    esac
    if find_btf "$IMG" "$TMP/vmlinux.btf"; then
        :
    else
        log "no BTF directly in image; looking for a compressed payload"
        decompress_payload "$IMG" "$TMP/vmlinux.elf" || die "no decompressible ELF payload found in $IMG"
        if ! objcopy -O binary --only-section=.BTF "$TMP/vmlinux.elf" "$TMP/vmlinux.btf" 2>/dev/null ||
            ! [[ -s "$TMP/vmlinux.btf" ]] ||
            ! btf_ok "$TMP/vmlinux.btf"; then
            log "objcopy .BTF failed; scanning the ELF for a BTF header"
            find_btf "$TMP/vmlinux.elf" "$TMP/vmlinux.btf" || die "no valid BTF found in the decompressed kernel"
        fi
    fi
    BTF="$TMP/vmlinux.btf"
    ORIGIN="BTF embedded in Debian package $SOURCE ($DEB_ARCH)"
else
    # Accept raw BTF, or an ELF with a .BTF section.
    if [[ "$(head -c 4 "$BTF_IN" | od -An -tx1 | xargs)" == "7f 45 4c 46" ]]; then
        need_tool objcopy binutils
        objcopy -O binary --only-section=.BTF "$BTF_IN" "$TMP/vmlinux.btf"
    else
        cp "$BTF_IN" "$TMP/vmlinux.btf"
    fi
    BTF="$TMP/vmlinux.btf"
    btf_ok "$BTF" || die "bpftool does not accept $BTF_IN as BTF"
    SOURCE="$NAME"
    ORIGIN="BTF file $(basename "$BTF_IN") of kernel $NAME"
fi

if [[ -n "$BTF_OUT" ]]; then
    cp "$BTF" "$BTF_OUT"
    log "wrote $BTF_OUT ($(stat -c %s "$BTF") bytes of BTF from $SOURCE)"
    exit 0
fi

SHA=$(sha256sum "$BTF" | cut -d' ' -f1)
BTF_SIZE=$(stat -c %s "$BTF")
DATE=$(date -u +%Y-%m-%d)
BPFTOOL_VER=$(bpftool version 2>/dev/null | head -n 1)
log "BTF: $BTF_SIZE bytes, sha256 $SHA"

bpftool btf dump file "$BTF" format c >"$TMP/body.h"
head -n 1 "$TMP/body.h" | grep -q '^#ifndef __VMLINUX_H__' || die "unexpected bpftool output"
grep -q 'struct task_struct {' "$TMP/body.h" || die "dumped header lacks struct task_struct"

mkdir -p "$OUT_DIR"
{
    echo "/* vmlinux.h for $ARCH, generated by vmlinux/regen.sh on $DATE with $BPFTOOL_VER */"
    echo "/* Source: $ORIGIN */"
    echo "/* BTF sha256 $SHA. Do not edit: rerun vmlinux/regen.sh (see vmlinux/$ARCH/KERNEL). */"
    cat "$TMP/body.h"
} >"$TMP/vmlinux.h"
{
    echo "$SOURCE"
    echo "arch: $ARCH"
    echo "btf_sha256: $SHA"
    echo "btf_bytes: $BTF_SIZE"
    echo "date: $DATE"
    echo "tool: $BPFTOOL_VER"
} >"$TMP/KERNEL"
mv "$TMP/vmlinux.h" "$OUT_DIR/vmlinux.h"
mv "$TMP/KERNEL" "$OUT_DIR/KERNEL"
chmod 644 "$OUT_DIR/vmlinux.h" "$OUT_DIR/KERNEL"
log "wrote $OUT_DIR/vmlinux.h ($(wc -l <"$OUT_DIR/vmlinux.h") lines) and $OUT_DIR/KERNEL"
