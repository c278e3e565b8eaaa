// Live control's pure parts: the ctl protocol, the status text/JSON, the
// status file and the Prometheus metrics, and `ctl` on the command line.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "cli_util.hpp"
#include "status_sample.hpp"
#include "control/ctl_protocol.hpp"
#include "control/status.hpp"
#include "util/printable.hpp"

using namespace swamp;
using swamp::test::contains;

namespace {

std::optional<CtlRequest> parse(const std::string& line, std::string* error = nullptr) {
    std::string e;
    auto r = parse_request(line, e);
    if (error) *error = e;
    return r;
}

}  // namespace

TEST(CtlProtocol, GoodRequests) {
    auto r = parse("status");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->kind, CtlRequest::Kind::Status);
    EXPECT_FALSE(r->json);
    r = parse("  status   json \r");
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->json);
    r = parse("limit 2");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->kind, CtlRequest::Kind::Limit);
    EXPECT_EQ(r->limit, 2);
    EXPECT_EQ(parse("limit 0")->limit, 0);
    EXPECT_EQ(parse("limit 4096")->limit, 4096);
    EXPECT_EQ(parse("pause")->kind, CtlRequest::Kind::Pause);
    EXPECT_EQ(parse("resume")->kind, CtlRequest::Kind::Resume);
    EXPECT_EQ(parse("drain")->kind, CtlRequest::Kind::Drain);
}

TEST(CtlProtocol, BadRequestsSayWhy) {
    struct Case {
        const char* line;
        const char* says;
    } cases[] = {
        {"", "empty request"},
        {"   ", "empty request"},
        {"stop", "unknown request \"stop\"; requests are: status [json], limit N, pause, resume, drain"},
        {"STATUS", "unknown request"},
        {"status xml", "status takes nothing or \"json\""},
        {"status json json", "status takes nothing"},
        {"limit", "limit takes one number"},
        {"limit 1 2", "limit takes one number"},
        {"limit -1", "give 0 (no cap) or 1 to 4096"},
        {"limit 4097", "give 0 (no cap) or 1 to 4096"},
        {"limit 2x", "limit 2x: give 0"},
        {"limit 99999999999999999999", "give 0 (no cap)"},
        {"pause now", "pause takes no arguments"},
        {"drain 1", "drain takes no arguments"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.line);
        std::string error;
        EXPECT_FALSE(parse(c.line, &error));
        EXPECT_TRUE(contains(error, c.says)) << error;
    }
}

TEST(CtlProtocol, RequestLineReadsBack) {
    for (CtlRequest r : {CtlRequest{CtlRequest::Kind::Status, false, 0}, CtlRequest{CtlRequest::Kind::Status, true, 0},
                         CtlRequest{CtlRequest::Kind::Limit, false, 3}, CtlRequest{CtlRequest::Kind::Limit, false, 0},
                         CtlRequest{CtlRequest::Kind::Pause, false, 0}, CtlRequest{CtlRequest::Kind::Resume, false, 0},
                         CtlRequest{CtlRequest::Kind::Drain, false, 0}}) {
        auto back = parse(request_line(r));
        ASSERT_TRUE(back) << request_line(r);
        EXPECT_EQ(back->kind, r.kind);
        EXPECT_EQ(back->json, r.json);
        EXPECT_EQ(back->limit, r.limit);
    }
}

TEST(CtlProtocol, RequestsChangeTheCaps) {
    Caps c;
    c = apply_request(c, *parse("limit 2"));
    EXPECT_EQ(c.max_running, 2);
    c = apply_request(c, *parse("pause"));
    EXPECT_TRUE(c.pause);
    c = apply_request(c, *parse("drain"));
    EXPECT_TRUE(c.drain);
    EXPECT_EQ(describe_caps(c), "at most 2 running jobs, paused, draining");
    Caps same = apply_request(c, *parse("status"));
    EXPECT_TRUE(same.pause && same.drain && same.max_running == 2);
    c = apply_request(c, *parse("resume"));  // the cap stays
    EXPECT_FALSE(c.pause);
    EXPECT_FALSE(c.drain);
    EXPECT_EQ(c.max_running, 2);
    c = apply_request(c, *parse("limit 0"));
    EXPECT_EQ(describe_caps(c), "no cap");
    EXPECT_EQ(describe_caps(Caps{1, false, false}), "at most 1 running job");
}

