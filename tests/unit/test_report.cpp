// `swamp-bpf report`: a trace read into a Timeline (jobs by the build model,
// waits from the decisions, budget from the memory lines) and drawn as SVG.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>

#include "cli_util.hpp"
#include "policy_harness.hpp"
#include "report/svg.hpp"
#include "report/timeline.hpp"
#include "test_util.hpp"
#include "source/event_json.hpp"
#include "trace/printer.hpp"
#include "util/error.hpp"

using namespace swamp;
using namespace swamp::test;
using nlohmann::json;

namespace {

constexpr uint64_t kT0 = 5'000'000'000;  // the trace's origin on the kernel clock
constexpr uint64_t MiB = 1 << 20;

uint64_t at(double s) { return kT0 + uint64_t(s * 1e9); }

// A trace in JSON lines, written the way --record writes it (without "raw").
struct TraceText {
    std::string text;
    explicit TraceText(uint32_t root = 100) {
        add({{"v", 1}, {"event", "start"}, {"ts_ns", kT0}, {"root_pid", root}});
        event(ExecEvent{at(0), root, 1, "make", "/usr/bin/make", {"make", "-j4"}, false}, "make");
    }
    void add(const json& j) { text += j.dump() + "\n"; }
    void event(const Event& e, const std::string& comm = "") { add(event_to_json(e, kT0, comm)); }
    // make (pid 100) starts a job: fork, then exec of argv
    void job(double s, uint32_t pid, const std::vector<std::string>& argv) {
        event(ForkEvent{at(s), pid, pid, 100, "make", false}, "make");
        event(ExecEvent{at(s), pid, 100, argv[0], "/usr/bin/" + argv[0], argv, false}, argv[0]);
    }
    void rss(double s, uint32_t pid, uint64_t bytes) { event(RssEvent{at(s), pid, bytes, bytes, 0, 0, 0, bytes}); }
    void exit(double s, uint32_t pid, uint32_t wait_status = 0, uint32_t ppid = 100) {
        event(ExitEvent{at(s), pid, ppid, "", wait_status, 0, 0, 0});
    }
    void memory(double s, int64_t headroom) {
        add({{"v", 1}, {"event", "memory"}, {"ts_ns", at(s)}, {"headroom", headroom}, {"scale", 1ull << 30},
             {"psi_full_avg10", 0.0}});
    }
    void decision(double s, const std::string& action, uint64_t job, uint32_t pid) {
        add({{"v", 1}, {"event", "decision"}, {"ts_ns", at(s)}, {"action", action}, {"job", job}, {"pid", pid},
             {"comm", "x"}, {"rss", 0}, {"headroom", 0}, {"reason", "test"}});
    }
};

Timeline read(const std::string& text, const std::string& name = "t.jsonl") {
    std::istringstream in(text);
    return read_timeline(in, name);
}

size_t count(const std::string& s, const std::string& part) {
    size_t n = 0;
    for (size_t i = s.find(part); i != std::string::npos; i = s.find(part, i + 1)) n++;
    return n;
}

// x and width of every <rect> of `cls` in `svg`
std::vector<std::pair<double, double>> rects(const std::string& svg, const std::string& cls) {
    std::regex re("<rect x=\"([-0-9.]+)\" y=\"[-0-9.]+\" width=\"([-0-9.]+)\" height=\"[-0-9.]+\" class=\"" + cls + "\"");
    std::vector<std::pair<double, double>> out;
    for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator(); ++it)
        out.emplace_back(std::stod((*it)[1]), std::stod((*it)[2]));
    return out;
}

// Every '<' opens a tag and every '&' an entity: no raw text broke out.
void expect_well_escaped(const std::string& svg) {
    for (size_t i = 0; i < svg.size(); i++) {
        if (svg[i] == '<') {
            ASSERT_LT(i + 1, svg.size());
            char c = svg[i + 1];
            EXPECT_TRUE(std::isalpha(static_cast<unsigned char>(c)) || c == '/') << "at " << svg.substr(i, 30);
        } else if (svg[i] == '&') {
            static const std::regex entity("&(lt|gt|amp|quot|apos);");
            EXPECT_TRUE(std::regex_search(svg.substr(i, 6), entity, std::regex_constants::match_continuous))
                << "at " << svg.substr(i, 30);
        }
    }
}

// Three jobs that start in the reverse order of their pids; `meanwhile` adds
// lines after 0.8 s, while all three run.
TraceText three_jobs(const std::function<void(TraceText&)>& meanwhile = {}) {
    TraceText tr;
    tr.job(0.1, 203, {"gcc", "-c", "a.c", "-o", "a.o"});
    tr.rss(0.2, 203, 100 * MiB);
    tr.job(0.3, 202, {"gcc", "-c", "b.c", "-o", "b.o"});
    tr.rss(0.4, 202, 50 * MiB);
    tr.job(0.5, 201, {"ld", "-o", "app", "a.o", "b.o"});
    tr.rss(0.6, 201, 300 * MiB);
    tr.rss(0.8, 203, 150 * MiB);
    if (meanwhile) meanwhile(tr);
    tr.exit(1.0, 203);
    tr.exit(2.0, 202);
    tr.exit(4.0, 201);
    tr.exit(4.1, 100, 0, 1);
    return tr;
}

