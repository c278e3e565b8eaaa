#!/usr/bin/env python3
"""Turns the JSON files of one scripts/bench.sh run (in DIR) into Markdown
tables on stdout, and writes them all merged as DIR/bench.json.

Usage: tests/bench/report.py DIR [--minutes M] [--command CMD]
"""
import argparse
import glob
import json
import os
import sys


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def fmt(v, spec="{}", none="–"):
    return none if v is None else spec.format(v)


def outcome_tables(runs, lines):
    lines.append("### Fake builds under a memory limit")
    lines.append("")
    lines.append("| build | swap | variant | wall s | × lower bound | vs `-j1` | OOM kills | major faults "
                 "| swap in / out MiB | stops / holds / resumes |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    j1_wall = {}
    for r in runs:
        for v in r["variants"]:
            if v["variant"] == "j1" and v.get("ok"):
                j1_wall[r["profile"]] = v["wall_s"]
    for r in runs:
        build = "`{}` {} MiB, {} CPU-s, LB {:.1f} s".format(r["profile"], int(r["limit_mib"]), r["cpu_s"],
                                                          r["lower_bound_s"])
        swap = "SD-card speed" if r.get("swap") == "sd" else "none"
        for v in r["variants"]:
            ok = v.get("ok")
            if v.get("timed_out"):
                wall = "> {:.0f} (timed out)".format(v["wall_s"])
            elif not ok:
                wall = "{:.1f} (failed)".format(v["wall_s"])
            else:
                wall = "{:.1f}".format(v["wall_s"])
            ratio = "{:.2f}".format(v["wall_s"] / r["lower_bound_s"]) if ok else "–"
            j1 = j1_wall.get(r["profile"])
            vs = "{:.2f}× faster".format(j1 / v["wall_s"]) if ok and j1 and v["variant"] != "j1" else "–"
            swaps = "{} / {}".format(fmt(v.get("swap_in_mib")), fmt(v.get("swap_out_mib")))
            if v.get("stops") is not None:
                shr = "{} / {} / {}".format(fmt(v.get("stops")), fmt(v.get("holds")), fmt(v.get("resumes")))
            else:
                shr = "–"
            lines.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                build, swap, v["command"], wall, ratio, vs, fmt(v.get("oom_kills")), fmt(v.get("major_faults")),
                swaps, shr))
    lines.append("")
    lines.append("Lower bound = max(CPU-s / cores, Σ MiB·s / limit, critical path). "
                 "Swap in/out is host-wide (/proc/vmstat).")
    lines.append("")

    lines.append("### Controller footprint (in the runs above)")
    lines.append("")
    lines.append("| run | CPU-s per minute of build | % of one core | peak RSS |")
    lines.append("|---|---|---|---|")
    for r in runs:
        for v in r["variants"]:
            if v.get("controller_cpu_s_per_min") is None:
                continue
            lines.append("| `{}` {} swap, {} | {} | {} | {} |".format(
                r["profile"], "SD" if r.get("swap") == "sd" else "no", v["command"], v["controller_cpu_s_per_min"],
                fmt(v.get("controller_cpu_pct"), "{}%"), fmt(v.get("controller_peak_rss"))))
    lines.append("")