TEST(CtlProtocol, Replies) {
    auto ok = parse_reply(ok_reply("caps: no cap"));
    EXPECT_EQ(ok.kind, CtlReply::Kind::Ok);
    EXPECT_EQ(ok.text, "caps: no cap\n");
    EXPECT_EQ(parse_reply(ok_reply("")).text, "");
    auto err = parse_reply(error_reply("unknown request \"x\""));
    EXPECT_EQ(err.kind, CtlReply::Kind::Error);
    EXPECT_EQ(err.text, "unknown request \"x\"");
    auto refused = parse_reply(refused_reply(65534));
    EXPECT_EQ(refused_reply(65534), "refused: uid 65534 is not root\n");
    EXPECT_EQ(refused_reply(65534, 1000), "refused: uid 65534 is not root nor the owner of the build (uid 1000)\n");
    EXPECT_EQ(refused.kind, CtlReply::Kind::Refused);
    EXPECT_EQ(refused.text, "uid 65534 is not root");
    EXPECT_EQ(parse_reply("").kind, CtlReply::Kind::Garbled);
    EXPECT_EQ(parse_reply("").text, "an empty reply");
    EXPECT_EQ(parse_reply("HTTP/1.1 200 OK\r\n").kind, CtlReply::Kind::Garbled);
}

using swamp::test::sample;

TEST(StatusFormat, OverallState) {
    StatusSnapshot s = sample();
    EXPECT_STREQ(overall_state(s), "throttling");
    s.caps.drain = true;
    EXPECT_STREQ(overall_state(s), "draining");
    s.caps.pause = true;
    EXPECT_STREQ(overall_state(s), "paused");
    s.up = false;
    EXPECT_STREQ(overall_state(s), "exited");
    s = sample();
    s.jobs.resize(1);
    EXPECT_STREQ(overall_state(s), "running");
    s.jobs.clear();
    EXPECT_STREQ(overall_state(s), "idle");
}

TEST(StatusFormat, TextShowsEveryJobAndWhyItWaits) {
    std::string t = format_status_text(sample());
    EXPECT_TRUE(contains(t, "swamp-bpf (pid 4242): throttling, managing make (pid 100) with SIGSTOP/SIGCONT")) << t;
    EXPECT_TRUE(contains(t, "memory: headroom -5.0M of 1.07G (cgroup); low mark 64.0M, high mark 192.0M")) << t;
    EXPECT_TRUE(contains(t, "caps: at most 2 running jobs")) << t;
    EXPECT_TRUE(contains(t, "totals: 7 jobs, 3 stops, 1 holds at exec, 2 resumes, 0 OOM kills")) << t;
    EXPECT_TRUE(contains(t, "jobs: 1 running, 1 stopped, 1 held")) << t;
    EXPECT_TRUE(std::regex_search(t, std::regex(R"(\n +2 +102 ld +stopped .*projected headroom 10 MiB)"))) << t;
    EXPECT_TRUE(std::regex_search(t, std::regex(R"(\n +1 +101 cc1plus +running +500.0M +600.0M +4.0s\n)"))) << t;
    EXPECT_TRUE(contains(t, "cap: at most 2 running jobs\n")) << t;
}

TEST(StatusFormat, JsonParses) {
    auto j = nlohmann::json::parse(format_status_json(sample()));
    EXPECT_EQ(j["state"], "throttling");
    EXPECT_EQ(j["memory"]["headroom"], -(5ll << 20));
    EXPECT_TRUE(j["memory"]["budget"].is_null());
    EXPECT_EQ(j["caps"]["max_running"], 2);
    EXPECT_EQ(j["totals"]["stops"], 3);
    ASSERT_EQ(j["jobs"].size(), 3u);
    EXPECT_EQ(j["jobs"][1]["state"], "stopped");
    EXPECT_EQ(j["jobs"][2]["name"], "as \"x\"");
}