// Decisions for three_jobs(): a.o (job 1) stopped 0.5-0.7 s, app (job 3) held 0.5-1.5 s.
void stop_a_hold_app(TraceText& tr) {
    tr.decision(0.5, "stop", 1, 203);
    tr.decision(0.7, "resume", 1, 203);
    tr.decision(0.5, "hold", 3, 201);
    tr.decision(1.5, "resume", 3, 201);
}

}  // namespace

TEST(Report, OneRowPerJobByStartTime) {
    Timeline t = read(three_jobs().text);
    ASSERT_EQ(t.jobs.size(), 3u);
    EXPECT_EQ(job_label(t.jobs[0]), "gcc a.o");
    EXPECT_EQ(job_label(t.jobs[1]), "gcc b.o");
    EXPECT_EQ(job_label(t.jobs[2]), "ld app");
    EXPECT_NEAR(t.jobs[0].start, 0.1, 1e-9);
    EXPECT_NEAR(t.jobs[0].end, 1.0, 1e-9);
    EXPECT_EQ(t.jobs[0].peak, 150 * MiB);
    EXPECT_TRUE(t.jobs[2].ended);
    EXPECT_NEAR(t.end, 4.1, 1e-6);
    // the job's RSS as steps, back to 0 when it ends
    ASSERT_GE(t.jobs[0].rss.size(), 3u);
    EXPECT_EQ(t.jobs[0].rss.back().bytes, 0u);
    // the total counts every process: at 0.6 s 100 + 50 + 300 MiB
    uint64_t peak = 0;
    for (const Sample& s : t.total_rss) peak = std::max(peak, s.bytes);
    EXPECT_EQ(peak, 500 * MiB);

    std::string svg = render_svg(t);
    EXPECT_EQ(count(svg, "<g class=\"job\""), 3u);
    EXPECT_LT(svg.find("gcc a.o"), svg.find("gcc b.o"));
    EXPECT_LT(svg.find("gcc b.o"), svg.find("ld app"));
    EXPECT_TRUE(contains(svg, "wall time 4.10 s"));
    EXPECT_TRUE(contains(svg, "150.0M"));  // the first job's peak in its label
    EXPECT_EQ(svg.rfind("</svg>\n"), svg.size() - 7);
    expect_well_escaped(svg);
}

TEST(Report, StopAndHoldSpansWhereTheDecisionsPutThem) {
    // job ids follow the tree: 1 = pid 203, 2 = pid 202, 3 = pid 201
    Timeline t = read(three_jobs([](TraceText& tr) {
                          stop_a_hold_app(tr);
                          tr.decision(1.2, "stop", 2, 202);  // never resumed: stopped until it ends at 2.0
                      }).text);
    EXPECT_EQ(t.decisions, 5u);
    EXPECT_EQ(t.decisions_by_pid, 0u);
    EXPECT_EQ(t.decisions_unmatched, 0u);
    ASSERT_EQ(t.jobs[0].waits.size(), 1u);
    EXPECT_EQ(t.jobs[0].waits[0].state, JobState::Stopped);
    EXPECT_NEAR(t.jobs[0].waits[0].from, 0.5, 1e-9);
    EXPECT_NEAR(t.jobs[0].waits[0].to, 0.7, 1e-9);
    ASSERT_EQ(t.jobs[1].waits.size(), 1u);
    EXPECT_NEAR(t.jobs[1].waits[0].to, 2.0, 1e-9);
    ASSERT_EQ(t.jobs[2].waits.size(), 1u);
    EXPECT_EQ(t.jobs[2].waits[0].state, JobState::Held);
    EXPECT_NEAR(t.jobs[2].waits[0].to, 1.5, 1e-9);

    SvgLayout l;
    std::string svg = render_svg(t, {}, l);
    auto stopped = rects(svg, "stopped");
    ASSERT_EQ(stopped.size(), 2u);
    EXPECT_NEAR(stopped[0].first, l.x(0.5, t.end), 0.11);
    EXPECT_NEAR(stopped[0].second, l.x(0.7, t.end) - l.x(0.5, t.end), 0.11);
    EXPECT_NEAR(stopped[1].first, l.x(1.2, t.end), 0.11);
    EXPECT_NEAR(stopped[1].second, l.x(2.0, t.end) - l.x(1.2, t.end), 0.11);
    auto held = rects(svg, "held");
    ASSERT_EQ(held.size(), 1u);
    EXPECT_NEAR(held[0].first, l.x(0.5, t.end), 0.11);
    // the stopped span is inside the row of job 1 (the first <g class="job">)
    size_t row1 = svg.find("<g class=\"job\" data-job=\"1\""), row2 = svg.find("<g class=\"job\" data-job=\"2\"");
    size_t span = svg.find("class=\"stopped\"");
    EXPECT_LT(row1, span);
    EXPECT_LT(span, row2);
}

