// Files written as root (docs/safety.md; userspace/sys/safe_file.hpp): never
// through a symlink or into a directory another user controls; the state
// directory is checked before it is trusted and a state file that does not
// parse is reported; the history is private and the status file readable by all.
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "run_util.hpp"

using namespace swamp::test;
namespace fs = std::filesystem;

namespace {

const char* kUser = "swamp-files";
const std::string kPrecious = "root's precious file\n";

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

// Output lines, but for a recovery of another test's dead swamp-bpf (other tests run at the same time).
int lines_of_ours(const std::string& out) {
    int n = 0;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) n += line.find("left by an earlier swamp-bpf") == std::string::npos;
    return n;
}

mode_t mode_of(const fs::path& p) {
    struct stat st{};
    lstat(p.c_str(), &st);
    return st.st_mode & 07777;
}

class RootFilesTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!is_root()) GTEST_SKIP() << "needs root";
        dir_ = fresh_dir("files");
        chmod(dir_.c_str(), 0755);
        std::string ignored;
        run({"/usr/sbin/useradd", "-M", "-r", "-s", "/usr/sbin/nologin", kUser}, ignored);  // or left by a crashed run
        passwd* pw = getpwnam(kUser);
        created_ = pw != nullptr;  // the test's own user: removed at the end either way
        ASSERT_NE(pw, nullptr) << "cannot create the user " << kUser;
        uid_ = pw->pw_uid;
        // a directory the unprivileged user owns, and root's file it points at
        theirs_ = dir_ / "theirs";
        fs::create_directories(theirs_);
        ASSERT_EQ(chown(theirs_.c_str(), uid_, pw->pw_gid), 0);
        victim_ = dir_ / "victim";
        std::ofstream(victim_) << kPrecious;
        chmod(victim_.c_str(), 0600);
    }
    void TearDown() override {
        if (IsSkipped()) return;
        std::string ignored;
        if (created_) run({"/usr/sbin/userdel", kUser}, ignored);
        fs::remove_all(dir_);
    }

    // `swamp-bpf ARGS` as root with stdout and stderr together; returns the exit code.
    int swamp(const std::vector<std::string>& args, std::string& out) {
        std::string cmd = std::string("exec ") + SWAMP_BIN;
        for (const std::string& a : args) cmd += " '" + a + "'";
        return exit_code(run({"/bin/sh", "-c", cmd + " 2>&1"}, out));
    }

    // The user plants `name` (and `name.tmp`, the old temporary name) as symlinks to the victim.
    fs::path planted(const fs::path& dir, const std::string& name) {
        fs::create_symlink(victim_, dir / name);
        fs::create_symlink(victim_, dir / (name + ".tmp"));
        lchown((dir / name).c_str(), uid_, uid_);
        lchown((dir / (name + ".tmp")).c_str(), uid_, uid_);
        return dir / name;
    }

    std::string victim_text() { return file_text(victim_.string()); }

    fs::path dir_, theirs_, victim_;
    bool created_ = false;
    uid_t uid_ = 0;
};

// Item 8: every file root writes on a user's say-so refuses a symlink and a directory
// the user owns, with exit 2 and one line, before it runs anything; the victim is unchanged.
TEST_F(RootFilesTest, NeverWritesThroughASymlinkOrIntoAUsersDirectory) {
    fs::path ours = dir_ / "ours";  // root's own directory, with a symlink someone left in it
    fs::create_directories(ours);
    const std::string command = "/bin/sleep 0.2";
    const std::string fixture = std::string(SOURCE_DIR) + "/tests/fixtures/demo-j4-plain.jsonl";
    struct Case {
        std::string name;
        std::vector<std::string> args;  // the target file goes after them
        std::vector<std::string> tail;
    };
    std::vector<Case> cases = {
        {"metrics_file", {"--no-history", "--metrics-file"}, {"--", "/bin/sleep", "0.2"}},
        {"status_file", {"--no-history", "--status-file"}, {"--", "/bin/sleep", "0.2"}},
        {"record", {"--no-history", "--record"}, {"--", "/bin/sleep", "0.2"}},
        {"trace_output", {"--no-history", "--trace", "--trace-output"}, {"--", "/bin/sleep", "0.2"}},
        {"trace_o", {"trace", "-o"}, {"--", "/bin/sleep", "0.2"}},
        {"trace_record", {"trace", "--record"}, {"--", "/bin/sleep", "0.2"}},
        {"report_o", {"report", fixture, "-o"}, {}},
    };
    for (const Case& c : cases) {
        for (const fs::path& dir : {theirs_, ours}) {
            fs::path target = planted(dir, c.name);
            std::vector<std::string> args = c.args;
            args.push_back(target.string());
            args.insert(args.end(), c.tail.begin(), c.tail.end());
            std::string out;
            int code = swamp(args, out);
            SCOPED_TRACE(c.name + " in " + dir.string());
            EXPECT_EQ(code, 2) << out;
            EXPECT_EQ(lines_of_ours(out), 1) << out;
            EXPECT_NE(out.find(dir == theirs_ ? "belongs to uid " + std::to_string(uid_) : "symbolic link"),
                      std::string::npos)
                << out;
            EXPECT_EQ(victim_text(), kPrecious);
            EXPECT_TRUE(fs::is_symlink(target));
        }
    }
    // a directory anyone may write without the sticky bit: refused too
    fs::path open_dir = dir_ / "open";
    fs::create_directories(open_dir);
    chmod(open_dir.c_str(), 0777);
    std::string out;
    EXPECT_EQ(swamp({"--no-history", "--metrics-file", (open_dir / "m").string(), "--", "/bin/sleep", "0.2"}, out), 2)
        << out;
    EXPECT_NE(out.find("writable by other users (mode 0777, no sticky bit)"), std::string::npos) << out;
    EXPECT_FALSE(fs::exists(open_dir / "m"));
}