TEST(StatusFormat, StatusFileIsKeyValueLines) {
    StatusSnapshot s = sample();
    s.jobs[1].reason = "two\nlines";
    std::string f = format_status_file(s);
    std::map<std::string, std::string> kv;
    std::istringstream in(f);
    for (std::string line; std::getline(in, line);) {
        size_t eq = line.find('=');
        ASSERT_NE(eq, std::string::npos) << line;
        ASSERT_EQ(line.find_first_of(" \t"), line.find_first_of(" \t", eq)) << "a key without spaces: " << line;
        kv[line.substr(0, eq)] = line.substr(eq + 1);
    }
    EXPECT_EQ(kv["state"], "throttling");
    EXPECT_EQ(kv["pid"], "4242");
    EXPECT_EQ(kv["updated"], "1700000000");
    EXPECT_EQ(kv["jobs_running"], "1");
    EXPECT_EQ(kv["jobs_stopped"], "1");
    EXPECT_EQ(kv["jobs_held"], "1");
    EXPECT_EQ(kv["headroom_bytes"], std::to_string(-(5ll << 20)));
    EXPECT_EQ(kv["stops_total"], "3");
    EXPECT_EQ(kv["resumes_total"], "2");
    EXPECT_EQ(kv["oom_kills"], "0");
    EXPECT_EQ(kv["max_running"], "2");
    EXPECT_EQ(kv["stopped_seconds_total"], "42.2");
    EXPECT_EQ(kv["held_seconds_total"], "0.5");
    EXPECT_EQ(kv["job.2"].rfind("stopped pid=102 ", 0), 0u) << kv["job.2"];
    EXPECT_TRUE(contains(kv["job.2"], "why=two\\nlines")) << kv["job.2"];
}

TEST(StatusFormat, MetricsAreValidTextfileFormat) {
    std::string m = format_metrics(sample());
    // every sample line: name{labels} value, and every name has HELP and TYPE first
    std::set<std::string> typed;
    std::istringstream in(m);
    const std::regex sample_line(R"(^([a-z_]+)(\{([a-z_]+="([^"\\]|\\.)*",?)+\})? (-?[0-9]+(\.[0-9]+)?)$)");
    for (std::string line; std::getline(in, line);) {
        std::smatch sm;
        if (line.rfind("# HELP ", 0) == 0) continue;
        if (line.rfind("# TYPE ", 0) == 0) {
            std::istringstream t(line.substr(7));
            std::string name, type;
            t >> name >> type;
            EXPECT_TRUE(type == "gauge" || type == "counter") << line;
            EXPECT_TRUE(type != "counter" || (name.size() > 6 && name.substr(name.size() - 6) == "_total")) << line;
            typed.insert(name);
            continue;
        }
        ASSERT_TRUE(std::regex_match(line, sm, sample_line)) << line;
        EXPECT_TRUE(typed.count(sm[1])) << "no TYPE before " << line;
    }
    EXPECT_TRUE(contains(m, "\nswamp_bpf_up 1\n")) << m;
    EXPECT_TRUE(contains(m, "swamp_bpf_jobs{state=\"stopped\"} 1\n")) << m;
    EXPECT_TRUE(contains(m, "swamp_bpf_jobs{state=\"held\"} 1\n")) << m;
    EXPECT_TRUE(contains(m, "swamp_bpf_stops_total 3\n")) << m;
    EXPECT_TRUE(contains(m, "swamp_bpf_resumes_total 2\n")) << m;
    EXPECT_TRUE(contains(m, "swamp_bpf_headroom_bytes -5242880\n")) << m;
    EXPECT_TRUE(contains(m, "swamp_bpf_tree_rss_bytes 943718400\n")) << m;
    EXPECT_TRUE(contains(m, "swamp_bpf_oom_kills_total 0\n")) << m;
    EXPECT_TRUE(contains(m, "name=\"as \\\"x\\\"\"")) << "quotes escaped: " << m;
    EXPECT_TRUE(contains(m, "\nswamp_bpf_build_info{version=\"" SWAMP_VERSION "\"} 1\n")) << m;
    EXPECT_TRUE(contains(m, "\nswamp_bpf_job_wait_seconds_total{state=\"stopped\"} 42.2\n")) << m;
    EXPECT_TRUE(contains(m, "\nswamp_bpf_job_wait_seconds_total{state=\"held\"} 0.5\n")) << m;
    EXPECT_TRUE(contains(m, "\nswamp_bpf_start_timestamp_seconds 1699999987.7\n")) << m;
    EXPECT_TRUE(contains(m, "\nswamp_bpf_last_update_timestamp_seconds 1700000000\n")) << m;
    EXPECT_TRUE(contains(m, "\nswamp_bpf_top_job_rss_bytes{rank=\"1\",name=\"cc1plus\",state=\"running\"} 524288000\n"))
        << m;
    EXPECT_TRUE(contains(m, "\nswamp_bpf_top_job_rss_bytes{rank=\"2\",name=\"ld\",state=\"stopped\"} 314572800\n")) << m;
    // Prometheus renames a scraped `job` label, and a label per job id has no bound
    EXPECT_FALSE(std::regex_search(m, std::regex(R"([{,]job=)"))) << m;
    EXPECT_FALSE(std::regex_search(m, std::regex(R"(="10[123]")"))) << "no pid or id as a label value: " << m;
    StatusSnapshot gone = sample();
    gone.up = false;
    EXPECT_TRUE(contains(format_metrics(gone), "\nswamp_bpf_up 0\n"));
}