TEST(Report, DecisionsMatchTheJobByRootPidWhenIdsDiffer) {
    Timeline t = read(three_jobs([](TraceText& tr) {
                          tr.decision(0.5, "stop", 7, 202);  // a controller that numbered jobs differently
                          tr.decision(0.6, "stop", 9, 999);  // no such job
                      }).text);
    EXPECT_EQ(t.decisions_by_pid, 1u);
    EXPECT_EQ(t.decisions_unmatched, 1u);
    ASSERT_EQ(t.jobs[1].waits.size(), 1u);
    EXPECT_TRUE(contains(render_svg(t), "1 decisions name no job of the trace"));
}

TEST(Report, BudgetIsTotalRssPlusHeadroom) {
    TraceText tr = three_jobs();
    std::string no_memory = render_svg(read(tr.text));
    EXPECT_FALSE(contains(no_memory, "class=\"budget\""));
    EXPECT_TRUE(contains(no_memory, "budget unknown"));

    TraceText with;
    with.job(0.1, 201, {"cc1", "x.c"});
    with.rss(0.2, 201, 200 * MiB);
    with.memory(0.3, int64_t(800 * MiB));
    with.rss(0.4, 201, 400 * MiB);
    with.memory(0.5, int64_t(500 * MiB));  // something outside the build took 100M
    with.memory(0.6, -int64_t(500 * MiB));  // over: more than the whole budget, clamped at 0
    with.exit(1.0, 201);
    Timeline t = read(with.text);
    ASSERT_EQ(t.budget.size(), 3u);
    EXPECT_EQ(t.budget[0].bytes, 1000 * MiB);
    EXPECT_EQ(t.budget[1].bytes, 900 * MiB);
    EXPECT_EQ(t.budget[2].bytes, 0u);
    EXPECT_NEAR(t.budget[1].t, 0.5, 1e-9);
    std::string svg = render_svg(t);
    EXPECT_EQ(count(svg, "class=\"budget\""), 1u);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(svg, m, std::regex("class=\"budget\" d=\"M([0-9.]+),")));
    EXPECT_NEAR(std::stod(m[1]), SvgLayout{}.x(0.3, t.end), 0.11);  // starts at the first memory line
}

TEST(Report, SigkillMarked) {
    TraceText tr;
    tr.job(0.1, 201, {"cc1plus", "big.cc"});
    tr.rss(0.5, 201, 900 * MiB);
    tr.exit(1.0, 201, 9);  // the OOM killer's SIGKILL
    tr.job(1.1, 202, {"cc1plus", "small.cc"});
    tr.exit(1.5, 202, 1 << 8);  // exit code 1: not killed
    tr.exit(2.0, 100, 9, 1);    // make itself
    Timeline t = read(tr.text);
    ASSERT_EQ(t.jobs.size(), 2u);
    ASSERT_EQ(t.jobs[0].killed.size(), 1u);
    EXPECT_NEAR(t.jobs[0].killed[0], 1.0, 1e-9);
    EXPECT_TRUE(t.jobs[1].killed.empty());
    ASSERT_EQ(t.killed_outside_jobs.size(), 1u);
    std::string svg = render_svg(t);
    EXPECT_EQ(count(svg, "killed (SIGKILL)"), 4u);  // legend, subtitle, job row, panel (make)
    EXPECT_TRUE(contains(svg, "2 killed (SIGKILL)"));
    size_t row = svg.find("data-job=\"1\""), marker = svg.find("class=\"killed\"", row);
    EXPECT_LT(marker, svg.find("data-job=\"2\""));
}

TEST(Report, CommandsAreEscaped) {
    TraceText tr;
    tr.job(0.1, 201, {"sh", "-c", "gen <in.txt >\"out&1.h\" 'x'"});
    tr.exit(0.5, 201);
    Timeline t = read(tr.text, "a<b&\"c\".jsonl");
    std::string svg = render_svg(t);
    EXPECT_FALSE(contains(svg, "<in.txt"));
    EXPECT_FALSE(contains(svg, "out&1"));
    EXPECT_TRUE(contains(svg, "&lt;in.txt &gt;&quot;out&amp;1.h&quot; &apos;x&apos;"));  // in the row's <title>
    EXPECT_TRUE(contains(svg, "a&lt;b&amp;&quot;c&quot;.jsonl"));
    expect_well_escaped(svg);
}

