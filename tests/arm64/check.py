#!/usr/bin/env python3
"""Checks the serial console log of the arm64 end-to-end test (e2e.sh, init.sh)
and prints its figures. Exits 1 if any check fails."""
import argparse
import collections
import json
import re
import sys

MiB = 1 << 20

ap = argparse.ArgumentParser()
ap.add_argument("log")
ap.add_argument("--wall", type=float, default=0.0, help="host wall time of the qemu run, s")
args = ap.parse_args()

tagged = collections.defaultdict(list)  # tag -> lines
with open(args.log, encoding="utf-8", errors="replace") as f:
    for line in f:
        line = line.rstrip("\r\n")
        m = re.match(r"E2E (\S+) ?(.*)$", line)
        if m:
            tagged[m.group(1)].append(m.group(2))

failed = []


def check(ok, what):
    print(("PASS " if ok else "FAIL ") + what)
    if not ok:
        failed.append(what)
    return ok


def one(tag, default=""):
    return tagged[tag][0] if tagged[tag] else default


def events(tag):
    out = []
    for line in tagged[tag]:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return out


def count(evs, kind, comm=None):
    return sum(1 for e in evs if e.get("event") == kind and (comm is None or e.get("comm") == comm))


def peaks_ok(evs, mibs, what):
    """Every hog exited 0 with a peak RSS near its --mib (static binary: +8 MiB)."""
    peaks = sorted(e["peak_rss"] for e in evs if e.get("event") == "exit" and e.get("comm") == "hog")
    codes = [e["exit_code"] for e in evs if e.get("event") == "exit" and e.get("comm") == "hog"]
    ok = len(peaks) == len(mibs) and all(c == 0 for c in codes) and all(
        0.9 * m * MiB <= p <= (m + 8) * MiB for p, m in zip(peaks, sorted(mibs)))
    check(ok, f"{what}: hogs exited 0 with peak RSS near {sorted(mibs)} MiB "
              f"(got {[round(p / MiB, 1) for p in peaks]}, exit codes {codes})")


if not check("done" in tagged, "the guest ran init.sh to the end"):
    print("\n".join(open(args.log, errors="replace").read().splitlines()[-30:]))
    sys.exit(1)

# 1. probe on Debian's arm64 6.1: in-kernel BTF, tp_btf, the old rss_stat signature, no page_fault_user.
probe = json.loads("\n".join(tagged["probe"]) or "{}")
check(one("probe-rc") == "0", f"probe exits 0 (stderr: {tagged['probe-err']})")
check(probe.get("machine") == "aarch64" and probe.get("kernel", "").startswith("6.1."),
      f"the guest is aarch64 on 6.1 ({probe.get('kernel')} {probe.get('machine')})")
check(probe.get("kernel_btf") is True and probe.get("attach") == "tp_btf", f"probe picks tp_btf ({probe.get('attach')})")
check(probe.get("rss_stat_signature") == "mm,member,count",
      f"probe finds the old rss_stat signature ({probe.get('rss_stat_signature')})")
check(probe.get("tracepoints", {}).get("page_fault_user") is False, "probe finds no page_fault_user on arm64")

# 2. trace of a small build: exec, fork, exit, rss and faults of both hogs.
tr = events("trace")
check(one("trace-rc") == "0", f"trace exits 0 (stderr: {tagged['trace-err'][-3:]})")
check(count(tr, "exec", "hog") == 2, f"trace sees both hogs exec ({count(tr, 'exec', 'hog')})")
hog_pids = {e["pid"] for e in tr if e.get("event") == "exec" and e.get("comm") == "hog"}
forked = {e["pid"] for e in tr if e.get("event") == "fork"}
check(hog_pids <= forked and len(forked) >= 2, f"trace sees the forks of the hogs' processes ({len(forked)} forks)")
check(count(tr, "exit") >= 3, f"trace sees the exits ({count(tr, 'exit')})")
check(count(tr, "rss", "hog") >= 4, f"trace sees hogs' RSS steps ({count(tr, 'rss', 'hog')})")
check(count(tr, "faults", "hog") >= 1, f"trace sees fault-rate samples without page_fault_user ({count(tr, 'faults', 'hog')})")
peaks_ok(tr, [40, 56], "trace")

# 3. the fake build under a 300M budget: stopped and resumed, finished, nothing left stopped.
run_err = "\n".join(tagged["run-err"])
# the summary line, in two parts: the build's figures, then the controller's own
m = re.search(r"command exited with status (\d+) in ([\d.]+) s: (\d+) jobs, (\d+) stops, (\d+) holds at exec, "
              r"(\d+) resumes, peak tree RSS (\S+), OOM kills (\d+)", run_err)
