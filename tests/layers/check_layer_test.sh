#!/bin/sh
# Usage: check_layer_test.sh CMAKE CHECKLAYER.cmake
# Two layers in a temp dir: low/ including high/ must fail, naming the file and
# the include; high/ including low/ (and headers that are no layer's) must pass.
set -eu
cmake=$1 check=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/low" "$dir/high"
printf '#include "low/l.hpp"\n#include "high/h.hpp"\n' >"$dir/low/l.cpp"
printf '#include <vector>\n#include "events.h"\n#include "low/l.hpp"\n' >"$dir/high/h.cpp"
if out=$("$cmake" -DLAYER=low -DALLOWED=low -DDIR="$dir" -DSTAMP="$dir/low.ok" -P "$check" 2>&1); then
  echo "FAIL: low/ includes high/ and the check passed"; exit 1
fi
echo "$out" | grep -q 'low/l.cpp: #include "high/h.hpp"' || { echo "FAIL: the message does not name it: $out"; exit 1; }
[ ! -e "$dir/low.ok" ] || { echo "FAIL: a failed check wrote its stamp"; exit 1; }
"$cmake" -DLAYER=high -DALLOWED=high,low -DDIR="$dir" -DSTAMP="$dir/high.ok" -P "$check"
[ -e "$dir/high.ok" ] || { echo "FAIL: a passed check wrote no stamp"; exit 1; }
echo "ok: an include up fails, one down passes"