TEST(Report, TraceWithoutJobs) {
    TraceText tr;
    tr.exit(0.5, 100, 0, 1);
    for (const std::string& text : {tr.text, std::string()}) {
        Timeline t = read(text);
        EXPECT_TRUE(t.jobs.empty());
        std::string svg = render_svg(t);
        EXPECT_TRUE(contains(svg, "no jobs in this trace"));
        EXPECT_EQ(count(svg, "<g class=\"job\""), 0u);
        EXPECT_TRUE(contains(svg, "0 jobs"));
        expect_well_escaped(svg);
    }
}

TEST(Report, BadTraceNamesTheLine) {
    std::string good = three_jobs().text;
    auto error_of = [](const std::string& text) -> std::string {
        try {
            read(text, "build.jsonl");
        } catch (const UserError& e) {
            return e.what();
        }
        return "no error";
    };
    size_t lines = count(good, "\n");
    // cut inside the last line, as a killed recorder leaves it
    std::string cut = good.substr(0, good.size() - 20);
    EXPECT_TRUE(contains(error_of(cut), "build.jsonl:" + std::to_string(lines) + ": not a JSON object")) << error_of(cut);
    EXPECT_TRUE(contains(error_of("\n\x89PNG garbage\n"), "build.jsonl:2:"));
    EXPECT_TRUE(contains(error_of(good + "{\"event\":\"decision\",\"action\":\"stop\",\"ts_ns\":1}\n"),
                         "build.jsonl:" + std::to_string(lines + 1) + ": no \"job\""));
    EXPECT_TRUE(contains(error_of(good + "{\"event\":\"memory\",\"ts_ns\":1,\"headroom\":\"lots\"}\n"),
                         "\"headroom\" is not a whole number"));
}

TEST(Report, ManyJobsStayReadable) {
    TraceText tr;
    for (uint32_t i = 0; i < 500; i++) {
        tr.job(i * 0.01, 1000 + i, {"cc1", "file" + std::to_string(i) + ".c"});
        tr.rss(i * 0.01 + 0.005, 1000 + i, (1 + i % 7) * 10 * MiB);
    }
    for (uint32_t i = 0; i < 500; i++) tr.exit(5 + i * 0.01, 1000 + i);
    Timeline t = read(tr.text);
    ASSERT_EQ(t.jobs.size(), 500u);
    SvgLayout l;
    EXPECT_GE(l.row_height(500), l.min_row);
    EXPECT_EQ(l.row_height(1), l.max_row);
    std::string svg = render_svg(t, {.top = 0}, l);
    EXPECT_EQ(count(svg, "<g class=\"job\""), 500u);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(svg, m, std::regex("height=\"([0-9.]+)\" viewBox")));
    EXPECT_LT(std::stod(m[1]), 1500);
    // labels that would overlap are left out: fewer labels than rows, still some
    size_t labels = count(svg, "font-size=\"8\" fill=\"#222\">cc1 file");
    EXPECT_GT(labels, 30u);
    EXPECT_LT(labels, 200u);
}

TEST(Report, JobLabels) {
    auto label = [](const std::string& name, const std::string& command) {
        TimelineJob j;
        j.name = name;
        j.command = command;
        return job_label(j);
    };
    EXPECT_EQ(label("cc1plus", "/usr/lib/gcc/cc1plus -quiet src/x.cpp -O2 -o /tmp/ccA.s"), "cc1plus ccA.s");
    EXPECT_EQ(label("gcc", "gcc -c -O2 src/a.c -oobj/a.o"), "gcc a.o");
    EXPECT_EQ(label("ld", "ld"), "ld");
    EXPECT_EQ(label("python3", "python3 gen.py --fast"), "python3 gen.py");
    EXPECT_EQ(label("make", ""), "make");
    TimelineJob j;
    j.name = "g++";
    j.command = "g++ -c x.cpp -o x.o";
    j.package = "dev-qt/qtwebengine-6.7.2";
    EXPECT_EQ(job_label(j), "g++ x.o (qtwebengine-6.7.2)");
}

// Every row on one scale: a full row is the highest peak drawn, so a 48M job
// is 48/992 of the 992M one's height.
TEST(Report, RowsShareOneScale) {
    TraceText tr;
    tr.job(0.1, 201, {"cc1", "-o", "small.o"});
    tr.rss(0.2, 201, 48 * MiB);
    tr.job(0.1, 202, {"cc1", "-o", "big.o"});
    tr.rss(0.2, 202, 992 * MiB);
    tr.exit(1.0, 201);
    tr.exit(1.0, 202);
    std::string svg = render_svg(read(tr.text));
    EXPECT_TRUE(contains(svg, "a full row is 992.0M"));
    // the height of each job's RSS area: its highest point above its row's base
    std::regex area("class=\"rss\" d=\"M[0-9.]+,([0-9.]+)((?: L[0-9.]+,[0-9.]+)+)");
    std::vector<double> heights;
    for (auto it = std::sregex_iterator(svg.begin(), svg.end(), area); it != std::sregex_iterator(); ++it) {
        double base = std::stod((*it)[1]), top = base;
        std::string pts = (*it)[2];
        std::regex y(",([0-9.]+)");
        for (auto p = std::sregex_iterator(pts.begin(), pts.end(), y); p != std::sregex_iterator(); ++p)
            top = std::min(top, std::stod((*p)[1]));
        heights.push_back(base - top);
    }
    ASSERT_EQ(heights.size(), 2u);
    EXPECT_NEAR(heights[0] / heights[1], 48.0 / 992, 0.01);
    EXPECT_NEAR(heights[1], SvgLayout{}.max_row - 3, 0.2);  // the big one fills its row (less the padding)
}

