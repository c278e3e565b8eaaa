#!/usr/bin/env python3
"""Turn a recorded real build into job shapes for fakebuild_sim.

Reads a swamp-bpf --trace-json recording of a build run with few jobs and no
memory limit (so that each job's wall time is about its CPU time), and writes
one "# job" annotation per job of the build driver (each child of make or
ninja), in the format fakebuild_sim reads from Makefile.PROFILE, plus an
`all:` line in the order the jobs started:

  # job NAME mib=PEAK cpu=SECONDS curve=M0/M1/.../M23 file=FILE_MIB deps=A,B

- curve: the job's anonymous memory (all of its processes) in MiB at the end
  of each of 24 equal slices of its run time, the largest value in the slice;
- file:  the largest file-backed RSS of the job (the compiler's own mapped
  pages: what it refaults when the limit squeezes the page cache);
- deps:  a job that links (a compiler driver without -c, or collect2/ld)
  depends on every compile that started before it, as a link waits for its
  objects; compiles depend on nothing (what they really depend on was built
  before the recording).

On a busy machine a recording's wall times stretch: --total-cpu S scales
every job's time so that they add up to S, the CPU time the same jobs took
alone (for example realpkg.sh's user_s of its -j1 run).

Usage: trace_to_jobs.py TRACE.jsonl [--title TEXT] [--total-cpu S] > FILE.jobs
"""
import argparse
import json
import os
import sys

SLICES = 24
MIB = 1 << 20
DRIVERS = {"make", "gmake", "ninja", "samu", "bmake"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trace")
    ap.add_argument("--title", default="")
    ap.add_argument("--total-cpu", type=float, default=0)
    args = ap.parse_args()

    parent = {}      # pid -> parent pid
    job_of = {}      # pid -> job root pid
    jobs = {}        # job root pid -> dict
    order = []       # job root pids in start order
    drivers = set()  # pids of make/ninja
    anon = {}        # pid -> last anon bytes
    filepg = {}      # pid -> last file bytes

    def job_anon(j):
        return sum(anon.get(p, 0) for p in j["members"])

    def sample(j, t):
        j["points"].append((t - j["start"], job_anon(j)))

    with open(args.trace) as f:
        for line in f:
            try:
                e = json.loads(line)
            except json.JSONDecodeError:
                continue
            kind, t = e.get("event"), e.get("ts_ns", 0) / 1e9
            pid = e.get("pid")
            if kind == "fork" and not e.get("thread"):
                parent[pid] = e["ppid"]
                owner = job_of.get(e["ppid"])
                if owner is not None:
                    job_of[pid] = owner
                    jobs[owner]["members"].add(pid)
                elif e["ppid"] in drivers:  # a new job of the driver
                    jobs[pid] = {"start": t, "end": None, "members": {pid}, "points": [], "argv": [],
                                 "file": 0, "link": False}
                    job_of[pid] = pid
                    order.append(pid)
            elif kind == "exec":
                argv = e.get("argv", [])
                comm = os.path.basename(argv[0]) if argv else e.get("comm", "")
                if comm in DRIVERS and pid not in job_of:
                    drivers.add(pid)
                owner = job_of.get(pid)
                if owner is not None:
                    j = jobs[owner]
                    if comm in ("collect2", "ld", "ld.bfd", "ld.gold", "ld.lld", "mold"):
                        j["link"] = True
                    if comm in ("g++", "gcc", "c++", "cc", "clang", "clang++") or not j["argv"]:
                        j["argv"] = argv
            elif kind == "rss" and pid in job_of:
                anon[pid] = e.get("anon", 0) + e.get("shmem", 0)
                filepg[pid] = e.get("file", 0)
                j = jobs[job_of[pid]]
                j["file"] = max(j["file"], sum(filepg.get(p, 0) for p in j["members"]))
                sample(j, t)
            elif kind == "exit" and pid in job_of:
                j = jobs[job_of[pid]]
                anon[pid] = 0
                filepg[pid] = 0
                if pid == job_of[pid]:
                    j["end"] = t
                    sample(j, t)

    def name_of(j, i):
        argv = j["argv"]
        for k, a in enumerate(argv):
            if a == "-o" and k + 1 < len(argv):
                return os.path.basename(argv[k + 1])
        return "job%03d" % i

    out, compiles, names = [], [], set()
    for i, root in enumerate(order):
        j = jobs[root]
        if j["end"] is None or not j["points"]:
            continue
        dur = j["end"] - j["start"]
        peak = max(v for _, v in j["points"])
        if peak < 8 * MIB or dur < 0.05:
            continue  # not a job worth simulating (a copy, a touch, a generator)
        curve = []
        for s in range(SLICES):
            lo, hi = dur * s / SLICES, dur * (s + 1) / SLICES
            inside = [v for dt, v in j["points"] if lo < dt <= hi]
            before = [v for dt, v in j["points"] if dt <= lo]
            curve.append(max(inside) if inside else (before[-1] if before else 0))
        curve[-1] = max(curve[-1], 0)
        name = name_of(j, i)
        while name in names:
            name += "_"
        names.add(name)
        link = j["link"] or ("-c" not in j["argv"] and any(a == "-o" for a in j["argv"]))
        deps = list(compiles) if link else []
        if not link:
            compiles.append(name)
        out.append((name, peak, dur, curve, j["file"], deps))

    if not out:
        sys.exit("trace_to_jobs.py: no jobs of a make or ninja found in " + args.trace)
    if args.total_cpu > 0:
        scale = args.total_cpu / sum(dur for _, _, dur, *_ in out)
        out = [(n, p, dur * scale, c, f, d) for n, p, dur, c, f, d in out]
    print("# Job shapes recorded from a real build (tests/sim/trace_to_jobs.py)%s." %
          (": " + args.title if args.title else ""))
    print("# fakebuild_sim --makefile THIS_FILE plays them as make -jN would.")
    for name, peak, dur, curve, filebytes, deps in out:
        print("# job %s mib=%.0f cpu=%.2f curve=%s file=%.0f deps=%s" %
              (name, peak / MIB, dur, "/".join("%.0f" % (v / MIB) for v in curve), filebytes / MIB,
               ",".join(deps)))
    finals = [n for n, *_ in out]
    # a job another depends on is reached through it
    needed = {d for *_, deps in out for d in deps}
    print("all: " + " ".join(n for n in finals if n not in needed))


if __name__ == "__main__":
    main()
