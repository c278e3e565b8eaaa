#!/usr/bin/env bash
# profile-stats.sh PROFILE|MAKEFILE
#
# Prints the numbers needed for a lower bound on a fake build's wall time,
# read from the per-job annotations of tests/fakebuild/Makefile.PROFILE:
#
#   # job NAME mib=PEAK cpu=SECONDS shape=ramp|early|late deps=A,B,...
#   $(OUT)/NAME: $(OUT)/A $(OUT)/B ... | $(OUT)
#   	$(HOG) --mib PEAK --cpu-s SECONDS --shape SHAPE --out $@ [--in $^]
#
# Output (one line):
#   cpu_s=.. critical_path_s=.. jobs=.. peak_sum_mib=.. mib_s=.. max_job_mib=..
# cpu_s: total CPU seconds; critical_path_s: longest chain of CPU seconds along
# deps (so wall >= max(critical_path_s, cpu_s / cores)); peak_sum_mib: sum of
# the jobs' peaks; mib_s: approximate integral of memory over CPU time (a ramp
# averages 0.5 of its peak, early 0.85, late 0.29); max_job_mib: largest peak.
#
# Each annotation is checked against the rule below it (name, deps, --mib,
# --cpu-s, --shape); a mismatch is an error, so the two cannot drift apart.
set -euo pipefail

usage="usage: profile-stats.sh PROFILE|MAKEFILE   (e.g. demo, pi, links)"
[[ $# -eq 1 && ($1 == -h || $1 == --help) ]] && { echo "$usage"; exit 0; }
[[ $# -eq 1 ]] || { echo "$usage" >&2; exit 2; }
mk=$1
[[ -f $mk ]] || mk="$(dirname "$0")/Makefile.$1"
[[ -f $mk ]] || { echo "profile-stats.sh: no such profile or file: $1" >&2; exit 2; }

awk '
function fail(msg) { printf "profile-stats.sh: %s:%d: %s\n", FILENAME, FNR, msg > "/dev/stderr"; bad = 1; exit 1 }
function field(key,    i, kv) {          # value of key=... on the current annotation line
    for (i = 4; i <= NF; i++) { split($i, kv, "="); if (kv[1] == key) return substr($i, length(key) + 2) }
    fail("annotation lacks " key "=")
}
# An annotation: remember it, then expect its rule and recipe on the next two lines.
$1 == "#" && $2 == "job" {
    name = $3; n++; names[n] = name
    rawmib = field("mib"); rawcpu = field("cpu"); mib[name] = rawmib + 0; cpu[name] = rawcpu + 0
    shape[name] = field("shape"); deps[name] = field("deps")
    if (!(shape[name] in factor)) fail("unknown shape " shape[name])
    state = 1; next
}
state == 1 {                              # the rule line: $(OUT)/NAME: prereqs | $(OUT)
    if ($1 != "$(OUT)/" name ":") fail("expected rule for " name " after its annotation")
    got = ""
    for (i = 2; i <= NF && $i != "|"; i++) { d = $i; sub(/^\$\(OUT\)\//, "", d); got = got (got == "" ? "" : ",") d }
    if (got != deps[name]) fail(name ": rule deps \"" got "\" != annotation deps \"" deps[name] "\"")
    state = 2; next
}
state == 2 {                              # the recipe line
    line = " " $0 " "
    if (index(line, " --mib " rawmib " ") == 0 || index(line, " --cpu-s " rawcpu " ") == 0 ||
        index(line, " --shape " shape[name] " ") == 0)
        fail(name ": recipe does not match annotation mib/cpu/shape")
    state = 0; next
}
BEGIN { factor["ramp"] = 0.5; factor["early"] = 0.85; factor["late"] = 0.29 }
END {
    if (bad) exit 1
    if (n == 0) { print "profile-stats.sh: no \"# job\" annotations in " FILENAME > "/dev/stderr"; exit 1 }
    # Critical path: relax until stable (works whatever order the jobs are listed in).
    for (changed = 1; changed; ) {
        changed = 0
        for (i = 1; i <= n; i++) {
            j = names[i]; best = 0
            if (deps[j] != "") {
                k = split(deps[j], ds, ",")
                for (m = 1; m <= k; m++) {
                    if (!(ds[m] in cpu)) { printf "profile-stats.sh: %s depends on unknown job %s\n", j, ds[m] > "/dev/stderr"; exit 1 }
                    if (finish[ds[m]] > best) best = finish[ds[m]]
                }
            }
            if (best + cpu[j] > finish[j] + 1e-9) { finish[j] = best + cpu[j]; changed = 1; if (finish[j] > 1e9) { print "profile-stats.sh: dependency cycle" > "/dev/stderr"; exit 1 } }
        }
    }
    for (i = 1; i <= n; i++) {
        j = names[i]; tot += cpu[j]; peaks += mib[j]; ms += mib[j] * cpu[j] * factor[shape[j]]
        if (finish[j] > cp) cp = finish[j]
        if (mib[j] > maxm) maxm = mib[j]
    }
    printf "cpu_s=%g critical_path_s=%g jobs=%d peak_sum_mib=%d mib_s=%d max_job_mib=%d\n", tot, cp, n, peaks, ms + 0.5, maxm
}
' "$mk"