// The jobs lane: running and waiting counts over time, against the CPUs.
TEST(Report, JobsLaneCountsRunningAndWaiting) {
    Timeline t = read(three_jobs(stop_a_hold_app).text);
    auto at = [&](double s) {
        JobCount last;
        for (const JobCount& c : job_counts(t))
            if (c.t <= s) last = c;
        return last;
    };
    EXPECT_EQ(at(0.05).running, 0u);
    EXPECT_EQ(at(0.35).running, 2u);
    JobCount waiting = at(0.6);  // a.o stopped, app held, b.o running
    EXPECT_EQ(waiting.running, 1u);
    EXPECT_EQ(waiting.stopped, 1u);
    EXPECT_EQ(waiting.held, 1u);
    EXPECT_EQ(at(0.8).running, 2u);
    EXPECT_EQ(at(0.8).stopped, 0u);
    EXPECT_EQ(at(1.2).running, 1u);  // a.o ended at 1.0; app held until 1.5
    EXPECT_EQ(at(1.6).running, 2u);
    EXPECT_EQ(at(4.05).running, 0u);

    std::string unknown = render_svg(t);
    EXPECT_TRUE(contains(unknown, "CPUs unknown: report --cpus N draws them"));
    EXPECT_FALSE(contains(unknown, "class=\"cpus\""));
    EXPECT_TRUE(contains(unknown, "at most 3 at once"));
    // with 2 CPUs: busy min(running, 2) of 2 CPUs over 4.1 s; idle while jobs waited 0.5-0.7 s
    // (1 running, 2 waiting: 1 CPU idle) and 1.0-1.5 s (1 running, app held: 1 CPU idle)
    std::string svg = render_svg(t, {.cpus = 2});
    EXPECT_EQ(count(svg, "class=\"cpus\""), 1u);
    EXPECT_TRUE(contains(svg, "CPUs idle while jobs waited: 0.7 CPU-s")) << svg.substr(svg.find("class=\"idle\""), 120);
    // running: 0.1-0.3 one, 0.3-0.5 two, 0.5-0.7 one, 0.7-1.0 two, 1.0-1.5 one, 1.5-2.0 two, 2.0-4.0 one
    double busy = 0.2 + 2 * 0.2 + 0.2 + 2 * 0.3 + 0.5 + 2 * 0.5 + 2.0;
    char expect[64];
    snprintf(expect, sizeof expect, "jobs ran on %.1f%% of 2 CPUs", 100 * busy / (2 * 4.1));
    EXPECT_TRUE(contains(svg, expect)) << expect;
}

// A stop's reason is written in its row (the part before "; "), not only in the tooltip.
TEST(Report, ReasonsWrittenInTheRows) {
    TraceText tr = three_jobs([](TraceText& tr) {
        tr.add({{"v", 1}, {"event", "decision"}, {"ts_ns", at(0.5)}, {"action", "stop"}, {"job", 1}, {"pid", 203},
                {"comm", "gcc"}, {"rss", 0}, {"headroom", 0},
                {"reason", "projected headroom 46M in 2s is below the low mark 64M; gcc grows 43M/s at 48M"}});
        tr.decision(0.7, "resume", 1, 203);
        tr.decision(0.8, "hold", 3, 201);
        tr.decision(1.5, "resume", 3, 201);
        // the policy's hold reasons begin "held at exec: …": not "held: held at exec: …"
        tr.add({{"v", 1}, {"event", "decision"}, {"ts_ns", at(1.6)}, {"action", "hold"}, {"job", 2}, {"pid", 202},
                {"comm", "gcc"}, {"rss", 0}, {"headroom", 0}, {"reason", "held at exec: the CPUs are busy"}});
        tr.decision(1.7, "resume", 2, 202);
    });
    std::string svg = render_svg(read(tr.text));
    EXPECT_TRUE(contains(svg, "class=\"reason\""));
    EXPECT_TRUE(contains(svg, ">stopped: projected headroom 46M in 2s is below the low mark 64M</text>"));
    EXPECT_TRUE(contains(svg, ">held: test</text>"));
    EXPECT_TRUE(contains(svg, ">held at exec: the CPUs are busy</text>"));
    // the whole reason stays in the tooltip
    EXPECT_TRUE(contains(svg, "gcc grows 43M/s at 48M"));
    EXPECT_FALSE(contains(svg, "Waits without room"));
    EXPECT_EQ(short_reason("a; b; c"), "a");
    EXPECT_EQ(short_reason("no details"), "no details");

    // rows too thin for text: the reasons are listed below the rows
    SvgLayout thin;
    thin.row_area = 3 * 6;
    std::string listed = render_svg(read(tr.text), {}, thin);
    EXPECT_FALSE(contains(listed, "class=\"reason\""));
    EXPECT_TRUE(contains(listed, "Waits without room for their reason in a row:"));
    EXPECT_TRUE(contains(listed, "0.50 s to 0.70 s  stopped gcc a.o: projected headroom 46M"));
    EXPECT_TRUE(contains(listed, "0.80 s to 1.50 s  held ld app: test"));
    expect_well_escaped(listed);
}