// Forty jobs: the metrics keep one series per state and the five largest by rank,
// however many jobs run.
TEST(StatusFormat, MetricsKeepTheLargestJobsOnly) {
    StatusSnapshot s = sample();
    s.jobs.clear();
    for (uint64_t id = 1; id <= 40; id++)
        s.jobs.push_back({id, uint32_t(1000 + id), "cc" + std::to_string(id), id % 3 ? JobState::Running : JobState::Stopped,
                          (id * 7 % 40) << 20, 0, 1.0, "", "", "", 0, std::nullopt, false});
    std::string m = format_metrics(s);
    std::regex top(R"re(\nswamp_bpf_top_job_rss_bytes\{rank="([0-9]+)",name="([^"]*)",state="[a-z]+"\} ([0-9]+))re");
    std::vector<uint64_t> sizes;
    for (auto it = std::sregex_iterator(m.begin(), m.end(), top); it != std::sregex_iterator(); ++it) {
        EXPECT_EQ((*it)[1], std::to_string(sizes.size() + 1));
        sizes.push_back(std::stoull((*it)[3]));
    }
    ASSERT_EQ(sizes.size(), kMetricsTopJobs) << m;
    EXPECT_EQ(sizes, (std::vector<uint64_t>{39ull << 20, 38ull << 20, 37ull << 20, 36ull << 20, 35ull << 20})) << m;
    EXPECT_TRUE(contains(m, "swamp_bpf_jobs{state=\"stopped\"} 13\n")) << m;
    EXPECT_TRUE(contains(m, "swamp_bpf_jobs{state=\"running\"} 27\n")) << m;
    s.jobs.resize(2);
    std::string two = format_metrics(s);
    EXPECT_EQ(std::distance(std::sregex_iterator(two.begin(), two.end(), top), std::sregex_iterator()), 2) << two;
}

// What `systemctl status` shows on its Status: line.
TEST(StatusFormat, ServiceStatusLine) {
    EXPECT_EQ(service_status_line(2, 3, 1, {}), "2 builds, 3 jobs running, 1 waiting");
    EXPECT_EQ(service_status_line(1, 1, 0, {}), "1 build, 1 job running, 0 waiting");
    EXPECT_EQ(service_status_line(0, 0, 0, {}), "no build");
    EXPECT_EQ(service_status_line(std::nullopt, 0, 4, {}), "0 jobs running, 4 waiting");
    EXPECT_EQ(service_status_line(1, 0, 2, {0, true, false}), "1 build, 0 jobs running, 2 waiting; paused");
    EXPECT_EQ(service_status_line(0, 0, 0, {0, false, true}), "no build; draining");
}

// Names and reasons are whatever a process chose: a comm cut inside a
// character, a newline then "<0>" (a forged journald priority), an escape
// sequence. No formatter throws, JSON stays valid UTF-8, text stays one line
// per row.
TEST(StatusFormat, HostileNamesAndReasons) {
    StatusSnapshot s = sample();
    s.managing = "evil\n<0>managing";
    s.jobs[0].name = "aaaaaaaaaaaaaa\xc3";  // "…é" cut at 15 bytes
    s.jobs[1].name = "x\n<0>forged";
    s.jobs[1].reason = "why\r\n<0>\x1b[2Jforged \xff";
    s.jobs[2].name = "q\"\\\x7f\xc2\x9b";
    s.jobs[1].target = "obj\n<0>.o";  // both from a process's argv and environment
    s.jobs[1].package = "dev-libs/x\n<0>forged";

    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(format_status_json(s)));
    EXPECT_EQ(j["jobs"][0]["name"], "aaaaaaaaaaaaaa\xef\xbf\xbd");  // U+FFFD
    EXPECT_EQ(j["jobs"][1]["name"], "x\n<0>forged");  // valid UTF-8 kept, escaped by JSON
    std::string json = format_status_json(s);
    EXPECT_EQ(std::count(json.begin(), json.end(), '\n'), 1) << json;

    for (const std::string& text : {format_status_text(s), format_status_file(s), format_metrics(s)}) {
        std::istringstream in(text);
        for (std::string line; std::getline(in, line);) {
            EXPECT_NE(line.rfind("<0>", 0), 0u) << "a forged line: " << text;
            EXPECT_TRUE(is_valid_utf8(line)) << line;
            for (unsigned char c : line) EXPECT_TRUE(c >= 0x20 && c != 0x7f) << "a control character in: " << line;
        }
    }
    std::string t = format_status_text(s);
    EXPECT_TRUE(contains(t, "managing evil\\n<0>managing")) << t;
    EXPECT_TRUE(contains(t, " aaaaaaaaaaaaaa\\xc3 ")) << "an invalid byte escaped whole: " << t;
    EXPECT_TRUE(contains(t, " x\\n<0>forged obj\\n<0>.o ")) << t;
    EXPECT_TRUE(contains(t, "  dev-libs/x\\n<0>forged  ")) << t;
    EXPECT_TRUE(contains(t, "why\\r\\n<0>\\x1b[2Jforged \\xff")) << t;
    std::string m = format_metrics(s);
    EXPECT_TRUE(contains(m, "name=\"x\\\\n<0>forged\"")) << m;
    EXPECT_TRUE(contains(m, "name=\"aaaaaaaaaaaaaa\\\\xc3\"")) << m;
    EXPECT_TRUE(contains(m, "name=\"q\\\"\\\\\\\\\\\\x7f\\\\xc2\\\\x9b\"")) << m;
}