mc = re.search(r"controller ([\d.]+) CPU-s \(([\d.]+)% of a core\), peak RSS (\S+) \((\S+) while loading BPF\)", run_err)
check(one("run-rc") == "0" and m is not None and mc is not None, f"the managed build exits 0 with a summary:\n{run_err}")
if m and mc:
    status, wall, jobs, stops, holds, resumes, peak_tree, ooms = m.groups()
    cpu, pct, rss, load_rss = mc.groups()
    check(int(stops) + int(holds) >= 1, f"jobs were stopped ({stops} stops, {holds} holds at exec)")
    check(int(resumes) >= int(stops) + int(holds), f"every stopped job was resumed ({resumes} resumes)")
    check(int(jobs) == 6, f"6 jobs ({jobs})")
run = events("run")
decisions = collections.Counter(e.get("action") for e in run if e.get("event") == "decision")
check(decisions["resume"] >= 1 and decisions["stop"] + decisions["hold"] >= 1, f"the trace shows the decisions {dict(decisions)}")
check(one("outputs") == "6", f"every job wrote its output ({one('outputs')} of 6)")
check(one("stopped-left") == "0", f"nothing is left stopped ({one('stopped-left')})")

# 3b. service mode: the build found at its driver's exec, ctl status while it ran, SIGTERM ends it cleanly.
svc_err = "\n".join(tagged["svc-err"])
ms = re.search(r"stopped in ([\d.]+) s: (\d+) jobs, (\d+) stops, (\d+) holds at exec, (\d+) resumes", svc_err)
check(one("svc-rc") == "0" and one("svc-build-rc") == "0" and ms is not None,
      f"service: the build and the service (SIGTERM) exit 0 with a summary:\n{svc_err}")
if ms:
    svc_wall, svc_jobs, svc_stops, svc_holds, svc_resumes = ms.groups()
    check(int(svc_jobs) == 6, f"service: the build's 6 jobs found ({svc_jobs})")
    check(int(svc_stops) + int(svc_holds) >= 1 and int(svc_resumes) >= int(svc_stops) + int(svc_holds),
          f"service: jobs stopped and resumed ({svc_stops} stops, {svc_holds} holds, {svc_resumes} resumes)")
ctl = "\n".join(tagged["ctl"])
check(one("ctl-rc") == "0" and "hog" in ctl, f"service: ctl status lists the running hogs:\n{ctl}")
check(one("svc-outputs") == "6", f"service: every job wrote its output ({one('svc-outputs')} of 6)")
check(one("svc-stopped-left") == "0", f"service: nothing is left stopped ({one('svc-stopped-left')})")
check(one("svc-socket-left") == "0", "service: the control socket is removed at exit")

# 4. as without in-kernel BTF: raw_tp with CO-RE from the min_core_btf file.
pn = json.loads("\n".join(tagged["probe-nobtf"]) or "{}")
check(one("probe-nobtf-rc") == "0" and pn.get("kernel_btf") is False and pn.get("attach") == "raw_tp"
      and pn.get("btf_source") == "/min.btf",
      f"without /sys/kernel/btf, probe picks raw_tp with /min.btf ({pn.get('attach')}, {pn.get('btf_source')}, "
      f"{tagged['probe-nobtf-err']})")
check(pn.get("rss_stat_signature") == "mm,member,count", "and the old rss_stat signature")
tn = events("trace-nobtf")
check(one("trace-nobtf-rc") == "0", f"raw_tp trace exits 0 ({tagged['trace-nobtf-err'][-3:]})")
check(count(tn, "exec", "hog") == 1 and count(tn, "rss", "hog") >= 2,
      f"raw_tp trace sees exec and RSS ({count(tn, 'exec', 'hog')} exec, {count(tn, 'rss', 'hog')} rss)")
peaks_ok(tn, [40], "raw_tp trace")

# 5. without BTF and without --btf: the tracepoint variant, offsets from this kernel's format files.
fmt = {t: " ".join(tagged["format-" + t]) for t in ("rss_stat", "sched_process_exit", "task_newtask")}
check(all(f in fmt["rss_stat"] for f in ("mm_id; offset:8;", "curr; offset:12;", "member; offset:16;",
                                          "size; offset:24;")),
      f"6.1's rss_stat record is (mm_id, curr, member, size), as after 6.2: {fmt['rss_stat']}")
