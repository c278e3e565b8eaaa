// --on-event: a recording hook receives every kind of event of a real build in
// a small memory cgroup (hold, stop, resume, pressure, oom-kill, build-end),
// with its details in SWAMP_* variables; a hook that hangs stalls nothing and
// is gone after the controller exits.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "run_util.hpp"

using namespace swamp::test;
namespace fs = std::filesystem;

namespace {

struct Told {
    std::string event, job, pid, name, rss, reason, status, uid, rule;
};

std::vector<Told> read_events(const fs::path& file) {
    std::vector<Told> out;
    std::istringstream in(file_text(file.string()));
    for (std::string line; std::getline(in, line);) {
        std::vector<std::string> f;
        std::istringstream fields(line);
        for (std::string x; std::getline(fields, x, '|');) f.push_back(x);
        f.resize(9);
        out.push_back({f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]});
    }
    return out;
}

// A hook (mode 0755) that appends one line per event to `events` (one write), then runs `then`.
void write_hook(const fs::path& hook, const fs::path& events, const std::string& then) {
    std::ofstream(hook) << "#!/bin/sh\nprintf '%s|%s|%s|%s|%s|%s|%s|%s|%s\\n' \"$SWAMP_EVENT\" \"$SWAMP_JOB\" \"$SWAMP_PID\" "
                           "\"$SWAMP_NAME\" \"$SWAMP_RSS\" \"$SWAMP_REASON\" \"$SWAMP_STATUS\" \"$(id -u)\" \"$SWAMP_RULE\" >> "
                        << events << "\n" << then;
    fs::permissions(hook, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
}

TEST(Hooks, ARecordingHookHearsEveryEvent) {
    if (std::string why = missing_root_or_memcg(); !why.empty()) GTEST_SKIP() << why;
    fs::path dir = fresh_dir("hooks");
    fs::path events = dir / "events", hook = dir / "hook.sh";
    // one line per event (one write), then the hold's hook hangs
    write_hook(hook, events, "if [ \"$SWAMP_EVENT\" = hold ]; then exec sleep 600; fi\n");
    // drained from the start: a and b are held at exec; then a resume lets one run
    // (the cap is 1), a pause stops it; then c grows past the cgroup's 200M
    std::ofstream(dir / "Makefile") << "all: $(OUT)/c\n"
                                    << "$(OUT)/a:\n\t" << HOG_BIN << " --mib 20 --cpu-s 4 --out $@\n"
                                    << "$(OUT)/b:\n\t" << HOG_BIN << " --mib 20 --cpu-s 1 --out $@\n"
                                    << "$(OUT)/c: $(OUT)/a $(OUT)/b\n\t" << HOG_BIN
                                    << " --mib 400 --cpu-s 3 --shape early --out $@\n";
    std::string sock = (dir / "run" / "ctl.sock").string();
    std::string marker = "SWAMP_HOOK_TEST=" + std::to_string(getpid());
    setenv("SWAMP_HOOK_TEST", std::to_string(getpid()).c_str(), 1);
    Child build = spawn({std::string(SOURCE_DIR) + "/scripts/memcg-run.sh", "--limit", "200M", "--name", "hooks", "--",
                         SWAMP_BIN, "--no-history", "--cpus", "0", "--max-running", "1", "--drain", "--socket", sock,
                         "--on-event", hook.string(), "--", "/usr/bin/make", "-s", "-f", (dir / "Makefile").string(),
                         "OUT=" + dir.string(), "-j2"});
    unsetenv("SWAMP_HOOK_TEST");
    auto told = [&](const std::string& ev) {
        for (const Told& t : read_events(events))
            if (t.event == ev) return true;
        return false;
    };
    ASSERT_TRUE(wait_until([&] { return told("hold"); }, 30)) << file_text(events.string());
    std::string out;
    EXPECT_EQ(run_ctl(sock, {"resume"}, out), 0) << out;
    EXPECT_TRUE(wait_until([&] { return told("resume"); }, 10)) << file_text(events.string());
    EXPECT_EQ(run_ctl(sock, {"pause"}, out), 0) << out;
    EXPECT_TRUE(wait_until([&] { return told("stop"); }, 10)) << file_text(events.string());
    EXPECT_EQ(run_ctl(sock, {"resume"}, out), 0) << out;
    // the hold's hook hangs, and the build goes on: it ends with c's OOM kill
    auto t0 = std::chrono::steady_clock::now();
    std::string ignored;
    int status = finish(build, ignored);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(secs, 60) << "the build took too long";
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << status << " (c is OOM-killed, so make fails)";

    std::map<std::string, Told> first;
    for (const Told& t : read_events(events)) first.emplace(t.event, t);
    for (const char* ev : {"hold", "stop", "resume", "pressure", "oom-kill", "build-end"})
        EXPECT_TRUE(first.count(ev)) << ev << " was not told:\n" << file_text(events.string());
    const Told& hold = first["hold"];
    EXPECT_EQ(hold.name, "hog");
    EXPECT_GT(std::stoul("0" + hold.job), 0u) << hold.job;
    EXPECT_GT(std::stoul("0" + hold.pid), 0u) << hold.pid;
    EXPECT_NE(hold.reason.find("draining"), std::string::npos) << hold.reason;
    EXPECT_NE(first["stop"].reason.find("paused by the user"), std::string::npos) << first["stop"].reason;
    EXPECT_EQ(hold.rule, "drain");
    EXPECT_EQ(first["stop"].rule, "pause");
    EXPECT_EQ(first["oom-kill"].rule, "") << "not a decision";
    EXPECT_NE(first["oom-kill"].reason.find("OOM kill"), std::string::npos) << first["oom-kill"].reason;
    EXPECT_EQ(first["build-end"].status, "2") << "make's status";
    EXPECT_EQ(first["build-end"].uid, "0") << "the build ran as root, and so do its hooks";
    // the hanging hook did not outlive the controller
    bool sleeping = false;
    for (const ProcInfo& p : processes())
        if (p.comm == "sleep" && has_env(p.pid, "SWAMP_EVENT=hold")) sleeping = true;
    EXPECT_FALSE(sleeping) << "the hold's hook still runs";
    EXPECT_TRUE(stopped_build_processes(marker).empty());
    fs::remove_all(dir);
}

}  // namespace

