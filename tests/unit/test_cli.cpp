#include <gtest/gtest.h>

#include "cli_util.hpp"
#include "test_util.hpp"

using namespace swamp;
using namespace swamp::test;

TEST(Cli, TraceRootPid) {
    auto r = run({"trace", "--root-pid", "123"});
    EXPECT_FALSE(r.cli.exit_now) << r.err;
    EXPECT_EQ(r.cli.command, Command::Trace);
    ASSERT_TRUE(r.cli.trace.root_pid);
    EXPECT_EQ(*r.cli.trace.root_pid, 123);
    EXPECT_TRUE(r.cli.trace.command.empty());
    // defaults
    EXPECT_FALSE(r.cli.trace.json);
    EXPECT_FALSE(r.cli.trace.threads);
    EXPECT_EQ(r.cli.trace.sensing.rss_step, 16ull << 20);
    EXPECT_EQ(r.cli.trace.sensing.fault_interval_ms, 250u);
    EXPECT_EQ(r.cli.trace.sensing.ringbuf_size, 1ull << 20);
    EXPECT_EQ(r.cli.trace.sensing.max_tasks, 16384u);
    EXPECT_FALSE(r.cli.trace.sensing.attach);
    EXPECT_FALSE(r.cli.trace.sensing.verbose);
}

TEST(Cli, TraceCommand) {
    auto r = run({"trace", "--", "make", "-j4"});
    EXPECT_FALSE(r.cli.exit_now) << r.err;
    EXPECT_EQ(r.cli.command, Command::Trace);
    EXPECT_EQ(r.cli.trace.command, (std::vector<std::string>{"make", "-j4"}));
    EXPECT_FALSE(r.cli.trace.root_pid);
}

TEST(Cli, TraceNeedsRootPidOrCommand) {
    auto r = run({"trace"});
    ASSERT_TRUE(r.cli.exit_now);
    EXPECT_EQ(*r.cli.exit_now, 2);
    EXPECT_TRUE(contains(r.err, "--root-pid")) << r.err;
}

TEST(Cli, TraceRejectsRootPidAndCommand) {
    auto r = run({"trace", "--root-pid", "123", "--", "make"});
    ASSERT_TRUE(r.cli.exit_now);
    EXPECT_EQ(*r.cli.exit_now, 2);
    EXPECT_FALSE(r.err.empty());
}

TEST(Cli, TraceRejectsNonPositiveRootPid) {
    for (const char* pid : {"0", "-5"}) {
        SCOPED_TRACE(pid);
        auto r = run({"trace", "--root-pid", pid});
        ASSERT_TRUE(r.cli.exit_now);
        EXPECT_EQ(*r.cli.exit_now, 2);
    }
    auto r = run({"trace", "--root-pid", "abc"});
    ASSERT_TRUE(r.cli.exit_now);
    EXPECT_EQ(*r.cli.exit_now, 2);
}

TEST(Cli, BadRssStep) {
    auto r = run({"trace", "--root-pid", "123", "--rss-step", "4XB"});
    ASSERT_TRUE(r.cli.exit_now);
    EXPECT_EQ(*r.cli.exit_now, 2);
    EXPECT_TRUE(contains(r.err, "4XB")) << r.err;
    EXPECT_TRUE(contains(r.err, "--rss-step")) << r.err;
}

TEST(Cli, RssStepAndRingbufSize) {
    auto r = run({"trace", "--root-pid", "123", "--rss-step", "8M", "--ringbuf-size", "1G"});
    EXPECT_FALSE(r.cli.exit_now) << r.err;
    EXPECT_EQ(r.cli.trace.sensing.rss_step, 8388608u);
    EXPECT_EQ(r.cli.trace.sensing.ringbuf_size, 1ull << 30);
}