// Item 9: a state directory another user owns or may write is refused, by `recover` and
// by a managing run, before anything runs; a state file that does not parse is
// reported by name and kept.
TEST_F(RootFilesTest, StateDirectoryIsCheckedAndACorruptStateFileIsReported) {
    std::string out;
    EXPECT_EQ(swamp({"recover", "--state-dir", theirs_.string()}, out), 2) << out;
    EXPECT_NE(out.find(theirs_.string() + " belongs to uid " + std::to_string(uid_)), std::string::npos) << out;
    fs::path mark = dir_ / "ran";
    EXPECT_EQ(swamp({"--state-dir", theirs_.string(), "--no-history", "--", "/bin/touch", mark.string()}, out), 2)
        << out;
    EXPECT_NE(out.find("refusing the state directory"), std::string::npos) << out;
    EXPECT_FALSE(fs::exists(mark)) << "the command ran";
    fs::path sticky = dir_ / "sticky";  // root's, but anyone may add files to it
    fs::create_directories(sticky);
    chmod(sticky.c_str(), 01777);
    EXPECT_EQ(swamp({"recover", "--state-dir", sticky.string()}, out), 2) << out;
    EXPECT_NE(out.find("writable by other users (mode 1777)"), std::string::npos) << out;

    fs::path state = dir_ / "state";  // made 0755 where missing
    EXPECT_EQ(swamp({"recover", "--state-dir", state.string()}, out), 0) << out;
    EXPECT_EQ(mode_of(state), 0755u);
    fs::path corrupt = state / "999999999.state";
    std::ofstream(corrupt) << "controller twelve\n";
    EXPECT_EQ(swamp({"recover", "--state-dir", state.string()}, out), 1) << out;
    EXPECT_NE(out.find(corrupt.string() + " is not a state file this swamp-bpf can read"), std::string::npos) << out;
    EXPECT_TRUE(fs::exists(corrupt)) << "removed without a word";
    // a managing run says the same at start, and runs
    EXPECT_EQ(swamp({"--state-dir", state.string(), "--no-history", "-q", "--", "/bin/touch", mark.string()}, out), 0)
        << out;
    EXPECT_NE(out.find(corrupt.string() + " is not a state file"), std::string::npos) << out;
    EXPECT_TRUE(fs::exists(mark));
    EXPECT_TRUE(fs::exists(corrupt));
}

// Item 10: the history (every user's command lines) is 0600 in a 0700 directory; the status
// file is 0640, readable by the monitoring group (--status-group), and the metrics file 0644,
// whatever root's umask.
TEST_F(RootFilesTest, HistoryIsPrivateAndTheStatusFileIsTheMonitoringGroups) {
    fs::path db = dir_ / "lib" / "swamp-bpf" / "history.db", status = dir_ / "status", metrics = dir_ / "metrics.prom";
    std::string out;
    int code = exit_code(run({"/bin/sh", "-c",
                              "umask 077; exec " + std::string(SWAMP_BIN) + " -q --history-db " + db.string() +
                                  " --status-file " + status.string() + " --status-group " + std::to_string(uid_) +
                                  " --metrics-file " + metrics.string() +
                                  " -- /bin/sh -c 'echo hello; sleep 0.2' 2>&1"},
                             out));
    EXPECT_EQ(code, 0) << out;
    EXPECT_EQ(mode_of(db.parent_path()), 0700u);
    EXPECT_EQ(mode_of(db), 0600u);
    EXPECT_EQ(mode_of(status), 0640u);
    EXPECT_EQ(mode_of(metrics), 0644u);
    // the monitoring group reads it (spawn_as: gid = uid_), nobody else does; all read the metrics
    Child c = spawn_as({"/bin/cat", status.string()}, uid_);
    std::string seen;
    EXPECT_EQ(exit_code(finish(c, seen)), 0) << seen;
    EXPECT_NE(seen.find("state=exited"), std::string::npos) << seen;
    Child other = spawn_as({"/bin/cat", status.string()}, 65534);
    EXPECT_NE(exit_code(finish(other, seen)), 0) << seen;
    Child m = spawn_as({"/bin/cat", metrics.string()}, 65534);
    EXPECT_EQ(exit_code(finish(m, seen)), 0) << seen;
    // and no other user reads the history, nor lists its directory
    Child h = spawn_as({"/bin/cat", db.string()}, uid_);
    EXPECT_NE(exit_code(finish(h, seen)), 0) << seen;
}

}  // namespace
