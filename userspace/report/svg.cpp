#include "report/svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
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
constexpr const char* kGrid = "#e4e4e4";
constexpr const char* kFont = "DejaVu Sans, Liberation Sans, Arial, sans-serif";

constexpr double kTitleTop = 28, kPanelTop = 96, kPanelHeight = 150, kRowsGap = 34, kBottom = 46;

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

class Svg {
public:
    Svg(const Timeline& t, const SvgLayout& l)
        : t_(t), l_(l), span_(std::max(t.end, 1e-3)), row_h_(l.row_height(t.jobs.size())),
          rows_top_(kPanelTop + kPanelHeight + kRowsGap),
          rows_bottom_(rows_top_ + (t.jobs.empty() ? l.max_row : row_h_ * double(t.jobs.size()))),
          height_(rows_bottom_ + kBottom) {}

    std::string render() {
        o_ << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << num(l_.width) << "\" height=\"" << num(height_)
           << "\" viewBox=\"0 0 " << num(l_.width) << ' ' << num(height_) << "\" font-family=\"" << kFont << "\">\n";
        o_ << "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
        title();
        legend();
        grid();
        panel();
        rows();
        o_ << "</svg>\n";
        return o_.str();
    }

private:
    double x(double t) const { return l_.x(t, span_); }

    void text(double x, double y, const std::string& s, const std::string& attrs = "") {
        o_ << "<text x=\"" << num(x) << "\" y=\"" << num(y) << "\"" << (attrs.empty() ? "" : " ") << attrs << '>'
           << xml_escape(s) << "</text>\n";
    }

    void rect(double x0, double y0, double x1, double y1, const std::string& attrs) {
        o_ << "<rect x=\"" << num(x0) << "\" y=\"" << num(y0) << "\" width=\"" << num(std::max(x1 - x0, 0.5))
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
        std::string sub = std::to_string(t_.jobs.size()) + (t_.jobs.size() == 1 ? " job" : " jobs") +
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
        auto entry = [&](const std::string& swatch, const std::string& label) {
            o_ << "<g class=\"legend\">" << swatch;
            text(lx + 22, ly + 10, label, "font-size=\"12\" fill=\"#333\"");
            o_ << "</g>\n";
            lx += 22 + 7.0 * double(label.size()) + 18;
        };
        auto box = [&](const char* fill) {
            return "<rect x=\"" + num(lx) + "\" y=\"" + num(ly) + "\" width=\"16\" height=\"12\" fill=\"" + fill + "\"/>";
        };
        entry(box(kRss), "job RSS (scaled to the job's peak)");
        entry(box(kStopped), "stopped");
        entry(box(kHeld), "held at exec");
        entry(box(kTotal), "total RSS");
        entry("<line x1=\"" + num(lx) + "\" y1=\"" + num(ly + 6) + "\" x2=\"" + num(lx + 16) + "\" y2=\"" +
                  num(ly + 6) + "\" stroke=\"" + kBudget + "\" stroke-width=\"2\" stroke-dasharray=\"5,3\"/>",
              "memory budget");
        entry(cross(lx + 8, ly + 6, 5), "killed (SIGKILL)");
    }

    static std::string cross(double cx, double cy, double r) {
        return "<path class=\"killed\" d=\"M" + num(cx - r) + ',' + num(cy - r) + " L" + num(cx + r) + ',' +
               num(cy + r) + " M" + num(cx - r) + ',' + num(cy + r) + " L" + num(cx + r) + ',' + num(cy - r) +
               "\" stroke=\"" + kKilled + "\" stroke-width=\"2.5\"/>";
    }

    void grid() {
        double step = nice_step(span_, 10);
        o_ << "<g class=\"time-axis\" font-size=\"11\" fill=\"#555\" text-anchor=\"middle\">\n";
        for (int i = 0; i * step <= span_ * (1 + 1e-9); i++) {
            double px = x(i * step);
            o_ << "<line x1=\"" << num(px) << "\" y1=\"" << num(kPanelTop) << "\" x2=\"" << num(px) << "\" y2=\""
               << num(rows_bottom_) << "\" stroke=\"" << kGrid << "\"/>\n";
            std::string label = num(i * step) + (i == 0 ? " s" : "");
            text(px, kPanelTop + kPanelHeight + 16, label);
            text(px, rows_bottom_ + 16, label);
        }
        text((l_.plot_left + l_.plot_right) / 2, rows_bottom_ + 34, "time since the build started (s)",
             "font-size=\"12\"");
        o_ << "</g>\n";
    }