TEST(Cli, RangesOfNumericOptions) {
    auto ok = run({"trace", "--root-pid", "1", "--fault-interval", "100", "--max-tasks", "64"});
    EXPECT_FALSE(ok.cli.exit_now) << ok.err;
    EXPECT_EQ(ok.cli.trace.sensing.fault_interval_ms, 100u);
    EXPECT_EQ(ok.cli.trace.sensing.max_tasks, 64u);
    for (std::vector<std::string> bad : {std::vector<std::string>{"--fault-interval", "5"},
                                         {"--fault-interval", "60001"},
                                         {"--max-tasks", "63"},
                                         {"--ringbuf-size", "0"}}) {
        std::vector<std::string> args{"trace", "--root-pid", "1"};
        args.insert(args.end(), bad.begin(), bad.end());
        auto r = run(args);
        SCOPED_TRACE(bad[0] + " " + bad[1]);
        ASSERT_TRUE(r.cli.exit_now);
        EXPECT_EQ(*r.cli.exit_now, 2);
    }
}

TEST(Cli, PageOut) {
    auto def = run({"--root-pid", "123"});
    ASSERT_FALSE(def.cli.exit_now) << def.err;
    EXPECT_EQ(def.cli.control.page_out.mode, PageOutMode::Off);
    EXPECT_EQ(def.cli.control.page_out.delay_s, 1.0);
    auto r = run({"--root-pid", "123", "--page-out", "auto", "--page-out-delay", "0.5"});
    ASSERT_FALSE(r.cli.exit_now) << r.err;
    EXPECT_EQ(r.cli.control.page_out.mode, PageOutMode::Auto);
    EXPECT_EQ(r.cli.control.page_out.delay_s, 0.5);
    EXPECT_EQ(run({"--root-pid", "123", "--page-out", "on"}).cli.control.page_out.mode, PageOutMode::On);
    for (std::vector<std::string> bad : {std::vector<std::string>{"--page-out", "yes"},
                                         {"--page-out-delay", "-1"},
                                         {"--page-out-delay", "3601"},
                                         {"--page-out-delay", "soon"}}) {
        std::vector<std::string> args{"--root-pid", "123"};
        args.insert(args.end(), bad.begin(), bad.end());
        auto b = run(args);
        SCOPED_TRACE(bad[0] + " " + bad[1]);
        ASSERT_TRUE(b.cli.exit_now);
        EXPECT_EQ(*b.cli.exit_now, 2);
        EXPECT_TRUE(contains(b.err, bad[0])) << b.err;
    }
}

TEST(Cli, Attach) {
    auto raw = run({"trace", "--root-pid", "123", "--attach", "raw_tp"});
    EXPECT_FALSE(raw.cli.exit_now) << raw.err;
    ASSERT_TRUE(raw.cli.trace.sensing.attach);
    EXPECT_EQ(*raw.cli.trace.sensing.attach, AttachKind::RawTp);

    auto btf = run({"trace", "--root-pid", "123", "--attach", "tp_btf"});
    EXPECT_FALSE(btf.cli.exit_now) << btf.err;
    ASSERT_TRUE(btf.cli.trace.sensing.attach);
    EXPECT_EQ(*btf.cli.trace.sensing.attach, AttachKind::TpBtf);

    auto aut = run({"trace", "--root-pid", "123", "--attach", "auto"});
    EXPECT_FALSE(aut.cli.exit_now) << aut.err;
    EXPECT_FALSE(aut.cli.trace.sensing.attach);

    auto bogus = run({"trace", "--root-pid", "123", "--attach", "bogus"});
    ASSERT_TRUE(bogus.cli.exit_now);
    EXPECT_EQ(*bogus.cli.exit_now, 2);
    EXPECT_TRUE(contains(bogus.err, "bogus")) << bogus.err;
}

TEST(Cli, TraceFlags) {
    TempFile btf;
    auto r = run({"trace", "--root-pid", "9", "--json", "--threads", "--record", "/tmp/rec.jsonl", "-v", "--btf",
                  btf.path});
    EXPECT_FALSE(r.cli.exit_now) << r.err;
    EXPECT_TRUE(r.cli.trace.json);
    EXPECT_TRUE(r.cli.trace.threads);
    EXPECT_EQ(r.cli.trace.record_file, "/tmp/rec.jsonl");
    EXPECT_TRUE(r.cli.trace.sensing.verbose);
    EXPECT_EQ(r.cli.trace.sensing.btf_file, btf.path);
}

