// Every kind of bad input gets a one-line error that says what to do, its
// own documented exit code, and starts nothing: no process stopped, no
// cgroup created, the command never run.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "run_util.hpp"

using namespace swamp::test;
namespace fs = std::filesystem;

namespace {

struct Case {
    const char* name;
    std::string shell;  // run with /bin/sh -c; $SWAMP is the binary, $MARK a file the command would create
    int code;
    const char* says;  // a piece of the error message
    const char* config = "";  // written to kConfig first
};

const std::string kMark = "/tmp/swamp-bad-input-ran";
const std::string kRun = " -- /bin/touch " + kMark;  // what must never run
const std::string kConfig = "/tmp/swamp-bad.toml";
const std::string kNewPidNs = "/usr/bin/unshare --pid --fork --mount-proc ";  // as a container has
const std::string kConfigRun = "$SWAMP --config " + kConfig + kRun;

std::vector<Case> cases() {
    return {
        {"no_such_pid", "$SWAMP --root-pid 999999999", 4, "no process with pid 999999999"},
        {"pid_1", "$SWAMP --root-pid 1", 4, "refusing --root-pid 1"},
        {"our_own_pid", "exec $SWAMP --root-pid $$", 4, "that is swamp-bpf itself"},
        {"kernel_thread", "$SWAMP --root-pid 2", 4, "is a kernel thread"},
        {"not_root", "/usr/sbin/runuser -u nobody -- $SWAMP" + kRun, 3, "needs root"},
        {"no_cap_bpf", "/usr/bin/setpriv --bounding-set -sys_admin,-bpf,-perfmon --inh-caps -all -- $SWAMP" + kRun, 3,
         "needs root"},
        // without BTF the tracepoint variant runs; a CO-RE variant forced there cannot
        {"core_forced_without_btf",
         "/usr/bin/unshare -m /bin/sh -c 'mount -t tmpfs none /sys/kernel/btf && exec $SWAMP --attach raw_tp" + kRun + "'",
         5, "needs BTF"},
        {"btf_not_btf", "$SWAMP --btf /etc/passwd" + kRun, 6, "not a BTF file"},
        // the kernel's BTF with kmem:rss_stat's typedef renamed away: a kernel without that tracepoint
        {"missing_tracepoint",
         BTF_WITHOUT_BIN " /sys/kernel/btf/vmlinux /tmp/swamp-no-rss-stat.btf btf_trace_rss_stat && $SWAMP --btf "
                         "/tmp/swamp-no-rss-stat.btf" + kRun + "; e=$?; rm -f /tmp/swamp-no-rss-stat.btf; exit $e",
         5, "lacks the tracepoint kmem:rss_stat"},
        {"no_cgroup2_for_freeze",
         "/usr/bin/unshare -m --propagation private /bin/sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; "
         "umount /sys/fs/cgroup 2>/dev/null; exec $SWAMP --action freeze" + kRun + "'",
         8, "cgroup"},
        {"cgroup_not_writable",
         "/usr/bin/unshare -m --propagation private /bin/sh -c 'M=$(findmnt -n -o TARGET -t cgroup2 | head -1); "
         "mount --bind \"$M\" \"$M\" && mount -o remount,bind,ro \"$M\" && exec $SWAMP --action freeze" + kRun + "'",
         8, "cannot create cgroup"},
        {"size_with_bad_unit", "$SWAMP --mem-budget 4XB" + kRun, 2, "--mem-budget"},
        {"negative_size", "$SWAMP --reserve=-1G" + kRun, 2, "--reserve"},
        {"zero_size", "$SWAMP --mem-budget 0" + kRun, 2, "--mem-budget"},
        {"unknown_flag", "$SWAMP --frobnicate" + kRun, 2, "--frobnicate"},
        {"no_mode", "$SWAMP", 2, "--root-pid"},
        {"unknown_action", "$SWAMP --action pause" + kRun, 2, "--action"},
        {"config_syntax_error", kConfigRun, 7, "swamp-bad.toml:1:", "[memory\nreserve = \"1G\"\n"},
        {"config_unknown_key", kConfigRun, 7, "did you mean \"reserve\"", "[memory]\nreserv = \"1G\"\n"},
        {"config_out_of_range", kConfigRun, 7, "swamp-bad.toml:2:", "[policy]\nhorizon = 600.0\n"},
        {"unknown_page_out", "$SWAMP --page-out sometimes" + kRun, 2, "--page-out"},
        {"page_out_delay_out_of_range", "$SWAMP --page-out-delay 7200" + kRun, 2, "--page-out-delay"},
        {"config_page_out_delay_out_of_range", kConfigRun, 7, "page-out-delay = -1 is out of range",
         "[policy]\npage-out-delay = -1\n"},
        {"service_not_root", "/usr/sbin/runuser -u nobody -- $SWAMP service --roots make", 3, "needs root"},
        {"service_unknown_user", "$SWAMP service --users no-such-user-zz", 2, "no user \"no-such-user-zz\""},
        {"service_with_a_command", "$SWAMP service" + kRun, 2, "finds its builds itself"},
        {"service_config_bad_root", "$SWAMP service --config " + kConfig, 7, "longer than 15 characters",
         "[service]\nroots = [\"x86_64-linux-gnu-gcc\"]\n"},
        // check-config needs no root: a bad file is found as nobody too
        {"check_config_as_nobody", "/usr/sbin/runuser -u nobody -- $SWAMP check-config " + kConfig, 7,
         "swamp-bad.toml:2:", "[policy]\nhorizon = 600.0\n"},
        // in a pid namespace of its own the BPF side's pids name other processes: everything that
        // loads BPF or signals processes refuses (test_pid_namespace.cpp: what still works there)
        {"pid_namespace_launch", kNewPidNs + "$SWAMP" + kRun, 5, "must run in the host's pid namespace: it runs in pid:["},
        {"pid_namespace_root_pid", kNewPidNs + "/bin/sh -c 'sleep 9 & exec $SWAMP --root-pid $!'", 5,
         "must run in the host's pid namespace"},
        {"pid_namespace_service", kNewPidNs + "$SWAMP service --roots make", 5, "must run in the host's pid namespace"},
        {"pid_namespace_trace", kNewPidNs + "$SWAMP trace" + kRun, 5, "must run in the host's pid namespace"},
        {"pid_namespace_recover", kNewPidNs + "$SWAMP recover", 5, "must run in the host's pid namespace"},
        {"pid_namespace_for_children", "/usr/bin/unshare --pid $SWAMP" + kRun, 5,
         "the processes it starts would be in a new one"},
        {"proc_of_another_pid_namespace",
         "/usr/bin/unshare -m --propagation private /bin/sh -c '/usr/bin/unshare --pid --fork /bin/mount -t proc proc "
         "/proc && exec $SWAMP" + kRun + "'",
         5, "cannot read /proc/self/ns/pid"},
        {"ctl_nothing_listening", "$SWAMP ctl --socket /tmp/swamp-bad-no.sock status", 1, "no swamp-bpf listening"},
    };
}

class BadInputTest : public ::testing::TestWithParam<Case> {
protected:
    void SetUp() override {
        if (!is_root()) GTEST_SKIP() << "needs root (the cases drop privileges themselves)";
    }
};

TEST_P(BadInputTest, ClearErrorDistinctCodeNothingStarted) {
    const Case& c = GetParam();
    fs::remove(kMark);
    if (*c.config) std::ofstream(kConfig) << c.config;
    std::string out;
    std::string cmd = "export SWAMP=" + std::string(SWAMP_BIN) + "; { " + c.shell + "; } 2>&1";
    int status = run({"/bin/sh", "-c", cmd}, out);
    ASSERT_TRUE(WIFEXITED(status)) << out;
    EXPECT_EQ(WEXITSTATUS(status), c.code) << out;
    EXPECT_NE(out.find(c.says), std::string::npos) << "the error should mention \"" << c.says << "\":\n" << out;
    // one line of error (CLI11 adds a "Run with --help" hint for usage errors)
    std::istringstream lines(out);
    int n = 0;
    for (std::string line; std::getline(lines, line);)
        if (!line.empty() && line.rfind("Run with --help", 0) != 0) n++;
    EXPECT_EQ(n, 1) << out;
    EXPECT_FALSE(fs::exists(kMark)) << "the command ran despite the error";
    EXPECT_TRUE(stopped_build_processes().empty());
    EXPECT_TRUE(leftover_cgroups().empty());
    fs::remove(kMark);
    fs::remove(kConfig);
}

INSTANTIATE_TEST_SUITE_P(Cases, BadInputTest, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