    void panel() {
        const double top = kPanelTop, base = kPanelTop + kPanelHeight;
        uint64_t max = 0;
        for (const Sample& s : t_.total_rss) max = std::max(max, s.bytes);
        for (const Sample& s : t_.budget) max = std::max(max, s.bytes);
        // the y axis in MiB, or in GiB from 2 GiB on
        const bool gib = max >= (2ull << 30);
        const double unit = gib ? double(1 << 30) : double(1 << 20);
        const double step = nice_step(std::max(double(max) / unit, 1.0) * 1.05, 4);
        const double top_units = std::ceil(std::max(double(max) / unit, 1.0) * 1.05 / step) * step;
        const uint64_t axis_max = uint64_t(top_units * unit);
        o_ << "<g class=\"panel\">\n";
        text(16, top + 14, "Build total", "font-size=\"13\" font-weight=\"bold\" fill=\"#333\"");
        text(16, top + 30, "RSS of every process", "font-size=\"11\" fill=\"#555\"");
        text(16, top + 44,
             t_.budget.empty() ? "no memory lines: budget unknown" : "budget = total RSS + headroom",
             "font-size=\"11\" fill=\"#555\"");
        for (int i = 0; i * step <= top_units + 1e-9; i++) {
            double py = base - kPanelHeight * (i * step / top_units);
            o_ << "<line x1=\"" << num(l_.plot_left) << "\" y1=\"" << num(py) << "\" x2=\"" << num(l_.plot_right)
               << "\" y2=\"" << num(py) << "\" stroke=\"" << kGrid << "\"/>\n";
            text(l_.plot_left - 6, py + 4, num(i * step) + (gib ? "G" : "M"),
                 "font-size=\"11\" fill=\"#555\" text-anchor=\"end\"");
        }
        auto d = steps(t_.total_rss, 0, span_, base, kPanelHeight, axis_max, true);
        if (!d.empty()) o_ << "<path class=\"total\" d=\"" << d << "\" fill=\"" << kTotal << "\" stroke=\"" << kRss << "\" stroke-width=\"1\"/>\n";
        if (!t_.budget.empty()) {
            auto b = steps(t_.budget, t_.budget.front().t, span_, base, kPanelHeight, axis_max, false);
            o_ << "<path class=\"budget\" d=\"" << b << "\" fill=\"none\" stroke=\"" << kBudget
               << "\" stroke-width=\"2\" stroke-dasharray=\"6,3\"/>\n";
        }
        for (double k : t_.killed_outside_jobs) {
            o_ << cross(x(k), top + 10, 6) << '\n';
            text(x(k) + 9, top + 14, "killed (SIGKILL)", "font-size=\"11\" font-weight=\"bold\" fill=\"#111\"");
        }
        rect(l_.plot_left, top, l_.plot_right, base, "fill=\"none\" stroke=\"#999\"");
        o_ << "</g>\n";
    }

    void rows() {
        if (t_.jobs.empty()) {
            text((l_.plot_left + l_.plot_right) / 2, rows_top_ + 17, "no jobs in this trace",
                 "class=\"no-jobs\" font-size=\"13\" fill=\"#555\" text-anchor=\"middle\"");
            return;
        }
        const double h = row_h_;
        const double pad = h >= 8 ? 1.5 : 0;
        const double font = std::clamp(h - 4, 8.0, 12.0);
        double label_free_at = 0;  // y below which the next label may go
        for (size_t i = 0; i < t_.jobs.size(); i++) {
            const TimelineJob& j = t_.jobs[i];
            const double y0 = rows_top_ + h * double(i), y1 = y0 + h;
            const double top = y0 + pad, base = y1 - pad;
            o_ << "<g class=\"job\" data-job=\"" << j.id << "\"><title>" << xml_escape(job_title(j)) << "</title>\n";
            if (h >= 6 && i % 2) rect(0, y0, l_.width, y1, "fill=\"#f6f6f6\"");
            rect(x(j.start), top, x(j.end), base, std::string("class=\"bar\" fill=\"") + kBar + '"');
            auto d = steps(j.rss, j.start, j.end, base, base - top, j.peak, true);
            if (!d.empty()) o_ << "<path class=\"rss\" d=\"" << d << "\" fill=\"" << kRss << "\"/>\n";
            for (const WaitSpan& w : j.waits) {
                const char* colour = w.state == JobState::Held ? kHeld : kStopped;
                const char* cls = w.state == JobState::Held ? "held" : "stopped";
                // translucent over the RSS, with a solid band along the top
                rect(x(w.from), top, x(w.to), base,
                     std::string("class=\"") + cls + "\" fill=\"" + colour + "\" fill-opacity=\"0.55\"");
                rect(x(w.from), top, x(w.to), top + std::max(1.0, (base - top) / 4), std::string("fill=\"") + colour + '"');
            }
            for (double k : j.killed) {
                o_ << cross(x(k), (y0 + y1) / 2, std::clamp(h / 2 - 1, 4.0, 6.0)) << '\n';  // may reach into thin neighbours
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
            o_ << "</g>\n";
        }
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
    const SvgLayout& l_;
    double span_, row_h_, rows_top_, rows_bottom_, height_;
    std::ostringstream o_;
};

}  // namespace

std::string render_svg(const Timeline& t, const SvgLayout& layout) { return Svg(t, layout).render(); }

double SvgLayout::row_height(size_t jobs) const {
    return jobs ? std::clamp(std::floor(row_area / double(jobs)), min_row, max_row) : max_row;
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