def history_table(runs, lines):
    lines.append("### The same build twice with a fresh history")
    lines.append("")
    lines.append("| build | run | wall s | × lower bound | vs 1st run | OOM kills | stops / holds at exec / resumes "
                 "| jobs predicted | outgrew the prediction |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        build = "`{}` {} MiB, LB {:.1f} s".format(r["profile"], int(r["limit_mib"]), r["lower_bound_s"])
        by = {v["variant"]: v for v in r["variants"]}
        first = by.get("swamp-hist1")
        for name in ("swamp-hist1", "swamp-hist2"):
            v = by.get(name)
            if not v:
                continue
            ok = v.get("ok")
            wall = "{:.1f}".format(v["wall_s"]) + ("" if ok else " (timed out)" if v.get("timed_out") else " (failed)")
            ratio = "{:.2f}".format(v["wall_s"] / r["lower_bound_s"]) if ok else "–"
            vs = ("{:.2f}".format(v["wall_s"] / first["wall_s"]) if ok and first and first.get("ok")
                  and name != "swamp-hist1" else "–")
            shr = "{} / {} / {}".format(fmt(v.get("stops")), fmt(v.get("holds")), fmt(v.get("resumes")))
            lines.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                build, "1st (reactive, fills the history)" if name == "swamp-hist1" else "2nd (predicted)", wall,
                ratio, vs, fmt(v.get("oom_kills")), shr, fmt(v.get("predicted_jobs")), fmt(v.get("outgrew_prediction"))))
    lines.append("")


def latency_table(lat, lines):
    lines.append("### Reaction latency (kernel event → stop delivered), in the runs above")
    lines.append("")
    lines.append("| ms | stops | p50 | p99 | max |")
    lines.append("|---|---|---|---|---|")
    polls = None
    for action, d in lat.items():
        s = d["swamp"]
        lines.append("| swamp-bpf `{}` | {} | {} | {} | {} |".format(action, d["stops"], s["p50_ms"], s["p99_ms"],
                                                                  s["max_ms"]))
        polls = polls or d
    if polls:
        for key, name in (("poll_0.5s", "a poller every 0.5 s, same events"), ("poll_1s", "a poller every 1 s, same events")):
            p = polls.get(key)
            if p:
                lines.append("| {} | | {} | {} | {} |".format(name, p["p50_ms"], p["p99_ms"], p["max_ms"]))
    lines.append("")