check("group_dead" not in fmt["sched_process_exit"] and "clone_flags" in fmt["task_newtask"],
      "6.1's sched_process_exit has no group_dead; task_newtask has clone_flags")
pt = json.loads("\n".join(tagged["probe-tp"]) or "{}")
check(one("probe-tp-rc") == "0" and pt.get("attach") == "tracepoint" and pt.get("btf_source") == ""
      and any("main thread" in l for l in pt.get("losses", [])),
      f"with no BTF at all, probe picks the tracepoint variant and names its losses "
      f"({pt.get('attach')}, {pt.get('losses')}, {tagged['probe-tp-err']})")
tt = events("trace-tp")
check(one("trace-tp-rc") == "0", f"tracepoint trace exits 0 ({tagged['trace-tp-err'][-3:]})")
tp_hogs = {e["pid"] for e in tt if e.get("event") == "exec" and e.get("comm") == "hog"}
tp_forked = {e["pid"] for e in tt if e.get("event") == "fork" and not e.get("thread")}
check(len(tp_hogs) == 2 and tp_hogs <= tp_forked and count(tt, "rss", "hog") >= 4,
      f"tracepoint trace sees both hogs fork, exec and grow ({len(tp_hogs)} execs, {count(tt, 'rss', 'hog')} rss)")
check(all(e.get("status_known") is False for e in tt if e.get("event") == "exit") and count(tt, "exit") >= 3,
      f"tracepoint trace sees the exits, status unknown ({count(tt, 'exit')})")
peaks_ok(tt, [40, 56], "tracepoint trace")
rtp = "\n".join(tagged["run-tp-err"])
mt = re.search(r"command exited with status (\d+) in ([\d.]+) s: (\d+) jobs, (\d+) stops, (\d+) holds at exec, "
               r"(\d+) resumes, peak tree RSS (\S+), OOM kills (\d+)", rtp)
check(one("run-tp-rc") == "0" and mt is not None and "BPF: tracepoint variant" in rtp,
      f"the fake build under the tracepoint variant exits 0 with a summary:\n{rtp}")
if mt:
    check(int(mt.group(4)) + int(mt.group(5)) >= 1 and int(mt.group(6)) >= int(mt.group(4)) + int(mt.group(5))
          and int(mt.group(3)) == 6, f"tracepoint variant: 6 jobs stopped and resumed ({mt.group(0)})")
check(one("tp-outputs") == "6" and one("tp-stopped-left") == "0",
      f"tracepoint variant: every job wrote its output ({one('tp-outputs')} of 6), nothing left stopped")

kinds = collections.Counter(e.get("event") for e in tr + run + tn + events("svc") + tt)
print("\nFigures (arm64, Debian " + one("uname") + ", qemu-system-aarch64 TCG, 2 vCPUs, 1024 MiB):")
print(f"  boot to /init: {one('uptime-at-init')} s guest uptime; whole run {one('uptime-at-end')} s guest, "
      f"{args.wall:.1f} s host wall")
print("  events seen: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
if m and mc:
    print(f"  fake build under --mem-budget 300M: {jobs} jobs in {wall} s, {stops} stops, {holds} holds, "
          f"{resumes} resumes, peak tree RSS {peak_tree}, OOM kills {ooms}")
    print(f"  controller: {cpu} CPU-s ({pct}% of a core), peak RSS {rss} ({load_rss} while loading BPF)")
if mt:
    print(f"  the same build, tracepoint variant (no BTF): {mt.group(3)} jobs in {mt.group(2)} s, {mt.group(4)} stops, "
          f"{mt.group(5)} holds, {mt.group(6)} resumes, peak tree RSS {mt.group(7)}, OOM kills {mt.group(8)}")
    mct = re.search(r"controller ([\d.]+) CPU-s \(([\d.]+)% of a core\), peak RSS (\S+) \((\S+) while loading BPF\)", rtp)
    if mct:
        print(f"  its controller: {mct.group(1)} CPU-s ({mct.group(2)}% of a core), peak RSS {mct.group(3)} "
              f"({mct.group(4)} while loading BPF)")
if ms:
    print(f"  service mode, the same build found at exec: {svc_jobs} jobs in {svc_wall} s, {svc_stops} stops, "
          f"{svc_holds} holds, {svc_resumes} resumes")
print(f"\n{len(failed)} failed" if failed else "\nall checks passed")
sys.exit(1 if failed else 0)
