#!/usr/bin/env python3
"""Renders `swamp-bpf report`'s SVG of a trace in headless Chromium and checks
that it really rendered: the PNG has the SVG's size, is not blank, and shows
the job RSS, stop-span, job-bar, budget and running-jobs colours of userspace/report/svg.cpp.

  render_check.py --swamp BIN --trace FILE.jsonl --out-dir DIR

Leaves DIR/NAME.svg and DIR/NAME.png (NAME: the trace's file name without
.jsonl). Exit 0: rendered; 1: it did not; 77: no chromium (skipped).
"""
import argparse
import collections
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

# Colours the picture must show (svg.cpp), with the fewest pixels of each; the
# legend alone has 192 of each box colour and 20 of the budget line.
EXPECTED = {
    "job RSS": ((0x3B, 0x75, 0xAF), 2000),
    "stopped span": ((0xF2, 0x8E, 0x2B), 600),
    "job bar": ((0xDC, 0xE6, 0xF2), 2000),
    "total RSS": ((0x8F, 0xB3, 0xD9), 2000),
    "budget line": ((0xD6, 0x27, 0x28), 300),
    "jobs running": ((0x59, 0xA1, 0x4F), 2000),
}


def fail(msg):
    print("render_check: " + msg, file=sys.stderr)
    sys.exit(1)


def read_png(path):
    """(width, height, [(r, g, b), ...]) of an 8-bit RGB or RGBA PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path} is not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    width, height, depth, ctype, _, _, interlace = header
    if depth != 8 or ctype not in (2, 6) or interlace:
        fail(f"{path}: unexpected PNG format (depth {depth}, colour type {ctype}, interlace {interlace})")
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    pixels = []
    for y in range(height):
        start = y * (stride + 1)
        ftype, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        pixels.extend(tuple(line[x:x + 3]) for x in range(0, stride, bpp))
        prev = line
    return width, height, pixels


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--swamp", required=True)
    ap.add_argument("--trace", required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--timeout", type=float, default=180)
    a = ap.parse_args()

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("render_check: no chromium (scripts/deps.sh installs it): skipped", file=sys.stderr)
        return 77
    os.makedirs(a.out_dir, exist_ok=True)
    name = re.sub(r"\.jsonl?$", "", os.path.basename(a.trace))
    svg, png = os.path.join(a.out_dir, name + ".svg"), os.path.join(a.out_dir, name + ".png")
    for f in (svg, png):
        if os.path.exists(f):
            os.unlink(f)

    r = subprocess.run([a.swamp, "report", a.trace, "-o", svg], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        fail(f"swamp-bpf report exited {r.returncode}: {r.stderr.strip()}")
    head = open(svg, encoding="utf-8").read(2000)
    m = re.search(r'<svg [^>]*width="([0-9.]+)" height="([0-9.]+)"', head)
    if not m:
        fail(f"{svg} has no <svg width height>")
    width, height = round(float(m.group(1))), round(float(m.group(2)))

    with tempfile.TemporaryDirectory(prefix="swamp-chromium-") as profile:
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--force-device-scale-factor=1", "--no-first-run", "--disable-extensions",
               f"--user-data-dir={profile}", f"--screenshot={png}", f"--window-size={width},{height}",
               "file://" + os.path.abspath(svg)]
        t0 = time.monotonic()
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout,
                               env=dict(os.environ, HOME=profile))
        except subprocess.TimeoutExpired:
            fail(f"chromium did not finish within {a.timeout:.0f} s")
        took = time.monotonic() - t0
    if not os.path.exists(png):
        fail(f"chromium wrote no screenshot (exit {r.returncode}): {r.stderr.strip()[-2000:]}")

    w, h, pixels = read_png(png)
    if (w, h) != (width, height):
        fail(f"{png} is {w}x{h}, the SVG {width}x{height}")
    counts = collections.Counter(pixels)
    white = counts[(255, 255, 255)] / len(pixels)
    problems = []
    if len(counts) < 20:
        problems.append(f"only {len(counts)} distinct colours")
    if white > 0.9:
        problems.append(f"{white:.0%} of it is white")
    for what, (rgb, least) in EXPECTED.items():
        n = sum(c for px, c in counts.items() if all(abs(p - q) <= 4 for p, q in zip(px, rgb)))
        print(f"render_check: {what} #{rgb[0]:02x}{rgb[1]:02x}{rgb[2]:02x}: {n} pixels")
        if n < least:
            problems.append(f"{what} colour: {n} pixels, expected at least {least}")
    print(f"render_check: {png}: {w}x{h}, {len(counts)} colours, {white:.0%} white, chromium {took:.1f} s")
    if problems:
        fail("; ".join(problems))
    return 0


if __name__ == "__main__":
    sys.exit(main())
