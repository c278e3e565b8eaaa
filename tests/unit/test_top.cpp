// `top` without a terminal: the run request, the status JSON read back, and
// the screen drawn from it (bars on one scale, hostile names escaped, the
// selection kept in view, the keys' requests).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "control/ctl_protocol.hpp"
#include "control/status.hpp"
#include "status_sample.hpp"
#include "top/top_view.hpp"
#include "util/printable.hpp"

using namespace swamp;
using swamp::test::sample;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string screen_text(const std::vector<ScreenLine>& lines) {
    std::string out;
    for (const ScreenLine& l : lines) out += line_text(l) + "\n";
    return out;
}

// The line that shows job `id` (its JOB column), or "".
std::string row_of(const std::vector<ScreenLine>& lines, uint64_t id) {
    for (const ScreenLine& l : lines) {
        std::string t = line_text(l);
        if (t.size() > 8 && t.substr(2, 5) == std::string(5 - std::to_string(id).size(), ' ') + std::to_string(id))
            return t;
    }
    return "";
}

size_t bar_cells(const std::string& row, char c) {
    size_t open = row.find('['), close = row.find(']', open);
    return size_t(std::count(row.begin() + long(open), row.begin() + long(close), c));
}

}  // namespace

TEST(CtlProtocol, RunRequest) {
    std::string error;
    auto r = parse_request("run 17", error);
    ASSERT_TRUE(r) << error;
    EXPECT_EQ(r->kind, CtlRequest::Kind::Run);
    EXPECT_EQ(r->job, 17u);
    EXPECT_EQ(request_line(*r), "run 17");
    Caps c{2, true, false};
    Caps after = apply_request(c, *r);  // the caps stay
    EXPECT_EQ(after.max_running, 2);
    EXPECT_TRUE(after.pause);
    for (const char* bad : {"run", "run 0", "run -1", "run x", "run 1 2", "run 1e3"}) {
        EXPECT_FALSE(parse_request(bad, error)) << bad;
        EXPECT_TRUE(contains(error, "job number")) << bad << ": " << error;
    }
}

TEST(StatusJson, ReadsBackWhatItWrites) {
    StatusSnapshot s = sample();
    s.budget = 2ull << 30;
    s.jobs[1].run_now = true;
    std::string error;
    auto back = parse_status_json(format_status_json(s), error);
    ASSERT_TRUE(back) << error;
    EXPECT_EQ(back->pid, 4242);
    EXPECT_EQ(back->managing, "make (pid 100)");
    EXPECT_EQ(back->mem.headroom, -(5ll << 20));
    EXPECT_EQ(back->mem.scale, 1100ull << 20);
    EXPECT_EQ(back->budget, std::optional<uint64_t>(2ull << 30));
    EXPECT_EQ(back->caps.max_running, 2);
    EXPECT_EQ(back->stops, 3u);
    ASSERT_EQ(back->jobs.size(), 3u);
    EXPECT_EQ(back->jobs[0].growth, 24.0 * (1 << 20));
    EXPECT_EQ(back->jobs[0].cpu, std::optional<double>(0.97));
    EXPECT_FALSE(back->jobs[1].cpu);
    EXPECT_TRUE(back->jobs[1].run_now);
    EXPECT_EQ(back->jobs[1].state, JobState::Stopped);
    EXPECT_EQ(back->jobs[2].state, JobState::Held);
    EXPECT_EQ(back->jobs[2].name, "as \"x\"");
    EXPECT_EQ(back->jobs[2].reason, "cap: at most 2 running jobs");
    // wrong types read as defaults, never throw; not an object is an error
    auto odd = parse_status_json(R"({"pid":"x","memory":[1],"jobs":[3,{"id":"y","name":7,"state":"odd"}]})", error);
    ASSERT_TRUE(odd);
    EXPECT_EQ(odd->pid, 0);
    ASSERT_EQ(odd->jobs.size(), 1u);
    EXPECT_EQ(odd->jobs[0].state, JobState::Running);
    EXPECT_FALSE(parse_status_json("[1,2]", error));
    EXPECT_FALSE(parse_status_json("{not json", error));
}

TEST(TopView, ShowsEveryJobOnOneScale) {
    TopFrame f;
    f.status = sample();
    f.status->jobs[0].target = "unit-bson.cpp.o";  // named by what it makes, as in ctl status
    f.width = 140;
    f.height = 24;
    f.selected = 2;
    auto lines = render_top(f);
    ASSERT_EQ(lines.size(), 24u);
    std::string t = screen_text(lines);
    EXPECT_TRUE(contains(t, "swamp-bpf top: make (pid 100), throttling")) << t;
    EXPECT_TRUE(contains(t, "headroom -5.0M of 1.07G (cgroup)")) << t;
    EXPECT_TRUE(contains(t, "caps: at most 2 running jobs")) << t;
    EXPECT_TRUE(contains(t, "jobs: 1 running, 1 stopped, 1 held")) << t;
    EXPECT_TRUE(contains(t, "Enter run this job now")) << t;
    std::string cc = row_of(lines, 1), ld = row_of(lines, 2), as = row_of(lines, 3);
    ASSERT_FALSE(cc.empty() || ld.empty() || as.empty()) << t;
    // one scale: the largest peak (cc1plus's 600M) fills the bar; ld's 300M is half of it
    size_t jb = bar_cells(cc, '#') + bar_cells(cc, '-') + bar_cells(cc, ' ');
    EXPECT_EQ(bar_cells(cc, '#') + bar_cells(cc, '-'), jb) << cc;
    EXPECT_NEAR(double(bar_cells(ld, '#')), jb / 2.0, 1.0) << ld;
    EXPECT_LE(bar_cells(as, '#'), 1u) << as;
    EXPECT_TRUE(contains(cc, "cc1plus unit-bson.cpp.o")) << cc;
    EXPECT_TRUE(contains(cc, "+24.0M/s")) << cc;
    EXPECT_TRUE(contains(cc, "0.97")) << cc;
    EXPECT_TRUE(contains(ld, "stopped")) << ld;
    EXPECT_TRUE(contains(ld, "projected headroom 10 MiB")) << ld;
    EXPECT_EQ(ld[0], '>');  // the selection
    EXPECT_EQ(cc[0], ' ');
    EXPECT_TRUE(contains(as, "held")) << as;
    for (const ScreenLine& l : lines) EXPECT_LE(line_text(l).size(), 140u);
    // the selected job's reason in full, above the message and the keys
    EXPECT_EQ(line_text(lines[21]), "job 2 (ld) stopped: projected headroom 10 MiB is below the low mark 64 MiB") << t;
    f.width = 40;  // wrapped on two lines when narrow
    lines = render_top(f);
    EXPECT_EQ(line_text(lines[20]) + line_text(lines[21]),
              "job 2 (ld) stopped: projected headroom 10 MiB is below the low mark 64 MiB") << screen_text(lines);
}

