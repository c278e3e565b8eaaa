#include "trace/text.hpp"

#include <cstdio>
#include <csignal>
#include <cstring>

#include "util/printable.hpp"

namespace swamp {

std::string human_count(double n) {
    char buf[32];
    if (n >= 1e6)
        snprintf(buf, sizeof buf, "%.1fM", n / 1e6);
    else if (n >= 1e4)
        snprintf(buf, sizeof buf, "%.0fk", n / 1e3);
    else if (n >= 1e3)
        snprintf(buf, sizeof buf, "%.1fk", n / 1e3);
    else
        snprintf(buf, sizeof buf, "%.0f", n);
    return buf;
}

namespace {

std::string join_argv(const ExecEvent& e) {
    std::string s;
    for (const auto& a : e.argv) {
        if (!s.empty()) s += ' ';
        s += a;
    }
    s = printable(s);
    if (e.argv_truncated) s += " …";
    return s.empty() ? printable(e.filename) : s;
}

std::string untracked_note(bool untracked) {
    return untracked ? " (not tracked: the task map is full, raise --max-tasks)" : "";
}

struct Columns {
    uint32_t ppid = 0;
    std::string rss;
    std::string details;
};

struct Describe {
    Columns operator()(const ExecEvent& e) const { return {e.ppid, "", join_argv(e) + untracked_note(e.untracked)}; }
    Columns operator()(const ForkEvent& e) const {
        return {e.ppid, "", (e.thread ? "new thread " + std::to_string(e.tid) : "new process") + untracked_note(e.untracked)};
    }
    Columns operator()(const ExitEvent& e) const {
        if (!e.status_known) return {e.ppid, human_bytes(e.peak_rss), "status unknown  peak " + human_bytes(e.peak_rss)};
        std::string d = e.signal() ? std::string("killed by SIG") + sigabbrev(e.signal())
                                   : "status " + std::to_string(e.exit_code());
        d += "  peak " + human_bytes(e.peak_rss) + "  minflt " + human_count(double(e.min_flt)) + "  majflt " +
             human_count(double(e.maj_flt));
        return {e.ppid, human_bytes(e.peak_rss), d};
    }
    Columns operator()(const RssEvent& e) const {
        return {0, human_bytes(e.rss),
                "anon " + human_bytes(e.anon) + "  file " + human_bytes(e.file) + "  shmem " + human_bytes(e.shmem) +
                    "  swap " + human_bytes(e.swap)};
    }
    Columns operator()(const FaultEvent& e) const {
        return {0, "", "minflt " + human_count(e.min_per_s()) + "/s  majflt " + human_count(e.maj_per_s()) + "/s"};
    }
    static const char* sigabbrev(int sig) {
        const char* s = sigabbrev_np(sig);
        return s ? s : "?";
    }
};

}  // namespace

std::string comm_column(const std::string& comm, size_t width) { return utf8_prefix(printable(comm), width); }

std::string text_header() {
    char buf[128];
    snprintf(buf, sizeof buf, "%9s %7s %7s %-15s %-6s %8s  %s", "TIME(s)", "PID", "PPID", "COMM", "EVENT", "RSS",
             "DETAILS");
    return buf;
}

std::string text_line(const Event& e, uint64_t start_ns, const std::string& comm) {
    uint64_t ts = event_ts(e);
    double t = ts >= start_ns ? (ts - start_ns) / 1e9 : 0.0;
    Columns c = std::visit(Describe{}, e);
    char ppid[16] = "";
    if (c.ppid) snprintf(ppid, sizeof ppid, "%u", c.ppid);
    char buf[160];
    snprintf(buf, sizeof buf, "%9.3f %7u %7s %-15.15s %-6s %8s  ", t, event_pid(e), ppid, comm_column(comm).c_str(), event_name(e),
             c.rss.c_str());
    return buf + c.details;
}

}  // namespace swamp