// Two waits of one row whose texts would overlap: the longer wait's reason is
// written in the row, the shorter one's listed below.
TEST(Report, LongerWaitsKeepTheirReasonInTheRow) {
    auto decision = [](TraceText& tr, double s, const std::string& action, const std::string& reason) {
        tr.add({{"v", 1}, {"event", "decision"}, {"ts_ns", at(s)}, {"action", action}, {"job", 1}, {"pid", 203},
                {"comm", "gcc"}, {"rss", 0}, {"headroom", 0}, {"reason", reason}});
    };
    std::string svg = render_svg(read(three_jobs([&](TraceText& tr) {
                                          decision(tr, 0.40, "stop", "short one");
                                          decision(tr, 0.42, "resume", "");
                                          decision(tr, 0.45, "stop", "long one");
                                          decision(tr, 0.95, "resume", "");
                                      }).text));
    EXPECT_TRUE(contains(svg, ">stopped: long one</text>"));
    EXPECT_FALSE(contains(svg, ">stopped: short one</text>"));
    EXPECT_TRUE(contains(svg, "0.40 s to 0.42 s  stopped gcc a.o: short one"));
}

TEST(Report, TopAndMinPeakChooseTheRows) {
    Timeline t = read(three_jobs().text);  // peaks: a.o 150M, b.o 50M, app 300M
    EXPECT_EQ(rows_to_draw(t, 0, 0), (std::vector<size_t>{0, 1, 2}));
    EXPECT_EQ(rows_to_draw(t, 2, 0), (std::vector<size_t>{0, 2}));  // the two highest, in start order
    EXPECT_EQ(rows_to_draw(t, 0, 100 * MiB), (std::vector<size_t>{0, 2}));
    EXPECT_EQ(rows_to_draw(t, 1, 100 * MiB), (std::vector<size_t>{2}));
    EXPECT_TRUE(rows_to_draw(t, 0, 1ull << 40).empty());

    std::string all = render_svg(t);
    EXPECT_FALSE(contains(all, "class=\"others\""));
    std::string top = render_svg(t, {.top = 1});
    EXPECT_EQ(count(top, "<g class=\"job\""), 1u);
    EXPECT_TRUE(contains(top, "<g class=\"others\" data-jobs=\"2\""));
    EXPECT_TRUE(contains(top, "+ 2 more jobs"));
    EXPECT_TRUE(contains(top, "peaks ≤ 150.0M"));
    EXPECT_TRUE(contains(top, "not among the 1 highest peaks"));
    EXPECT_TRUE(contains(top, "a full row is 300.0M"));
    std::string min = render_svg(t, {.top = 0, .min_peak = 100 * MiB});
    EXPECT_EQ(count(min, "<g class=\"job\""), 2u);
    EXPECT_TRUE(contains(min, "+ 1 more jobs"));
    EXPECT_TRUE(contains(min, "peak below 100.0M"));
    // the lane and the total still count every job
    EXPECT_TRUE(contains(top, "at most 3 at once"));
    expect_well_escaped(top);
}

TEST(Report, BudgetDipsShorterThanTheWindowAreSmoothed) {
    std::vector<Sample> b;
    for (int i = 0; i <= 40; i++) b.push_back({i / 10.0, 1000 * MiB});
    b[10].bytes = 700 * MiB;  // one sample: an exit counted before its memory was freed
    for (int i = 25; i <= 40; i++) b[i].bytes = 800 * MiB;  // from 2.5 s on: something outside took 200M
    std::vector<Sample> s = smoothed_budget(b, 0.5);
    ASSERT_EQ(s.size(), b.size());
    EXPECT_EQ(s[10].bytes, 1000 * MiB);
    EXPECT_EQ(s[24].bytes, 1000 * MiB);
    EXPECT_EQ(s[28].bytes, 1000 * MiB);  // the fall shows 0.5 s late
    EXPECT_EQ(s[31].bytes, 800 * MiB);
    EXPECT_EQ(s[40].bytes, 800 * MiB);
    EXPECT_TRUE(smoothed_budget({}, 0.5).empty());
}

