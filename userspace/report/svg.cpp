#include "report/svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <sstream>

#include "trace/text.hpp"
#include "util/printable.hpp"

namespace swamp {

namespace {

// Colours; the legend and the render test (tests/report/) use the same ones.
constexpr const char* kBar = "#dce6f2";      // a job's lifetime
constexpr const char* kRss = "#3b75af";      // its RSS
constexpr const char* kStopped = "#f28e2b";  // stopped (SIGSTOP or frozen)
constexpr const char* kHeld = "#9b59b6";     // held at exec
constexpr const char* kTotal = "#8fb3d9";    // the build's total RSS
constexpr const char* kBudget = "#d62728";   // the memory budget line
constexpr const char* kKilled = "#111111";   // SIGKILL marker
constexpr const char* kRunning = "#59a14f";  // jobs running, in the jobs lane
constexpr const char* kCpus = "#222222";     // the CPUs line
constexpr const char* kGrid = "#e4e4e4";
constexpr const char* kFont = "DejaVu Sans, Liberation Sans, Arial, sans-serif";

constexpr double kTitleTop = 28, kPanelHeight = 150, kLaneHeight = 80, kGap = 34, kBottom = 46, kListLine = 15;
constexpr double kBudgetWindow = 0.5;  // seconds either side: see smoothed_budget()

std::string num(double v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%.1f", std::round(v * 10) / 10);
    std::string s = buf;
    if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
    return s == "-0" ? "0" : s;
}

std::string seconds(double s) {
    char buf[32];
    snprintf(buf, sizeof buf, s < 10 ? "%.2f s" : s < 100 ? "%.1f s" : "%.0f s", s);
    return buf;
}

// 1, 2 or 5 times a power of ten, so that `span` holds about `ticks` steps.
double nice_step(double span, int ticks) {
    double raw = span / ticks;
    double p = std::pow(10, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 5.0})
        if (raw <= m * p) return m * p;
    return 10 * p;
}

std::string basename(const std::string& path) {
    auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Cut to `chars` characters (UTF-8 aware), ending in "…" if cut.
std::string fit(const std::string& s, size_t chars) {
    std::vector<size_t> starts;  // byte offset of each character
    for (size_t i = 0; i < s.size(); i++)
        if ((static_cast<unsigned char>(s[i]) & 0xc0) != 0x80) starts.push_back(i);
    if (starts.size() <= chars) return s;
    return s.substr(0, starts[std::max<size_t>(chars, 1) - 1]) + "…";
}


std::string with_commas(size_t n) {
    std::string digits = std::to_string(n), out;
    for (size_t i = 0; i < digits.size(); i++) {
        if (i && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

// A wait of a job, for the list of reasons below the rows.
struct ListedWait {
    const TimelineJob* job;
    const WaitSpan* wait;
};

class Svg {
public:
    Svg(const Timeline& t, const SvgOptions& o, const SvgLayout& l)
        : t_(t), o_(o), l_(l), span_(std::max(t.end, 1e-3)), rows_(rows_to_draw(t, o.top, o.min_peak)) {
        std::vector<bool> drawn(t.jobs.size());
        for (size_t i : rows_) {
            drawn[i] = true;
            row_scale_ = std::max(row_scale_, t.jobs[i].peak);
        }
        for (size_t i = 0; i < t.jobs.size(); i++)
            if (!drawn[i]) left_out_.push_back(&t.jobs[i]);
        const size_t row_count = rows_.size() + (left_out_.empty() ? 0 : 1);
        row_h_ = l.row_height(row_count);
        // the reasons that rows cannot carry: thin rows, text that would overlap, and the jobs left out
        for (size_t i : rows_) place_reasons(t.jobs[i]);
        for (const TimelineJob* j : left_out_)
            for (const WaitSpan& w : j->waits) unlabelled_.push_back({j, &w});

        legend_lines_ = 1;  // counted by a dry run of the legend
        std::ostringstream scratch;
        std::swap(scratch, out_);
        legend();
        std::swap(scratch, out_);
        panel_top_ = kTitleTop + 44 + 20 * double(legend_lines_) + 6;
        lane_top_ = panel_top_ + kPanelHeight + kGap;
        rows_top_ = lane_top_ + kLaneHeight + kGap;
        rows_bottom_ = rows_top_ + (row_count ? row_h_ * double(row_count) : l.max_row);
        list_top_ = rows_bottom_ + kBottom;
        height_ = list_top_ + (unlabelled_.empty() ? 0
                                                   : 10 + kListLine * double(std::min(unlabelled_.size(), l.max_listed) +
                                                                            1 + (unlabelled_.size() > l.max_listed)));
    }

    std::string render() {
        out_ << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << num(l_.width) << "\" height=\"" << num(height_)
             << "\" viewBox=\"0 0 " << num(l_.width) << ' ' << num(height_) << "\" font-family=\"" << kFont << "\">\n";
        out_ << "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
        title();
        legend();
        grid();
        panel();
        lane();
        rows();
        listed();
        out_ << "</svg>\n";
        return out_.str();
    }

private:
    double x(double t) const { return l_.x(t, span_); }

    void text(double x, double y, const std::string& s, const std::string& attrs = "") {
        out_ << "<text x=\"" << num(x) << "\" y=\"" << num(y) << "\"" << (attrs.empty() ? "" : " ") << attrs << '>'
             << xml_escape(s) << "</text>\n";
    }

    void rect(double x0, double y0, double x1, double y1, const std::string& attrs) {
        out_ << "<rect x=\"" << num(x0) << "\" y=\"" << num(y0) << "\" width=\"" << num(std::max(x1 - x0, 0.5))
             << "\" height=\"" << num(std::max(y1 - y0, 0.5)) << "\" " << attrs << "/>\n";
    }

    // A step curve of `s` from `from` to `to`, `max` bytes `height` above `base`; an area down to `base` or a line.
    std::string steps(const std::vector<Sample>& s, double from, double to, double base, double height, uint64_t max,
                      bool area) const {
        auto y = [&](uint64_t b) { return base - height * (max ? double(b) / double(max) : 0.0); };
        std::string d;
        double last_y = base;
        bool started = false;
        auto point = [&](double px, double py) {
            d += (started ? " L" : "M") + num(px) + ',' + num(py);
            started = true;
        };
        if (area) point(x(from), base);
        for (const Sample& p : s) {
            double px = x(std::clamp(p.t, from, to));
            if (started) point(px, last_y);
            last_y = y(p.bytes);
            point(px, last_y);
        }
        if (!started) return "";
        point(x(to), last_y);
        if (area) d += " L" + num(x(to)) + ',' + num(base) + " Z";
        return d;
    }

    void title() {
        size_t stops = 0, holds = 0;
        for (const TimelineJob& j : t_.jobs)
            for (const WaitSpan& w : j.waits) (w.state == JobState::Held ? holds : stops)++;
        uint64_t peak = 0;
        for (const Sample& s : t_.total_rss) peak = std::max(peak, s.bytes);
        size_t killed = t_.killed_outside_jobs.size();
        for (const TimelineJob& j : t_.jobs) killed += j.killed.size();
        text(16, kTitleTop, "swamp-bpf report: " + basename(t_.name) + " — wall time " + seconds(t_.end),
             "font-size=\"18\" font-weight=\"bold\" fill=\"#222\"");
        std::string sub = with_commas(t_.jobs.size()) + (t_.jobs.size() == 1 ? " job" : " jobs") +
                          " · peak total RSS " + human_bytes(peak) + " · " + std::to_string(stops) + " stops · " +
                          std::to_string(holds) + " holds at exec";
        if (killed) sub += " · " + std::to_string(killed) + " killed (SIGKILL)";
        if (t_.dropped) sub += " · " + std::to_string(t_.dropped) + " events lost (ring buffer full)";
        if (t_.decisions_unmatched)
            sub += " · " + std::to_string(t_.decisions_unmatched) + " decisions name no job of the trace";
        text(16, kTitleTop + 22, sub, "font-size=\"13\" fill=\"#444\"");
    }

    void legend() {
        double lx = 16, ly = kTitleTop + 44;
        auto entry = [&](const std::function<std::string(double)>& swatch, const std::string& label) {
            double w = 22 + 7.0 * double(label.size()) + 18;
            if (lx > 16 && lx + w > l_.width - 16) {  // on to the next line
                lx = 16;
                ly += 20;
                legend_lines_++;
            }
            out_ << "<g class=\"legend\">" << swatch(lx);
            text(lx + 22, ly + 10, label, "font-size=\"12\" fill=\"#333\"");
            out_ << "</g>\n";
            lx += w;
        };
        auto box = [&](const char* fill) {
            return [&ly, fill](double at) {
                return "<rect x=\"" + num(at) + "\" y=\"" + num(ly) + "\" width=\"16\" height=\"12\" fill=\"" + fill + "\"/>";
            };
        };
        auto dashed = [&ly](const char* stroke, const char* dashes) {
            return [&ly, stroke, dashes](double at) {
                return "<line x1=\"" + num(at) + "\" y1=\"" + num(ly + 6) + "\" x2=\"" + num(at + 16) + "\" y2=\"" +
                       num(ly + 6) + "\" stroke=\"" + stroke + "\" stroke-width=\"2\" stroke-dasharray=\"" + dashes + "\"/>";
            };
        };
        legend_lines_ = 1;
        entry(box(kRss), "job RSS (all rows on one scale: a full row is " + human_bytes(row_scale_) + ")");
        entry(box(kStopped), "stopped");
        entry(box(kHeld), "held at exec");
        entry(box(kRunning), "jobs running");
        entry(box(kTotal), "total RSS");
        entry(dashed(kBudget, "5,3"), "memory budget");
        entry(dashed(kCpus, "2,2"), "CPUs");
        entry([&ly](double at) { return cross(at + 8, ly + 6, 5); }, "killed (SIGKILL)");
    }

    static std::string cross(double cx, double cy, double r) {
        return "<path class=\"killed\" d=\"M" + num(cx - r) + ',' + num(cy - r) + " L" + num(cx + r) + ',' +
               num(cy + r) + " M" + num(cx - r) + ',' + num(cy + r) + " L" + num(cx + r) + ',' + num(cy - r) +
               "\" stroke=\"" + kKilled + "\" stroke-width=\"2.5\"/>";
    }

    void grid() {
        double step = nice_step(span_, 10);
        out_ << "<g class=\"time-axis\" font-size=\"11\" fill=\"#555\" text-anchor=\"middle\">\n";
        for (int i = 0; i * step <= span_ * (1 + 1e-9); i++) {
            double px = x(i * step);
            out_ << "<line x1=\"" << num(px) << "\" y1=\"" << num(panel_top_) << "\" x2=\"" << num(px) << "\" y2=\""
                 << num(rows_bottom_) << "\" stroke=\"" << kGrid << "\"/>\n";
            std::string label = num(i * step) + (i == 0 ? " s" : "");
            for (double below : {panel_top_ + kPanelHeight, lane_top_ + kLaneHeight, rows_bottom_})
                text(px, below + 16, label);
        }
        text((l_.plot_left + l_.plot_right) / 2, rows_bottom_ + 34, "time since the build started (s)",
             "font-size=\"12\"");
        out_ << "</g>\n";
    }

    // Horizontal grid lines and their labels, `step` apart up to `top` units.
    void y_axis(double top_y, double base, double step, double top, const std::string& unit) {
        for (int i = 0; i * step <= top + 1e-9; i++) {
            double py = base - (base - top_y) * (i * step / top);
            out_ << "<line x1=\"" << num(l_.plot_left) << "\" y1=\"" << num(py) << "\" x2=\"" << num(l_.plot_right)
                 << "\" y2=\"" << num(py) << "\" stroke=\"" << kGrid << "\"/>\n";
            text(l_.plot_left - 6, py + 4, num(i * step) + unit, "font-size=\"11\" fill=\"#555\" text-anchor=\"end\"");
        }
    }

    void panel() {
        const double top = panel_top_, base = panel_top_ + kPanelHeight;
        uint64_t max = 0;
        for (const Sample& s : t_.total_rss) max = std::max(max, s.bytes);
        for (const Sample& s : t_.budget) max = std::max(max, s.bytes);
        // the y axis in MiB, or in GiB from 2 GiB on
        const bool gib = max >= (2ull << 30);
        const double unit = gib ? double(1 << 30) : double(1 << 20);
        const double step = nice_step(std::max(double(max) / unit, 1.0) * 1.05, 4);
        const double top_units = std::ceil(std::max(double(max) / unit, 1.0) * 1.05 / step) * step;
        const uint64_t axis_max = uint64_t(top_units * unit);
        out_ << "<g class=\"panel\">\n";
        text(16, top + 14, "Build total", "font-size=\"13\" font-weight=\"bold\" fill=\"#333\"");
        text(16, top + 30, "RSS of every process", "font-size=\"11\" fill=\"#555\"");
        if (t_.budget.empty()) {
            text(16, top + 44, "no memory lines: budget unknown", "font-size=\"11\" fill=\"#555\"");
        } else {
            text(16, top + 44, "budget = total RSS + headroom,", "font-size=\"11\" fill=\"#555\"");
            text(16, top + 58, "the highest within ±" + num(kBudgetWindow) + " s: shorter dips", "font-size=\"11\" fill=\"#555\"");
            text(16, top + 72, "are exits counted before memory is freed", "font-size=\"11\" fill=\"#555\"");
        }
        y_axis(top, base, step, top_units, gib ? "G" : "M");
        auto d = steps(t_.total_rss, 0, span_, base, kPanelHeight, axis_max, true);
        if (!d.empty())
            out_ << "<path class=\"total\" d=\"" << d << "\" fill=\"" << kTotal << "\" stroke=\"" << kRss
                 << "\" stroke-width=\"1\"/>\n";
        if (!t_.budget.empty()) {
            auto b = steps(smoothed_budget(t_.budget, kBudgetWindow), t_.budget.front().t, span_, base, kPanelHeight,
                           axis_max, false);
            out_ << "<path class=\"budget\" d=\"" << b << "\" fill=\"none\" stroke=\"" << kBudget
                 << "\" stroke-width=\"2\" stroke-dasharray=\"6,3\"/>\n";
        }
        for (double k : t_.killed_outside_jobs) {
            out_ << cross(x(k), top + 10, 6) << '\n';
            text(x(k) + 9, top + 14, "killed (SIGKILL)", "font-size=\"11\" font-weight=\"bold\" fill=\"#111\"");
        }
        rect(l_.plot_left, top, l_.plot_right, base, "fill=\"none\" stroke=\"#999\"");
        out_ << "</g>\n";
    }

    // The jobs running, stopped and held, stacked, against the CPUs.
    void lane() {
        const double top = lane_top_, base = lane_top_ + kLaneHeight;
        std::vector<JobCount> counts = job_counts(t_);
        unsigned most = 0;
        for (const JobCount& c : counts) most = std::max(most, c.running + c.stopped + c.held);
        const double cpus = o_.cpus;
        const double step = nice_step(std::max({double(most), cpus, 1.0}) * 1.05, 3);
        const double top_units = std::max(1.0, std::ceil(std::max({double(most), cpus, 1.0}) * 1.05 / step)) * step;
        // where CPUs sat idle while jobs waited, and how much of the CPUs jobs kept busy
        double busy = 0, idle_waiting = 0, waited = 0;
        for (size_t i = 0; i < counts.size(); i++) {
            double dt = (i + 1 < counts.size() ? counts[i + 1].t : span_) - counts[i].t;
            const JobCount& c = counts[i];
            waited += dt * (c.stopped + c.held);
            if (cpus > 0) {
                busy += dt * std::min(double(c.running), cpus);
                idle_waiting += dt * std::min(double(c.stopped + c.held), std::max(0.0, cpus - c.running));
            }
        }
        out_ << "<g class=\"lane\">\n";
        text(16, top + 14, "Jobs and CPUs", "font-size=\"13\" font-weight=\"bold\" fill=\"#333\"");
        text(16, top + 30, "running, with the waiting on top; at most " + std::to_string(most) + " at once",
             "font-size=\"11\" fill=\"#555\"");
        if (cpus > 0) {
            text(16, top + 44, "jobs ran on " + num(100 * busy / (cpus * span_)) + "% of " + num(cpus) + " CPUs' time",
                 "class=\"efficiency\" font-size=\"11\" fill=\"#555\"");
            text(16, top + 58, "CPUs idle while jobs waited: " + num(idle_waiting) + " CPU-s",
                 "class=\"idle\" font-size=\"11\" fill=\"#555\"");
        } else {
            text(16, top + 44, "CPUs unknown: report --cpus N draws them", "font-size=\"11\" fill=\"#555\"");
            text(16, top + 58, "jobs waited " + num(waited) + " job-s in all", "font-size=\"11\" fill=\"#555\"");
        }
        y_axis(top, base, step, top_units, "");
        auto y = [&](double n) { return base - kLaneHeight * n / top_units; };
        // one stacked step path per kind: running from 0, stopped above it, held above both
        auto layer = [&](const char* cls, const char* fill, auto low, auto high) {
            std::string d = "M" + num(x(0)) + ',' + num(base);
            std::vector<std::string> back;  // the lower edge, drawn back from the right
            for (size_t i = 0; i < counts.size(); i++) {
                double x0 = x(counts[i].t), x1 = x(i + 1 < counts.size() ? counts[i + 1].t : span_);
                d += " L" + num(x0) + ',' + num(y(high(counts[i]))) + " L" + num(x1) + ',' + num(y(high(counts[i])));
                back.push_back(" L" + num(x1) + ',' + num(y(low(counts[i]))) + " L" + num(x0) + ',' + num(y(low(counts[i]))));
            }
            for (auto it = back.rbegin(); it != back.rend(); ++it) d += *it;
            out_ << "<path class=\"" << cls << "\" d=\"" << d << " Z\" fill=\"" << fill << "\"/>\n";
        };
        layer("lane-running", kRunning, [](const JobCount&) { return 0.0; }, [](const JobCount& c) { return double(c.running); });
        layer("lane-stopped", kStopped, [](const JobCount& c) { return double(c.running); },
              [](const JobCount& c) { return double(c.running + c.stopped); });
        layer("lane-held", kHeld, [](const JobCount& c) { return double(c.running + c.stopped); },
              [](const JobCount& c) { return double(c.running + c.stopped + c.held); });
        if (cpus > 0)
            out_ << "<line class=\"cpus\" x1=\"" << num(l_.plot_left) << "\" y1=\"" << num(y(cpus)) << "\" x2=\""
                 << num(l_.plot_right) << "\" y2=\"" << num(y(cpus)) << "\" stroke=\"" << kCpus
                 << "\" stroke-width=\"1.5\" stroke-dasharray=\"2,2\"/>\n";
        rect(l_.plot_left, top, l_.plot_right, base, "fill=\"none\" stroke=\"#999\"");
        out_ << "</g>\n";
    }

    void rows() {
        if (rows_.empty() && left_out_.empty()) {
            text((l_.plot_left + l_.plot_right) / 2, rows_top_ + 17, "no jobs in this trace",
                 "class=\"no-jobs\" font-size=\"13\" fill=\"#555\" text-anchor=\"middle\"");
            return;
        }
        const double h = row_h_;
        const double pad = h >= 8 ? 1.5 : 0;
        const double font = this->font();
        double label_free_at = 0;  // y below which the next label may go
        for (size_t r = 0; r < rows_.size(); r++) {
            const TimelineJob& j = t_.jobs[rows_[r]];
            const double y0 = rows_top_ + h * double(r), y1 = y0 + h;
            const double top = y0 + pad, base = y1 - pad;
            out_ << "<g class=\"job\" data-job=\"" << j.id << "\"><title>" << xml_escape(job_title(j)) << "</title>\n";
            if (h >= 6 && r % 2) rect(0, y0, l_.width, y1, "fill=\"#f6f6f6\"");
            rect(x(j.start), top, x(j.end), base, std::string("class=\"bar\" fill=\"") + kBar + '"');
            auto d = steps(j.rss, j.start, j.end, base, base - top, row_scale_, true);
            if (!d.empty()) out_ << "<path class=\"rss\" d=\"" << d << "\" fill=\"" << kRss << "\"/>\n";
            for (const WaitSpan& w : j.waits) {
                const char* colour = w.state == JobState::Held ? kHeld : kStopped;
                const char* cls = w.state == JobState::Held ? "held" : "stopped";
                // translucent over the RSS, with a solid band along the top
                rect(x(w.from), top, x(w.to), base,
                     std::string("class=\"") + cls + "\" fill=\"" + colour + "\" fill-opacity=\"0.55\"");
                rect(x(w.from), top, x(w.to), top + std::max(1.0, (base - top) / 4), std::string("fill=\"") + colour + '"');
            }
            reasons(j, (y0 + y1) / 2 + font * 0.36);
            for (double k : j.killed) {
                out_ << cross(x(k), (y0 + y1) / 2, std::clamp(h / 2 - 1, 4.0, 6.0)) << '\n';  // may reach into thin neighbours
                if (h >= 10)
                    text(x(k) + 8, (y0 + y1) / 2 + font / 2 - 1, "killed (SIGKILL)",
                         "font-size=\"" + num(font) + "\" font-weight=\"bold\" fill=\"#111\"");
            }
            // the label, unless it would overlap the one above
            double baseline = (y0 + y1) / 2 + font * 0.36;
            if (baseline - font >= label_free_at) {
                label(j, baseline, font);
                label_free_at = baseline + 1;
            }
            out_ << "</g>\n";
        }
        if (!left_out_.empty()) others(rows_top_ + h * double(rows_.size()), h, font);
    }

    double font() const { return std::clamp(row_h_ - 4, 8.0, 12.0); }

    // Where the reason of each of j's waits goes in its row: from where the
    // wait begins, cut before the next text of the row (or ending where it
    // begins, when there is more room to its left). The longest waits are
    // placed first. A wait with no room for 16 characters, or any in a thin
    // row, goes to the list below the rows instead.
    void place_reasons(const TimelineJob& j) {
        const double char_w = 0.55 * font(), least = 16 * char_w;
        std::vector<const WaitSpan*> order;
        for (const WaitSpan& w : j.waits)
            if (!w.reason.empty()) order.push_back(&w);
        std::stable_sort(order.begin(), order.end(),
                         [](const WaitSpan* a, const WaitSpan* b) { return a->to - a->from > b->to - b->from; });
        std::vector<std::pair<double, double>> taken;  // x extents of the texts placed in this row
        for (const WaitSpan* w : order) {
            // "stopped: REASON", "held: REASON"; a hold's reason may begin "held at exec: " already
            const std::string word = w->state == JobState::Held ? "held" : "stopped";
            std::string s = short_reason(w->reason);
            if (s.rfind(word, 0) != 0) s = word + ": " + s;
            const double from = x(w->from);
            double left = l_.plot_left, right = l_.plot_right;  // the free stretch around `from`
            bool free = true;
            for (const auto& [a, b] : taken) {
                if (a <= from && from <= b) free = false;
                if (b < from) left = std::max(left, b + char_w);
                if (a > from) right = std::min(right, a - char_w);
            }
            const double after = right - (from + 3), before = (from - 3) - left;
            if (row_h_ < l_.text_row || !free || std::max(after, before) < least) {
                unlabelled_.push_back({&j, w});
                continue;
            }
            const bool end_anchored = after < least;
            Placed p{end_anchored ? from - 3 : from + 3, fit(s, size_t((end_anchored ? before : after) / char_w)), end_anchored};
            double width = char_w * double(p.text.size());
            taken.emplace_back(end_anchored ? p.at - width : p.at, end_anchored ? p.at : p.at + width);
            placed_[w] = p;
        }
    }

    // The placed reasons of j's waits, in a white halo over the RSS.
    void reasons(const TimelineJob& j, double baseline) {
        for (const WaitSpan& w : j.waits)
            if (auto it = placed_.find(&w); it != placed_.end())
                text(it->second.at, baseline, it->second.text,
                     "class=\"reason\" font-size=\"" + num(font()) + "\" fill=\"#222\" stroke=\"#ffffff\" stroke-width=\"3\" "
                     "stroke-opacity=\"0.8\" paint-order=\"stroke\"" + (it->second.end_anchored ? " text-anchor=\"end\"" : ""));
    }

    // One row for the jobs without their own: how many of them ran at once.
    void others(double y0, double h, double font) {
        const double y1 = y0 + h, pad = h >= 8 ? 1.5 : 0;
        const std::vector<const TimelineJob*>& jobs = left_out_;
        uint64_t peak = 0;
        double job_s = 0;
        size_t waits = 0;
        for (const TimelineJob* j : jobs) {
            peak = std::max(peak, j->peak);
            job_s += j->end - j->start;
            waits += j->waits.size();
        }
        std::vector<Sample> at_once;
        uint64_t most = 0;
        for (const JobCount& c : job_counts(jobs)) {
            uint64_t n = c.running + c.stopped + c.held;
            at_once.push_back({c.t, n});
            most = std::max(most, n);
        }
        std::string why = o_.min_peak && o_.top ? "below " + human_bytes(o_.min_peak) + " or not among the " +
                                                      std::to_string(o_.top) + " highest peaks"
                          : o_.min_peak         ? "peak below " + human_bytes(o_.min_peak)
                                                : "not among the " + std::to_string(o_.top) + " highest peaks";
        out_ << "<g class=\"others\" data-jobs=\"" << jobs.size() << "\"><title>"
             << xml_escape(with_commas(jobs.size()) + " jobs without a row (" + why + "): peaks up to " +
                           human_bytes(peak) + ", " + num(job_s) + " job-s, " + std::to_string(waits) +
                           " stops and holds; the area is how many of them ran at once, at most " +
                           std::to_string(most))
             << "</title>\n";
        rect(0, y0, l_.width, y1, "fill=\"#eef0f3\"");
        auto d = steps(at_once, 0, span_, y1 - pad, h - 2 * pad, most, true);
        if (!d.empty()) out_ << "<path class=\"others-area\" d=\"" << d << "\" fill=\"#8a9bb0\"/>\n";
        double baseline = (y0 + y1) / 2 + font * 0.36;
        std::string f = "font-size=\"" + num(font) + "\" fill=\"#222\"";
        text(16, baseline, "+ " + with_commas(jobs.size()) + " more jobs", f + " font-style=\"italic\"");
        text(l_.plot_left - 10, baseline, "peaks ≤ " + human_bytes(peak), f + " text-anchor=\"end\"");
        if (h >= l_.text_row)
            text(l_.plot_right - 4, baseline,
                 why + " · up to " + std::to_string(most) + " at once · " + std::to_string(waits) + " stops and holds",
                 f + " text-anchor=\"end\" stroke=\"#ffffff\" stroke-width=\"3\" stroke-opacity=\"0.8\" paint-order=\"stroke\"");
        out_ << "</g>\n";
    }

    // The reasons no row could carry, below the time axis.
    void listed() {
        if (unlabelled_.empty()) return;
        std::stable_sort(unlabelled_.begin(), unlabelled_.end(),
                         [](const ListedWait& a, const ListedWait& b) { return a.wait->from < b.wait->from; });
        double y = list_top_ + 10;
        out_ << "<g class=\"waits-listed\" font-size=\"11\" fill=\"#333\">\n";
        text(16, y, "Waits without room for their reason in a row:", "font-weight=\"bold\"");
        for (size_t i = 0; i < unlabelled_.size() && i < l_.max_listed; i++) {
            const ListedWait& w = unlabelled_[i];
            y += kListLine;
            text(16, y,
                 seconds(w.wait->from) + " to " + seconds(w.wait->to) + "  " +
                     (w.wait->state == JobState::Held ? "held " : "stopped ") + job_label(*w.job) + ": " +
                     (w.wait->reason.empty() ? "(no reason recorded)" : w.wait->reason));
        }
        if (unlabelled_.size() > l_.max_listed)
            text(16, y + kListLine, "and " + with_commas(unlabelled_.size() - l_.max_listed) + " more (in the rows' tooltips)");
        out_ << "</g>\n";
    }

    void label(const TimelineJob& j, double baseline, double font) {
        std::string stats = human_bytes(j.peak) + "  " + seconds(j.end - j.start) + (j.ended ? "" : "+");
        double stats_w = 0.6 * font * double(stats.size());
        size_t chars = size_t(std::max(4.0, (l_.plot_left - 10 - 16 - stats_w - 12) / (0.6 * font)));
        std::string f = "font-size=\"" + num(font) + "\" fill=\"#222\"";
        text(16, baseline, fit(job_label(j), chars), f);
        text(l_.plot_left - 10, baseline, stats, f + " text-anchor=\"end\"");
    }

    static std::string job_title(const TimelineJob& j) {
        std::string s = "job " + std::to_string(j.id) + " (pid " + std::to_string(j.root_pid) + "): " +
                        (j.command.empty() ? j.name : j.command) + (j.package.empty() ? "" : "\npackage " + j.package) +
                        "\npeak " + human_bytes(j.peak) + ", " +
                        seconds(j.start) + " to " + seconds(j.end);
        for (const WaitSpan& w : j.waits)
            s += std::string("\n") + (w.state == JobState::Held ? "held " : "stopped ") + seconds(w.from) + " to " +
                 seconds(w.to) + (w.reason.empty() ? "" : ": " + w.reason);
        return s;
    }

    const Timeline& t_;
    const SvgOptions& o_;
    const SvgLayout& l_;
    double span_;
    std::vector<size_t> rows_;                  // indices of t_.jobs with a row, start order
    std::vector<const TimelineJob*> left_out_;  // the others
    struct Placed {
        double at;
        std::string text;
        bool end_anchored;
    };
    std::map<const WaitSpan*, Placed> placed_;  // reasons written in their rows
    std::vector<ListedWait> unlabelled_;        // waits whose reason goes in the list
    uint64_t row_scale_ = 0;                    // the RSS a full row stands for: the highest peak drawn
    size_t legend_lines_ = 1;
    double row_h_ = 0, panel_top_ = 0, lane_top_ = 0, rows_top_ = 0, rows_bottom_ = 0, list_top_ = 0, height_ = 0;
    std::ostringstream out_;
};

}  // namespace

std::string render_svg(const Timeline& t, const SvgOptions& opts, const SvgLayout& layout) {
    return Svg(t, opts, layout).render();
}

double SvgLayout::row_height(size_t rows) const {
    return rows ? std::clamp(std::floor(row_area / double(rows)), min_row, max_row) : max_row;
}

std::vector<Sample> smoothed_budget(const std::vector<Sample>& budget, double window) {
    // a sliding maximum: the samples in [t - window, t + window], the candidates for the highest in a deque
    std::vector<Sample> out;
    out.reserve(budget.size());
    std::deque<size_t> best;  // indices, budgets falling
    size_t next = 0;
    for (size_t i = 0, from = 0; i < budget.size(); i++) {
        for (; next < budget.size() && budget[next].t <= budget[i].t + window; next++) {
            while (!best.empty() && budget[best.back()].bytes <= budget[next].bytes) best.pop_back();
            best.push_back(next);
        }
        while (budget[from].t < budget[i].t - window) from++;
        while (best.front() < from) best.pop_front();
        out.push_back({budget[i].t, budget[best.front()].bytes});
    }
    return out;
}

std::string short_reason(const std::string& reason) {
    size_t cut = reason.find("; ");
    return cut == std::string::npos ? reason : reason.substr(0, cut);
}

double SvgLayout::x(double t, double span) const {
    return plot_left + (plot_right - plot_left) * (span > 0 ? t / span : 0);
}

std::string xml_escape(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (char c : valid_utf8(text)) {  // a comm cut inside a character would make the XML ill-formed
        switch (c) {
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '&': out += "&amp;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&apos;"; break;
        default:
            // control characters are not allowed in XML 1.0
            out += (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') ? ' ' : c;
        }
    }
    return out;
}

std::string job_label(const TimelineJob& j) {
    std::string label = swamp::job_label(j.name, j.command);
    if (j.package.empty()) return label;
    size_t slash = j.package.find('/');  // the row names the package without its category
    return label + " (" + j.package.substr(slash + 1) + ")";
}

}  // namespace swamp