def realpkg_table(d, lines):
    lines.append("### A real C++ package: {} {} from Debian's sources by {}, {} outputs, in {} MiB".format(
        d.get("package"), d.get("version"), d.get("driver", "ninja"), d.get("objects"), int(d.get("limit_mib") or 0)))
    lines.append("")
    lines.append("| variant | wall s | status | OOM kills | peak MiB | major faults | stops / holds / resumes "
                 "| × best fixed `-j` |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for v in d.get("variants", []):
        shr = "–" if v.get("stops") is None else "{} / {} / {}".format(v["stops"], v["holds"], v["resumes"])
        ratio = fmt(v.get("ratio_to_best_fixed"), "{:.2f}") if v.get("ok") else "–"
        lines.append("| {} | {:.1f} | {} | {} | {} | {} | {} | {} |".format(
            v["command"], v["wall_s"], v["status"], fmt(v.get("oom_kills")), fmt(v.get("max_usage_mib")),
            fmt(v.get("majflt")), shr, ratio))
    lines.append("")
    lines.append("Best fixed `-j`: {} ({} s). Hung builds are ended after {}× the best time so far.".format(
        fmt(d.get("best_fixed")), fmt(d.get("best_fixed_wall_s")), fmt(d.get("timeout_factor"))))
    lines.append("")


def overhead_table(d, lines):
    names = {"fault": "fault-heavy microbenchmark (fault_bench), traced",
             "forkexec": "fork/exec storm (4000 × fork+exec+exit), traced",
             "compile": "a real `g++ -O2` compile, traced",
             "idle_fault": "fault_bench beside an idle service",
             "idle_forkexec": "fork/exec storm beside an idle service"}
    lines.append("### Overhead of the BPF programs (with swamp-bpf or not, interleaved; the workload's CPU time)")
    lines.append("")
    lines.append("| workload | without, CPU s | with, CPU s | ratio |")
    lines.append("|---|---|---|---|")
    for key, w in d.get("workloads", {}).items():
        lines.append("| {} | {:.3f} | {:.3f} | {:.3f} |".format(names.get(key, key), w["without_s"], w["with_s"],
                                                            w["ratio"]))
    progs = d.get("programs", {})
    if progs:
        lines.append("")
        lines.append("Per program (`kernel.bpf_stats_enabled`): " + ", ".join(
            "`{}` {:.0f} ns/run ({} runs)".format(n, p["ns_per_run"], p["runs"]) for n, p in progs.items()) + ".")
    lines.append("")


def scale_table(d, lines):
    lines.append("### Scale (`swamp-bpf trace --json`)")
    lines.append("")
    lines.append("| fork storm target, /s | processes/s reached | events/s | events lost | execs seen |")
    lines.append("|---|---|---|---|---|")
    for r in d.get("rates", []):
        lines.append("| {} | {} | {} | {} | {} / {} |".format(r["target"], r["procs_per_s"], r["events_per_s"],
                                                          r["dropped"], r["execs_seen"], r["started"]))
    if d.get("tasks"):
        lines.append("")
        lines.append("| live processes in the tree | `--max-tasks` | tracked in the kernel | not tracked (reported) |")
        lines.append("|---|---|---|---|")
        for t in d["tasks"]:
            lines.append("| {} | {} | {} | {} |".format(t["tasks"], t["max_tasks"], t["tracked"], t["not_tracked"]))
    lines.append("")


def service_table(d, lines):
    lines.append("### A long-running service (`swamp-bpf service`)")
    lines.append("")
    lines.append("| builds × jobs | managed / plain wall time | service CPU per 1000 jobs | RSS first → last round | anonymous first → last |")
    lines.append("|---|---|---|---|---|")
    lines.append("| {} × {} | {:.3f} | {:.3f} s | {} → {} KiB | {} → {} KiB |".format(
        d["rounds"], d["jobs_per_build"], d["wall_ratio"], d["cpu_s_per_1000_jobs"], d["rss_kib_first"],
        d["rss_kib_last"], d["anon_kib_first"], d["anon_kib_last"]))
    lines.append("")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--minutes")
    ap.add_argument("--command", default="scripts/bench.sh")
    a = ap.parse_args()

    merged = {"command": a.command, "minutes": float(a.minutes) if a.minutes else None}
    runs = []
    for profile in ("pi", "links", "demo"):
        for swap in ("none", "sd"):
            r = load(os.path.join(a.dir, "outcome-{}-{}.json".format(profile, swap)))
            if r:
                runs.append(r)
    merged["outcome"] = runs
    hist = [r for r in (load(os.path.join(a.dir, "history-{}.json".format(p))) for p in ("pi", "links")) if r]
    merged["history"] = hist
    lat = {}
    for action in ("signal", "freeze"):
        d = load(os.path.join(a.dir, "latency-{}.json".format(action)))
        if d:
            lat[action] = d
    merged["latency"] = lat
    for part in ("overhead", "scale", "service"):
        merged[part] = load(os.path.join(a.dir, part + ".json"))
    # realpkg-PACKAGE-DRIVER.json, one per package and driver (realpkg.json: the older single one)
    merged["realpkg"] = [r for r in (load(f) for f in sorted(glob.glob(os.path.join(a.dir, "realpkg*.json")))) if r]

    lines = []
    head = "Measured with `sudo {}`".format(a.command)
    if a.minutes:
        head += " in {} minutes".format(a.minutes)
    lines.append(head + " on the 2-core VM; every comparison side by side in one run.")
    lines.append("")
    if runs:
        outcome_tables(runs, lines)
    if hist:
        history_table(hist, lines)
    if lat:
        latency_table(lat, lines)
    for r in merged["realpkg"]:
        realpkg_table(r, lines)
    if merged["overhead"]:
        overhead_table(merged["overhead"], lines)
    if merged["scale"]:
        scale_table(merged["scale"], lines)
    if merged["service"]:
        service_table(merged["service"], lines)
    failed = os.path.join(a.dir, "failed-parts")
    if os.path.exists(failed):
        lines.append("Parts that failed: " + open(failed).read().replace("\n", " "))
    print("\n".join(lines))
    with open(os.path.join(a.dir, "bench.json"), "w") as f:
        json.dump(merged, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