// A build with thousands of jobs draws quickly, into a picture of a readable
// height: rows for the biggest jobs and one row for the rest.
TEST(Report, FiveThousandJobsDrawQuicklyAndReadably) {
    constexpr uint32_t kJobs = 5000;
    TraceText tr;
    for (uint32_t i = 0; i < kJobs; i++) {
        double s = i * 0.02;  // about 8 at a time
        uint32_t pid = 1000 + i;
        tr.job(s, pid, {"cc1", "-o", "f" + std::to_string(i) + ".o"});
        tr.rss(s + 0.05, pid, (8 + (i * 7919) % 600) * MiB);
        if (i % 500 == 0) tr.decision(s + 0.06, "stop", i + 1, pid);
        if (i % 500 == 0) tr.decision(s + 0.1, "resume", i + 1, pid);
        tr.memory(s + 0.05, int64_t(2000 * MiB));
        tr.exit(s + 0.16, pid);
    }
    auto began = std::chrono::steady_clock::now();
    Timeline t = read(tr.text);
    std::string svg = render_svg(t, {.cpus = 8});
    double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    ASSERT_EQ(t.jobs.size(), kJobs);
    EXPECT_LT(took, 20.0) << "a bound, not a benchmark: " << took << " s (sanitizer builds are slower)";
    EXPECT_EQ(count(svg, "<g class=\"job\""), 100u);
    EXPECT_TRUE(contains(svg, "<g class=\"others\" data-jobs=\"4900\""));
    EXPECT_TRUE(contains(svg, "+ 4,900 more jobs"));
    EXPECT_TRUE(contains(svg, "5,000 jobs"));
    std::smatch m;
    ASSERT_TRUE(std::regex_search(svg, m, std::regex("height=\"([0-9.]+)\" viewBox")));
    EXPECT_LT(std::stod(m[1]), 2000);
    EXPECT_GE(SvgLayout{}.row_height(101), SvgLayout{}.text_row);  // rows high enough for their reasons
    EXPECT_TRUE(contains(svg, "Waits without room"));  // the 10 stops are of small jobs, left out
    EXPECT_LT(svg.size(), 2u << 20);
    expect_well_escaped(svg);
}

// A "package" line (the controller read a driver's CATEGORY and PF): the jobs under that
// driver from then on are of that package; one that does not look like a package is dropped.
TEST(Report, PackageLinesNameTheJobsUnderTheirDriver) {
    TraceText tr;
    tr.add({{"v", 1}, {"event", "package"}, {"ts_ns", at(0.05)}, {"pid", 100}, {"package", "dev-libs/foo-1.0"}});
    tr.job(0.1, 201, {"gcc", "-c", "a.c", "-o", "a.o"});
    tr.exit(0.5, 201);
    tr.add({{"v", 1}, {"event", "package"}, {"ts_ns", at(0.6)}, {"pid", 100}, {"package", "../../etc\n<0>"}});
    tr.job(0.7, 202, {"gcc", "-c", "b.c", "-o", "b.o"});
    tr.exit(0.9, 202);
    Timeline t = read(tr.text);
    ASSERT_EQ(t.jobs.size(), 2u);
    EXPECT_EQ(t.jobs[0].package, "dev-libs/foo-1.0");
    EXPECT_EQ(t.jobs[1].package, "");
    EXPECT_NE(render_svg(t).find("gcc a.o (foo-1.0)"), std::string::npos);
    tr.add({{"v", 1}, {"event", "package"}, {"ts_ns", at(1.0)}, {"pid", 100}});
    EXPECT_THROW(read(tr.text), UserError);
}

// The recorded demo build (-j4 in 1100M under the controller): the decisions'
// job ids are the replayed tree's, and the stops land on their jobs.
TEST(Report, DemoFixture) {
    std::ifstream in(fixture_path("demo-j4-1100M.jsonl"));
    ASSERT_TRUE(in);
    Timeline t = read_timeline(in, "demo-j4-1100M.jsonl");
    ASSERT_EQ(t.jobs.size(), 16u);
    EXPECT_EQ(t.decisions, 8u);
    EXPECT_EQ(t.decisions_by_pid, 0u);  // every id matched the job with the decision's root pid
    EXPECT_EQ(t.decisions_unmatched, 0u);
    size_t stops = 0;
    for (const TimelineJob& j : t.jobs) {
        EXPECT_EQ(j.name, "hog");
        EXPECT_TRUE(j.ended);
        stops += j.waits.size();
    }
    EXPECT_EQ(stops, 4u);
    auto job = std::find_if(t.jobs.begin(), t.jobs.end(), [](const TimelineJob& j) { return j.root_pid == 17731; });
    ASSERT_NE(job, t.jobs.end());
    EXPECT_EQ(job_label(*job), "hog big_sema.o");
    ASSERT_EQ(job->waits.size(), 1u);
    EXPECT_NEAR(job->waits[0].from, 1.215, 0.01);  // "t" of the decision lines
    EXPECT_NEAR(job->waits[0].to, 6.312, 0.01);
    EXPECT_NEAR(double(job->peak) / MiB, 502, 8);
    EXPECT_NEAR(t.end, 37.95, 0.1);
    // the budget: the 1100M cgroup, less what the build's page cache and make took
    ASSERT_GT(t.budget.size(), 100u);
    for (const Sample& s : t.budget) {
        EXPECT_LE(s.bytes, 1100 * MiB);
        EXPECT_GE(s.bytes, 700 * MiB);
    }
}