TEST(TopView, EscapesHostileNamesAndFitsTheWidth) {
    TopFrame f;
    f.status = sample();
    f.status->jobs[0].name = "evil\x1b]0;pwned\x07\n<0>x";
    f.status->jobs[1].name = std::string("caf\xc3\xa9\xe2\x82", 6);  // cut mid-character
    f.status->jobs[1].reason = "why\r\nfake line";
    f.status->jobs[1].run_now = true;
    f.width = 60;
    f.height = 12;
    auto lines = render_top(f);
    EXPECT_EQ(lines.size(), 12u);
    for (const ScreenLine& l : lines) {
        std::string t = line_text(l);
        EXPECT_TRUE(is_valid_utf8(t)) << t;
        for (unsigned char c : t) EXPECT_GE(c, 0x20) << printable(t);
        size_t cols = 0;
        for (size_t i = 0; i < t.size(); i += std::max<size_t>(1, utf8_char_at(t, i))) cols++;
        EXPECT_LE(cols, 60u) << t;
    }
    std::string t = screen_text(lines);
    EXPECT_TRUE(contains(t, "evil\\x1b]0;pwned")) << t;
    EXPECT_TRUE(contains(t, "caf\xc3\xa9")) << t;
    f.width = 160;
    EXPECT_TRUE(contains(row_of(render_top(f), 2), "run now by the user")) << screen_text(render_top(f));
}

TEST(TopView, KeepsTheSelectionInViewAndSaysWhenNothingAnswers) {
    TopFrame f;
    StatusSnapshot s = sample();
    s.jobs.clear();
    for (uint64_t id = 1; id <= 50; id++)
        s.jobs.push_back({id, uint32_t(1000 + id), "cc1plus", JobState::Running, id << 20, id << 20, 1.0, "", "", "", 0,
                          std::nullopt, false});
    f.status = s;
    f.width = 120;
    f.height = 20;
    f.selected = 40;
    auto lines = render_top(f);
    EXPECT_EQ(lines.size(), 20u);
    EXPECT_EQ(row_of(lines, 40)[0], '>') << screen_text(lines);
    EXPECT_TRUE(contains(screen_text(lines), "more (up/down scrolls)")) << screen_text(lines);
    // selection moves and stays within the jobs
    EXPECT_EQ(move_selection(s, 40, 1), 41u);
    EXPECT_EQ(move_selection(s, 50, 1), 50u);
    EXPECT_EQ(move_selection(s, 1, -1), 1u);
    EXPECT_EQ(move_selection(s, 0, 0), 1u);
    s.jobs.erase(s.jobs.begin() + 39);  // job 40 ended: the next one
    EXPECT_EQ(move_selection(s, 40, 0), 41u);
    EXPECT_EQ(move_selection(StatusSnapshot{}, 3, 1), 0u);

    TopFrame down;
    down.socket = "/run/swamp-bpf/ctl.sock";
    down.error = "no swamp-bpf listening on /run/swamp-bpf/ctl.sock";
    std::string t = screen_text(render_top(down));
    EXPECT_TRUE(contains(t, "no swamp-bpf listening")) << t;
    EXPECT_TRUE(contains(t, "retrying")) << t;
}

TEST(TopView, KeysSendCtlRequests) {
    EXPECT_EQ(request_for_key('p', 3), "pause");
    EXPECT_EQ(request_for_key('r', 3), "resume");
    EXPECT_EQ(request_for_key('d', 3), "drain");
    EXPECT_EQ(request_for_key('1', 3), "limit 1");
    EXPECT_EQ(request_for_key('2', 3), "limit 2");
    EXPECT_EQ(request_for_key('0', 3), "limit 0");
    EXPECT_EQ(request_for_key('\n', 3), "run 3");
    EXPECT_EQ(request_for_key('g', 7), "run 7");
    EXPECT_EQ(request_for_key('\n', 0), "");  // nothing selected
    EXPECT_EQ(request_for_key('x', 3), "");
    std::string error;
    for (int key : {'p', 'r', 'd', '0', '1', '2', 'g'}) EXPECT_TRUE(parse_request(request_for_key(key, 5), error)) << key;
}