// Processes a full task map kept us from tracking: in every format, and in the
// text only when there were any.
TEST(StatusFormat, UntrackedProcessesAreCounted) {
    StatusSnapshot s = sample();
    EXPECT_EQ(format_status_text(s).find("not tracked"), std::string::npos);
    s.untracked = 12;
    EXPECT_NE(format_status_text(s).find("untracked: 12 processes not tracked (the task map is full: raise --max-tasks)"),
              std::string::npos)
        << format_status_text(s);
    EXPECT_EQ(nlohmann::json::parse(format_status_json(s))["totals"]["untracked"], 12);
    EXPECT_NE(format_status_file(s).find("\nuntracked_total=12\n"), std::string::npos);
    EXPECT_NE(format_metrics(s).find("\nswamp_bpf_untracked_total 12\n"), std::string::npos);
}

TEST(StatusFormat, RowsFromTheTree) {
    Tree tree;
    tree.add_root(100, 1, "make", 0);
    ExecEvent e;
    e.ts_ns = 1'000'000'000;
    ForkEvent f;
    f.ts_ns = 1'000'000'000;
    f.ppid = 100;
    f.pid = f.tid = 101;
    f.comm = "make";
    tree.apply(f);
    e.pid = 101;
    e.ppid = 100;
    e.comm = "cc1plus";
    tree.apply(e);
    ASSERT_EQ(tree.jobs().size(), 1u);
    uint64_t id = tree.jobs().begin()->first;
    tree.set_state(id, JobState::Stopped, 2'000'000'000);
    auto rows = job_rows(tree, {{id, "paused by the user"}}, 5'000'000'000);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].root_pid, 101u);
    EXPECT_EQ(rows[0].state, JobState::Stopped);
    EXPECT_DOUBLE_EQ(rows[0].in_state_s, 3.0);
    EXPECT_EQ(rows[0].reason, "paused by the user");
    tree.set_state(id, JobState::Running, 5'000'000'000);
    EXPECT_EQ(job_rows(tree, {{id, "paused by the user"}}, 6'000'000'000)[0].reason, "") << "running: no reason";
}

TEST(CtlCli, ParsesEveryRequest) {
    using swamp::test::run;
    auto r = run({"ctl", "status"});
    ASSERT_FALSE(r.cli.exit_now) << r.err;
    EXPECT_EQ(r.cli.command, Command::Ctl);
    EXPECT_EQ(r.cli.ctl.socket, kDefaultSocket);
    EXPECT_EQ(r.cli.ctl.request, "status");
    EXPECT_EQ(run({"ctl", "status", "--json"}).cli.ctl.request, "status json");
    r = run({"ctl", "--socket", "/tmp/x.sock", "limit", "1"});
    EXPECT_EQ(r.cli.ctl.socket, "/tmp/x.sock");
    EXPECT_EQ(r.cli.ctl.request, "limit 1");
    EXPECT_EQ(run({"ctl", "limit", "0"}).cli.ctl.request, "limit 0");
    EXPECT_EQ(run({"ctl", "pause"}).cli.ctl.request, "pause");
    EXPECT_EQ(run({"ctl", "resume"}).cli.ctl.request, "resume");
    EXPECT_EQ(run({"ctl", "drain"}).cli.ctl.request, "drain");
    EXPECT_EQ(run({"ctl"}).cli.exit_now, 2);
    EXPECT_EQ(run({"ctl", "limit"}).cli.exit_now, 2);
    EXPECT_EQ(run({"ctl", "limit", "-3"}).cli.exit_now, 2);
    EXPECT_EQ(run({"ctl", "limit", "5000"}).cli.exit_now, 2);
    EXPECT_EQ(run({"ctl", "frobnicate"}).cli.exit_now, 2);
}

TEST(CtlCli, ControllerFlags) {
    using swamp::test::run;
    auto r = run({"--socket", "/tmp/s.sock", "--status-file", "/tmp/st", "--metrics-file", "/tmp/m.prom", "--", "true"});
    ASSERT_FALSE(r.cli.exit_now) << r.err;
    EXPECT_EQ(r.cli.control.socket_path, "/tmp/s.sock");
    EXPECT_EQ(r.cli.control.status_file, "/tmp/st");
    EXPECT_EQ(r.cli.control.metrics_file, "/tmp/m.prom");
    auto help = run({"ctl", "--help"});
    EXPECT_TRUE(contains(help.out, "status")) << help.out;
    EXPECT_TRUE(contains(help.out, kDefaultSocket)) << help.out;
}

TEST(CtlCli, NoListenerIsAClearError) {
    auto r = swamp::test::run_main({"ctl", "--socket", "/nonexistent-dir/ctl.sock", "status"});
    EXPECT_EQ(r.code, 1);
    EXPECT_TRUE(contains(r.err, "no swamp-bpf listening on /nonexistent-dir/ctl.sock")) << r.err;
}