TEST(Report, Cli) {
    TempFile trace(three_jobs().text), svg;
    test::Run r = run_main({"report", trace.path, "-o", svg.path});
    EXPECT_EQ(r.code, 0) << r.err;
    std::ifstream in(svg.path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text.rfind("<svg ", 0), 0u);
    EXPECT_EQ(count(text, "<g class=\"job\""), 3u);

    TempFile top_svg;
    r = run_main({"report", trace.path, "-o", top_svg.path, "--top", "1", "--min-peak", "100M", "--cpus", "4"});
    EXPECT_EQ(r.code, 0) << r.err;
    std::ifstream top_in(top_svg.path);
    std::string top_text((std::istreambuf_iterator<char>(top_in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(count(top_text, "<g class=\"job\""), 1u);
    EXPECT_TRUE(contains(top_text, "below 100.0M or not among the 1 highest peaks"));
    EXPECT_TRUE(contains(top_text, "of 4 CPUs"));
    test::Run parsed = run({"report", trace.path, "-o", "-", "--top", "0", "--min-peak", "1G", "--cpus", "2.5"});
    EXPECT_FALSE(parsed.cli.exit_now);
    EXPECT_EQ(parsed.cli.report.top, 0u);
    EXPECT_EQ(parsed.cli.report.min_peak, 1ull << 30);
    EXPECT_EQ(parsed.cli.report.cpus, 2.5);
    EXPECT_EQ(run({"report", trace.path, "-o", "-"}).cli.report.top, 100u);
    for (std::vector<std::string> bad : {std::vector<std::string>{"--top", "-1"}, {"--min-peak", "lots"}, {"--cpus", "-2"}}) {
        std::vector<std::string> args{"report", trace.path, "-o", "-"};
        args.insert(args.end(), bad.begin(), bad.end());
        EXPECT_EQ(run(args).cli.exit_now.value_or(0), int(ExitCode::Usage)) << bad[0];
    }

    EXPECT_EQ(run({"report", trace.path}).cli.exit_now.value_or(0), int(ExitCode::Usage));  // -o is required
    EXPECT_EQ(run({"report", "/nonexistent.jsonl", "-o", "-"}).cli.exit_now.value_or(0), int(ExitCode::Usage));
    test::Run help = run({"report", "--help"});
    EXPECT_EQ(help.cli.exit_now.value_or(-1), 0);
    EXPECT_TRUE(contains(help.out, "SVG timeline"));

    TempFile bad("{\"event\":\"exec\"\n");
    test::Run failed = run_main({"report", bad.path, "-o", svg.path});
    EXPECT_EQ(failed.code, int(ExitCode::Failure));
    EXPECT_TRUE(contains(failed.err, bad.path + ":1:")) << failed.err;
}

// What --trace-json writes live is enough for the picture: the memory lines
// are there too, so the budget line is drawn.
TEST(Report, LiveJsonTraceHasTheBudget) {
    std::ostringstream live;
    TracePrinter printer(PrinterOptions{.json = true}, live, nullptr, kT0);
    printer.on_event(ExecEvent{at(0), 100, 1, "make", "/usr/bin/make", {"make"}, false});
    printer.on_event(ForkEvent{at(0.1), 201, 201, 100, "make", false});
    printer.on_event(ExecEvent{at(0.1), 201, 100, "cc1", "/usr/bin/cc1", {"cc1", "a.c"}, false});
    printer.on_event(RssEvent{at(0.2), 201, 300 * MiB, 300 * MiB, 0, 0, 0, 300 * MiB});
    printer.on_memory(at(0.3), int64_t(700 * MiB), 1ull << 30, 0);
    printer.on_decision({at(0.4), "stop", 1, 201, "cc1", 300 * MiB, 0, "test", 0, 0, "", "", "stop_projection"});
    printer.on_event(ExitEvent{at(1.0), 201, 100, "cc1", 0, 300 * MiB, 0, 0});
    Timeline t = read(live.str());
    ASSERT_EQ(t.budget.size(), 1u);
    EXPECT_EQ(t.budget[0].bytes, 1000 * MiB);
    ASSERT_EQ(t.jobs.size(), 1u);
    ASSERT_EQ(t.jobs[0].waits.size(), 1u);
    EXPECT_NEAR(t.jobs[0].waits[0].from, 0.4, 1e-6);
    EXPECT_NEAR(t.jobs[0].waits[0].to, 1.0, 1e-6);
}
