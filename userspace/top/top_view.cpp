#include "top/top_view.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "control/ctl_protocol.hpp"
#include "trace/text.hpp"
#include "util/printable.hpp"

namespace swamp {

namespace {

// Columns of printable UTF-8 text: one per character.
size_t columns(const std::string& s) {
    size_t n = 0;
    for (size_t i = 0; i < s.size();) {
        size_t len = utf8_char_at(s, i);
        i += len ? len : 1;
        n++;
    }
    return n;
}

// Printable text `s` cut to at most `width` columns; padded to exactly `width` when `pad`.
std::string cut(const std::string& s, size_t width, bool pad = false) {
    std::string out;
    size_t n = 0;
    for (size_t i = 0; i < s.size() && n < width;) {
        size_t len = std::max<size_t>(1, utf8_char_at(s, i));
        out.append(s, i, len);
        i += len;
        n++;
    }
    if (pad) out.append(width - n, ' ');
    return out;
}

// `raw` made printable, then cut.
std::string fit(const std::string& raw, size_t width, bool pad = false) { return cut(printable(raw), width, pad); }

std::string fmt(const char* f, double v) {
    char buf[32];
    snprintf(buf, sizeof buf, f, v);
    return buf;
}

std::string signed_bytes(double b) {
    if (std::fabs(b) < 512 * 1024) return "0";
    return (b < 0 ? "-" : "+") + human_bytes(uint64_t(std::fabs(b)));
}

std::string duration(double s) {
    if (s < 60) return fmt("%.1fs", s);
    if (s < 3600) return std::to_string(int(s) / 60) + "m" + fmt("%02.0fs", std::floor(std::fmod(s, 60)));
    return std::to_string(int(s) / 3600) + "h" + fmt("%02.0fm", std::floor(std::fmod(s, 3600) / 60));
}

// A line of spans cut to `width` columns.
ScreenLine clip(ScreenLine l, size_t width) {
    ScreenLine out;
    size_t used = 0;
    for (Span& s : l) {
        if (used >= width) break;
        size_t n = columns(s.text);
        if (used + n > width) s.text = cut(s.text, width - used), n = width - used;
        used += n;
        out.push_back(std::move(s));
    }
    return out;
}

// The memory bar: the build's RSS, what else uses the memory, and the
// headroom left, on the scale the marks are relative to; '|' is the low mark.
ScreenLine memory_bar(const StatusSnapshot& s, size_t width) {
    const double scale = double(std::max<uint64_t>(s.mem.scale, 1));
    auto cells = [&](double bytes) { return size_t(std::clamp(bytes / scale * double(width) + 0.5, 0.0, double(width))); };
    double free = std::max<double>(0.0, double(s.mem.headroom));
    size_t tree = cells(double(s.tree_rss)), room = cells(free);
    if (tree + room > width) room = width - tree;
    size_t other = width - tree - room;
    std::string free_cells(room, '.');
    size_t mark = cells(double(s.low_mark));  // the low mark, counted from the right end
    if (mark > 0 && mark <= room) free_cells[room - mark] = '|';
    return {{"[", Paint::Plain},
            {std::string(tree, '#'), Paint::Tree},
            {std::string(other, '='), Paint::Other},
            {free_cells, s.mem.headroom < int64_t(s.low_mark) ? Paint::Warn : Paint::Free},
            {"]", Paint::Plain}};
}

Paint state_paint(const JobRow& j) {
    if (j.run_now) return Paint::RunNow;
    switch (j.state) {
    case JobState::Running: return Paint::Running;
    case JobState::Stopped: return Paint::Stopped;
    case JobState::Held: return Paint::Held;
    }
    return Paint::Plain;
}

const char* kKeys = "up/down select  Enter run this job now  p pause  r resume  1 2 limit  0 no limit  d drain  q quit";

}  // namespace

std::string line_text(const ScreenLine& l) {
    std::string out;
    for (const Span& s : l) out += s.text;
    return out;
}

uint64_t move_selection(const StatusSnapshot& s, uint64_t current, int delta) {
    if (s.jobs.empty()) return 0;
    auto it = std::find_if(s.jobs.begin(), s.jobs.end(), [&](const JobRow& j) { return j.id == current; });
    if (it == s.jobs.end()) {  // gone: the next job after it, else the last
        auto next = std::find_if(s.jobs.begin(), s.jobs.end(), [&](const JobRow& j) { return j.id > current; });
        it = next != s.jobs.end() ? next : s.jobs.end() - 1;
        if (!current) it = s.jobs.begin();
    }
    long i = std::clamp<long>(long(it - s.jobs.begin()) + delta, 0, long(s.jobs.size()) - 1);
    return s.jobs[size_t(i)].id;
}

std::string request_for_key(int key, uint64_t selected) {
    CtlRequest r;
    switch (key) {
    case 'p': r.kind = CtlRequest::Kind::Pause; break;
    case 'r': r.kind = CtlRequest::Kind::Resume; break;
    case 'd': r.kind = CtlRequest::Kind::Drain; break;
    case '0': case '1': case '2':
        r.kind = CtlRequest::Kind::Limit;
        r.limit = key - '0';
        break;
    case '\n': case '\r': case 'g':
        if (!selected) return "";
        r.kind = CtlRequest::Kind::Run;
        r.job = selected;
        break;
    default: return "";
    }
    return request_line(r);
}

std::vector<ScreenLine> render_top(const TopFrame& f) {
    const size_t w = std::max<size_t>(f.width, 20);
    std::vector<ScreenLine> lines;
    auto add = [&](ScreenLine l) { lines.push_back(clip(std::move(l), w)); };
    if (!f.status) {
        add({{"swamp-bpf top: " + f.socket, Paint::Title}});
        add({});
        add({{fit(f.error, w), Paint::Warn}});
        add({{"retrying; q quits", Paint::Dim}});
    } else {
        const StatusSnapshot& s = *f.status;
        add({{"swamp-bpf top: " + fit(s.managing, 40) + ", " + overall_state(s) + " for " + duration(s.uptime_s) +
                  " (pid " + std::to_string(s.pid) + ", " + fit(s.actuator, 30) + ")",
              Paint::Title}});
        size_t bw = std::clamp<size_t>(w > 56 ? w - 56 : 10, 10, 60);
        ScreenLine mem{{"memory ", Paint::Plain}};
        for (Span& sp : memory_bar(s, bw)) mem.push_back(std::move(sp));
        std::string source = s.mem.source == "budget" ? "--mem-budget" : fit(s.mem.source, 20);
        mem.push_back({" headroom " + (s.mem.headroom < 0 ? "-" + human_bytes(uint64_t(-s.mem.headroom))
                                                          : human_bytes(uint64_t(s.mem.headroom))) +
                           " of " + human_bytes(s.mem.scale) + " (" + source + ")",
                       s.mem.headroom < int64_t(s.low_mark) ? Paint::Warn : Paint::Plain});
        add(mem);
        uint64_t used = s.mem.scale > uint64_t(std::max<int64_t>(0, s.mem.headroom))
                            ? s.mem.scale - uint64_t(std::max<int64_t>(0, s.mem.headroom))
                            : 0;
        add({{"       # build " + human_bytes(s.tree_rss), Paint::Tree},
             {"  = other " + human_bytes(used > s.tree_rss ? used - s.tree_rss : 0), Paint::Other},
             {"  . headroom", Paint::Free},
             {"  | low mark " + human_bytes(s.low_mark) + ", resume mark " + human_bytes(s.high_mark) +
                  (s.budget ? ", budget " + human_bytes(*s.budget) : std::string(", no --mem-budget")),
              Paint::Dim}});
        add({{"caps: " + describe_caps(s.caps), s.caps.pause || s.caps.drain || s.caps.max_running ? Paint::Warn : Paint::Plain},
             {"   jobs: " + std::to_string(jobs_in(s, JobState::Running)) + " running, " +
                  std::to_string(jobs_in(s, JobState::Stopped)) + " stopped, " +
                  std::to_string(jobs_in(s, JobState::Held)) + " held   totals: " + std::to_string(s.jobs_total) +
                  " jobs, " + std::to_string(s.stops) + " stops, " + std::to_string(s.holds) + " holds, " +
                  std::to_string(s.resumes) + " resumes, " + std::to_string(s.oom_kills) + " OOM kills",
              Paint::Plain}});
        add({});
        uint64_t scale = 1 << 20;
        for (const JobRow& j : s.jobs) scale = std::max({scale, j.peak, j.rss});
        const size_t jb = std::clamp<size_t>(w / 8, 10, 30);
        char head[256];
        snprintf(head, sizeof head, "  %5s %7s %-24s %-8s %-*s %7s %7s %8s %5s %7s  %s", "JOB", "PID", "NAME", "STATE",
                 int(jb + 2), ("RSS#/PEAK- of " + human_bytes(scale)).c_str(), "RSS", "PEAK", "GROWTH", "CPU", "FOR",
                 "WHY");
        add({{head, Paint::Dim}});
        // the selected job's reason in full, above the two bottom lines (a row cuts it)
        std::vector<ScreenLine> detail;
        for (const JobRow& j : s.jobs) {
            if (j.id != f.selected) continue;
            std::string why = j.run_now ? "run now by the user, until it ends" : j.reason;
            std::string package = j.package.empty() ? "" : ", " + j.package;
            std::string text = "job " + std::to_string(j.id) + " (" + printable(job_row_label(j) + package) + ") " +
                               job_state_name(j.state) +
                               (why.empty() ? "" : ": " + printable(why));
            for (size_t at = 0, n = 0; n < 2 && at < text.size(); n++) {
                std::string part = cut(text.substr(at), w);
                detail.push_back({{part, j.state == JobState::Running ? Paint::Dim : Paint::Warn}});
                at += part.size();
            }
        }
        // rows that fit between the header and the bottom lines; the selection stays in view
        size_t bottom = 2 + detail.size();
        size_t room = f.height > lines.size() + bottom ? f.height - lines.size() - bottom : 0;
        size_t first = 0, sel = 0;
        for (size_t i = 0; i < s.jobs.size(); i++)
            if (s.jobs[i].id == f.selected) sel = i;
        bool more = s.jobs.size() > room;
        size_t shown = more && room ? room - 1 : room;
        if (more && sel >= first + shown) first = sel + 1 - shown;
        if (s.jobs.empty()) add({{"  (no job yet)", Paint::Dim}});
        for (size_t i = first; i < s.jobs.size() && i < first + shown; i++) {
            const JobRow& j = s.jobs[i];
            bool selected = j.id == f.selected;
            auto cells = [&](uint64_t b) { return size_t(double(b) / double(scale) * double(jb) + 0.5); };
            size_t rss = std::min(cells(j.rss), jb), peak = std::clamp(cells(j.peak), rss, jb);
            char left[192], nums[128];
            snprintf(left, sizeof left, "%c %5llu %7u %s %-8s ", selected ? '>' : ' ', (unsigned long long)j.id,
                     j.root_pid, fit(job_row_label(j), 24, true).c_str(), job_state_name(j.state));
            snprintf(nums, sizeof nums, " %7s %7s %8s %5s %7s  ", human_bytes(j.rss).c_str(), human_bytes(j.peak).c_str(),
                     (signed_bytes(j.growth) + (std::fabs(j.growth) < 512 * 1024 ? "" : "/s")).c_str(),
                     j.cpu ? fmt("%.2f", *j.cpu).c_str() : "-", duration(j.in_state_s).c_str());
            std::string why = j.run_now ? "run now by the user, until it ends" : j.reason;
            Paint row = selected ? Paint::Selected : Paint::Plain;
            add({{left, selected ? Paint::Selected : state_paint(j)},
                 {"[", row},
                 {std::string(rss, '#'), Paint::Tree},
                 {std::string(peak - rss, '-'), Paint::Dim},
                 {std::string(jb - peak, ' '), row},
                 {"]", row},
                 {nums, row},
                 {fit(why, w), j.state == JobState::Running ? Paint::Dim : Paint::Warn}});
        }
        if (more)
            add({{"  ... " + std::to_string(s.jobs.size() - shown) + " more (up/down scrolls)", Paint::Dim}});
        while (lines.size() + bottom < f.height) lines.push_back({});
        for (ScreenLine& l : detail) add(std::move(l));
    }
    while (lines.size() + 2 < f.height) lines.push_back({});
    add({{fit(f.message, w), Paint::Warn}});
    add({{kKeys, Paint::Key}});
    if (lines.size() > f.height) lines.erase(lines.begin() + long(f.height > 2 ? f.height - 2 : 0), lines.end() - 2);
    return lines;
}

}  // namespace swamp