TEST(Cli, BtfMustExist) {
    auto r = run({"trace", "--root-pid", "9", "--btf", "/nonexistent/swamp-unit.btf"});
    ASSERT_TRUE(r.cli.exit_now);
    EXPECT_EQ(*r.cli.exit_now, 2);
}

TEST(Cli, TraceHelpListsEveryFlag) {
    auto r = run({"trace", "--help"});
    ASSERT_TRUE(r.cli.exit_now);
    EXPECT_EQ(*r.cli.exit_now, 0);
    for (const char* flag : {"--root-pid", "--json", "--record", "--rss-step", "--fault-interval", "--ringbuf-size",
                             "--max-tasks", "--btf", "--attach", "--threads", "-v,", "--verbose"})
        EXPECT_TRUE(contains(r.out, flag)) << flag << " missing from:\n" << r.out;
}

TEST(Cli, TopLevelHelpListsSubcommands) {
    auto r = run({"--help"});
    ASSERT_TRUE(r.cli.exit_now);
    EXPECT_EQ(*r.cli.exit_now, 0);
    for (const char* sub : {"trace", "probe", "replay", "Exit codes"})
        EXPECT_TRUE(contains(r.out, sub)) << sub << " missing from:\n" << r.out;
}

TEST(Cli, Version) {
    auto r = run({"--version"});
    ASSERT_TRUE(r.cli.exit_now);
    EXPECT_EQ(*r.cli.exit_now, 0);
    EXPECT_TRUE(contains(r.out, SWAMP_VERSION)) << r.out;
    EXPECT_TRUE(contains(r.out, "swamp-bpf")) << r.out;
}

TEST(Cli, UnknownFlag) {
    auto r = run({"trace", "--root-pid", "1", "--bogus-flag"});
    ASSERT_TRUE(r.cli.exit_now);
    EXPECT_EQ(*r.cli.exit_now, 2);
    auto top = run({"--bogus-flag"});
    ASSERT_TRUE(top.cli.exit_now);
    EXPECT_EQ(*top.cli.exit_now, 2);
}

TEST(Cli, Probe) {
    auto r = run({"probe", "--json"});
    EXPECT_FALSE(r.cli.exit_now) << r.err;
    EXPECT_EQ(r.cli.command, Command::Probe);
    EXPECT_TRUE(r.cli.probe.json);
    EXPECT_FALSE(r.cli.probe.attach);

    auto t = run({"probe", "--attach", "raw_tp"});
    EXPECT_FALSE(t.cli.exit_now) << t.err;
    EXPECT_FALSE(t.cli.probe.json);
    ASSERT_TRUE(t.cli.probe.attach);
    EXPECT_EQ(*t.cli.probe.attach, AttachKind::RawTp);
}

TEST(Cli, Replay) {
    TempFile f;
    auto r = run({"replay", f.path, "--json", "--threads"});
    EXPECT_FALSE(r.cli.exit_now) << r.err;
    EXPECT_EQ(r.cli.command, Command::Replay);
    EXPECT_EQ(r.cli.replay.file, f.path);
    EXPECT_TRUE(r.cli.replay.json);
    EXPECT_TRUE(r.cli.replay.threads);
}

TEST(Cli, ReplayNeedsAnExistingFile) {
    auto none = run({"replay"});
    ASSERT_TRUE(none.cli.exit_now);
    EXPECT_EQ(*none.cli.exit_now, 2);
    auto missing = run({"replay", "/nonexistent/swamp-unit.jsonl"});
    ASSERT_TRUE(missing.cli.exit_now);
    EXPECT_EQ(*missing.cli.exit_now, 2);
}

TEST(Cli, NoSubcommand) {
    auto r = run({});
    ASSERT_TRUE(r.cli.exit_now);
    EXPECT_EQ(*r.cli.exit_now, 2);
    EXPECT_EQ(r.cli.command, Command::None);
}