namespace {

// A build that runs as another user (adopted with --root-pid): its hooks run as that user.
TEST(Hooks, RunAsTheBuildsOwner) {
    if (std::string why = missing_root_or_memcg(); !why.empty()) GTEST_SKIP() << why;
    constexpr uid_t kNobody = 65534;
    fs::path dir = fresh_dir("hooks-owner");
    fs::path events = dir / "events", hook = dir / "hook.sh";
    write_hook(hook, events, "");
    std::ofstream(dir / "Makefile") << "all:\n\t" << HOG_BIN << " --mib 8 --cpu-s 2 --out " << (dir / "a").string() << "\n";
    fs::permissions(dir, fs::perms::all);  // the build (nobody) writes its output and the hook its events here
    std::string marker = "SWAMP_HOOK_OWNER_TEST=" + std::to_string(getpid());
    setenv("SWAMP_HOOK_OWNER_TEST", std::to_string(getpid()).c_str(), 1);
    Child build = spawn_as({"/usr/bin/make", "-s", "-f", (dir / "Makefile").string()}, kNobody);
    fs::path ctl_dir = fresh_dir("hooks-owner-ctl");  // root's: not beside the build's open directory
    std::string sock = (ctl_dir / "run" / "ctl.sock").string();
    Child swamp = spawn({SWAMP_BIN, "--no-history", "--quiet", "--pause", "--socket", sock, "--on-event", hook.string(),
                         "--root-pid", std::to_string(build.pid)});
    unsetenv("SWAMP_HOOK_OWNER_TEST");
    EXPECT_TRUE(wait_until([&] { return !read_events(events).empty(); }, 30)) << "no event was told";
    std::string out;
    EXPECT_EQ(run_ctl(sock, {"resume"}, out), 0) << out;
    std::string ignored;
    int status = finish(build, ignored);  // make ends, and so does swamp-bpf (its root exited)
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    status = finish(swamp, ignored);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    auto told = read_events(events);
    ASSERT_GE(told.size(), 2u) << file_text(events.string());
    EXPECT_TRUE(told[0].event == "stop" || told[0].event == "hold") << told[0].event;
    EXPECT_NE(told[0].reason.find("paused"), std::string::npos) << told[0].reason;
    EXPECT_EQ(told[0].uid, std::to_string(kNobody)) << "the hook ran as uid " << told[0].uid;
    EXPECT_EQ(told.back().event, "build-end") << file_text(events.string());
    EXPECT_EQ(told.back().uid, std::to_string(kNobody)) << "the build's end is told to its owner";
    EXPECT_TRUE(stopped_build_processes(marker).empty());
    fs::remove_all(dir);
    fs::remove_all(ctl_dir);
}

}  // namespace