TEST(Cli, OnlyOneSubcommand) {
    TempFile f;
    auto r = run({"probe", "replay", f.path});
    ASSERT_TRUE(r.cli.exit_now);
    EXPECT_EQ(*r.cli.exit_now, 2);
}

TEST(Cli, DriverNamesMustFitInComm) {
    auto ok = run({"--drivers", "make,,x86_64-linux-g", "--root-pid", "1"});
    EXPECT_FALSE(ok.cli.exit_now) << ok.err;
    EXPECT_EQ(ok.cli.control.tree.drivers, (std::vector<std::string>{"make", "x86_64-linux-g"}));
    auto r = run({"--drivers", "make,x86_64-linux-gnu-make", "--root-pid", "1"});
    ASSERT_TRUE(r.cli.exit_now);
    EXPECT_EQ(*r.cli.exit_now, 2);
    EXPECT_TRUE(contains(r.err, "longer than 15 characters")) << r.err;
}

TEST(Cli, HighMarkMustBeAboveLowMark) {
    auto r = run({"--low-mark", "1G", "--high-mark", "1G", "--root-pid", "1"});
    ASSERT_TRUE(r.cli.exit_now);
    EXPECT_EQ(*r.cli.exit_now, 2);
    EXPECT_TRUE(contains(r.err, "--high-mark")) << r.err;
    auto ok = run({"--low-mark", "1G", "--high-mark", "2G", "--root-pid", "1"});
    EXPECT_FALSE(ok.cli.exit_now) << ok.err;
}

TEST(Cli, ServiceWatchesUsersAndRoots) {
    auto r = run({"service", "--users", "portage,1001", "--roots", "emerge,distccd", "--max-running", "2"});
    ASSERT_FALSE(r.cli.exit_now) << r.err;
    EXPECT_EQ(r.cli.command, Command::Service);
    EXPECT_TRUE(r.cli.control.service);
    EXPECT_EQ(r.cli.control.service_users, (std::vector<std::string>{"portage", "1001"}));
    EXPECT_EQ(r.cli.control.service_roots, (std::vector<std::string>{"emerge", "distccd"}));
    EXPECT_EQ(r.cli.control.caps.max_running, 2);
    // the defaults: no user, the usual drivers and distccd
    auto d = run({"service"});
    ASSERT_FALSE(d.cli.exit_now) << d.err;
    EXPECT_TRUE(d.cli.control.service_users.empty());
    EXPECT_EQ(d.cli.control.service_roots, kDefaultRoots);
    EXPECT_EQ(d.cli.control.socket_path, kDefaultSocket);
    EXPECT_EQ(d.cli.control.status_file, kDefaultStatusFile);
    auto own = run({"service", "--socket", "/tmp/s.sock", "--status-file", "/tmp/status"});
    ASSERT_FALSE(own.cli.exit_now) << own.err;
    EXPECT_EQ(own.cli.control.socket_path, "/tmp/s.sock");
    EXPECT_EQ(own.cli.control.status_file, "/tmp/status");
    // only the service has them by default
    auto launch = run({"--", "make"});
    EXPECT_TRUE(launch.cli.control.socket_path.empty());
    EXPECT_TRUE(launch.cli.control.status_file.empty());
}

TEST(Cli, ServiceNeedsSomethingToWatchAndFindsItsOwnBuilds) {
    auto none = run({"service", "--roots", ""});
    ASSERT_TRUE(none.cli.exit_now);
    EXPECT_EQ(*none.cli.exit_now, 2);
    EXPECT_TRUE(contains(none.err, "nothing to watch")) << none.err;
    for (std::vector<std::string> bad : {std::vector<std::string>{"service", "--root-pid", "1"},
                                         {"service", "--user", "portage"},
                                         {"service", "--", "make"},
                                         {"service", "--roots", "x86_64-linux-gnu-gcc"}}) {
        auto r = run(bad);
        ASSERT_TRUE(r.cli.exit_now) << bad[1];
        EXPECT_EQ(*r.cli.exit_now, 2) << bad[1];
    }
}
