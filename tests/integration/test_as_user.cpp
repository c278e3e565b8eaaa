// The user's side of a build (docs/usage.md, "Who the build runs as";
// docs/control.md, "Live control"): under sudo the launched build runs as the user who ran it, with their groups and
// environment, and its files are theirs; that user sees and steers the build over ctl and reads
// the status file, another user cannot.
#include <gtest/gtest.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "run_util.hpp"

using namespace swamp::test;
namespace fs = std::filesystem;

namespace {

const char* kUser = "swamp-asuser";
const char* kGroup = "swamp-asgrp";  // a supplementary group of kUser
constexpr uid_t kNobody = 65534;

int code_of(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

uid_t owner_of(const fs::path& p) {
    struct stat st{};
    return lstat(p.c_str(), &st) == 0 ? st.st_uid : uid_t(-1);
}

class AsUserTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!is_root()) GTEST_SKIP() << "needs root";
        std::string ignored;
        // left by a crashed run, or new: removed at the end either way
        run({"/usr/sbin/userdel", kUser}, ignored);
        run({"/usr/sbin/groupdel", kGroup}, ignored);
        run({"/usr/sbin/groupadd", "-r", kGroup}, ignored);
        run({"/usr/sbin/useradd", "-M", "-r", "-G", kGroup, "-d", "/nonexistent/swamp-asuser", "-s", "/bin/sh", kUser},
            ignored);
        passwd* pw = getpwnam(kUser);
        group* gr = getgrnam(kGroup);
        created_ = pw && gr;
        ASSERT_TRUE(created_) << "cannot create the user " << kUser << " and group " << kGroup;
        uid_ = pw->pw_uid;
        gid_ = pw->pw_gid;
        extra_gid_ = gr->gr_gid;
        dir_ = fresh_dir("asuser");
        chmod(dir_.c_str(), 0755);
        out_ = dir_ / "out";  // where the build writes: the user's
        fs::create_directories(out_);
        ASSERT_EQ(chown(out_.c_str(), uid_, gid_), 0);
    }
    void TearDown() override {
        if (IsSkipped()) return;
        if (swamp_.pid > 0) {
            kill(swamp_.pid, SIGTERM);
            std::string ignored;
            finish(swamp_, ignored);
        }
        std::string ignored;
        run({"/usr/sbin/userdel", kUser}, ignored);
        run({"/usr/sbin/groupdel", kGroup}, ignored);
        fs::remove_all(dir_);
        EXPECT_EQ(stopped_build_processes(), std::vector<std::string>{});
    }

    // `swamp-bpf ARGS` as root with `env` added to ours (as sudo would leave it), stdout and
    // stderr together; returns the exit code.
    int swamp(const std::vector<std::string>& env, const std::vector<std::string>& args, std::string& out) {
        std::vector<std::string> argv{"/usr/bin/env"};
        argv.insert(argv.end(), env.begin(), env.end());
        argv.insert(argv.end(), {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1", SWAMP_BIN});
        argv.insert(argv.end(), args.begin(), args.end());
        return code_of(run(argv, out));
    }

    std::vector<std::string> sudo_env() const {
        return {"SUDO_UID=" + std::to_string(uid_), "SUDO_GID=" + std::to_string(gid_), std::string("SUDO_USER=") + kUser,
                "SUDO_COMMAND=/usr/sbin/swamp-bpf", "HOME=/root", "USER=root", "LOGNAME=root", "MAIL=/var/mail/root"};
    }

    fs::path dir_, out_;
    Child swamp_;
    bool created_ = false;
    uid_t uid_ = 0;
    gid_t gid_ = 0, extra_gid_ = 0;
};

// Under sudo the build runs as the user who ran it: its files are theirs, it has their
// supplementary groups and their HOME, USER and LOGNAME, and nothing of sudo's; --as root
// keeps it root; a user that cannot be resolved is an error before anything runs.
TEST_F(AsUserTest, UnderSudoTheBuildRunsAsTheUserAndItsFilesAreTheirs) {
    std::string script = "id -u; id -g; id -G; echo \"HOME=$HOME USER=$USER LOGNAME=$LOGNAME\"; "
                         "env | grep -c -e '^SUDO_' -e '^MAIL=' || true; touch " + (out_ / "built").string();
    std::string out;
    ASSERT_EQ(swamp(sudo_env(), {"--no-history", "--", "/bin/sh", "-c", script}, out), 0) << out;
    std::istringstream lines(out);
    std::vector<std::string> got;
    for (std::string line; std::getline(lines, line);)
        if (line.rfind("swamp-bpf", 0) != 0) got.push_back(line);
    ASSERT_GE(got.size(), 5u) << out;
    EXPECT_EQ(got[0], std::to_string(uid_)) << out;
    EXPECT_EQ(got[1], std::to_string(gid_)) << out;
    EXPECT_NE((" " + got[2] + " ").find(" " + std::to_string(extra_gid_) + " "), std::string::npos)
        << "no supplementary group " << extra_gid_ << " in: " << got[2];
    EXPECT_EQ(got[3], std::string("HOME=/nonexistent/swamp-asuser USER=") + kUser + " LOGNAME=" + kUser) << out;
    EXPECT_EQ(got[4], "0") << "sudo's variables reached the build: " << out;
    EXPECT_EQ(owner_of(out_ / "built"), uid_) << "the build's file is not the user's";
    EXPECT_NE(out.find(std::string("managing /bin/sh as ") + kUser), std::string::npos) << out;

    // --as root: root's build, as before
    fs::path as_root = dir_ / "as-root";
    ASSERT_EQ(swamp(sudo_env(), {"--no-history", "--as", "root", "--", "/bin/touch", as_root.string()}, out), 0) << out;
    EXPECT_EQ(owner_of(as_root), 0u);
    // --as NAME, from root with no sudo at all
    fs::path as_name = out_ / "as-name";
    ASSERT_EQ(swamp({}, {"--no-history", "--as", kUser, "--", "/bin/touch", as_name.string()}, out), 0) << out;
    EXPECT_EQ(owner_of(as_name), uid_);
    // trace -- CMD runs it the same way
    fs::path traced = out_ / "traced";
    ASSERT_EQ(swamp(sudo_env(), {"trace", "-o", (dir_ / "trace.txt").string(), "--", "/bin/touch", traced.string()}, out),
              0)
        << out;
    EXPECT_EQ(owner_of(traced), uid_);

    // an invoking user nobody knows: exit 2, one clear line, the command never runs
    fs::path never = dir_ / "never";
    EXPECT_EQ(swamp({"SUDO_UID=3999999"}, {"--no-history", "--", "/bin/touch", never.string()}, out), 2) << out;
    EXPECT_NE(out.find("SUDO_UID=3999999"), std::string::npos) << out;
    EXPECT_NE(out.find("--as"), std::string::npos) << out;
    EXPECT_FALSE(fs::exists(never));
    EXPECT_EQ(swamp({}, {"--no-history", "--as", "no-such-user-here", "--", "/bin/touch", never.string()}, out), 2)
        << out;
    EXPECT_FALSE(fs::exists(never));
    // --as is for a command we launch
    EXPECT_EQ(swamp({}, {"--as", kUser, "--root-pid", "1"}, out), 2) << out;
}

// The build's owner uses ctl without root: status (text and JSON), pause and resume of their
// own build; another user is refused; the status file is the owner's (0640).
TEST_F(AsUserTest, TheOwnerSeesAndSteersTheirBuildAndOthersAreRefused) {
    fs::path run_dir = dir_ / "run";  // root's, 0755: made by swamp-bpf
    std::string sock = (run_dir / "ctl.sock").string(), status_file = (run_dir / "status").string();
    std::string hog = std::string(HOG_BIN) + " --mib 20 --cpu-s 30 --out " + (out_ / "hog.out").string();
    std::ofstream(dir_ / "Makefile") << "all:\n\t" << hog << "\n";
    std::vector<std::string> argv{"/usr/bin/env"};
    for (const std::string& e : sudo_env()) argv.push_back(e);
    for (const char* a : {SWAMP_BIN, "--no-history", "--cpus", "0", "--socket"}) argv.push_back(a);
    argv.insert(argv.end(), {sock, "--status-file", status_file, "--status-group", kGroup, "--", "/usr/bin/make", "-s",
                             "-f", (dir_ / "Makefile").string()});
    swamp_ = spawn(argv);
    auto ctl_as = [&](uid_t uid, const std::vector<std::string>& args, std::string& out) {
        std::vector<std::string> a{SWAMP_BIN, "ctl", "--socket", sock};
        a.insert(a.end(), args.begin(), args.end());
        out.clear();
        Child c = spawn_as(a, uid);
        return code_of(finish(c, out));
    };
    std::string out;
    ASSERT_TRUE(wait_until([&] { return ctl_as(uid_, {"status"}, out) == 0 && out.find(" hog ") != std::string::npos; },
                           30))
        << out;
    EXPECT_NE(out.find(std::string("managing /usr/bin/make as ") + kUser), std::string::npos) << out;
    struct stat st{};
    ASSERT_EQ(lstat(sock.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, uid_) << "the socket is the owner's";
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(lstat(run_dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0u) << "the directory stays root's";
    EXPECT_EQ(st.st_mode & 0777, 0755u);

    ASSERT_EQ(ctl_as(uid_, {"status", "--json"}, out), 0) << out;
    auto j = nlohmann::json::parse(out);
    ASSERT_EQ(j["jobs"].size(), 1u) << out;
    EXPECT_EQ(j["jobs"][0]["name"], "hog");

    // the owner pauses their build: the hog is really stopped; and resumes it
    ASSERT_EQ(ctl_as(uid_, {"pause"}, out), 0) << out;
    EXPECT_NE(out.find("paused"), std::string::npos) << out;
    pid_t hog_pid = j["jobs"][0]["pid"];
    auto state = [&] {
        for (const ProcInfo& p : processes())
            if (p.pid == hog_pid) return p.state;
        return '?';
    };
    EXPECT_TRUE(wait_until([&] { return state() == 'T'; }, 5)) << state();
    ASSERT_EQ(ctl_as(uid_, {"limit", "1"}, out), 0) << out;
    ASSERT_EQ(ctl_as(uid_, {"resume"}, out), 0) << out;
    EXPECT_TRUE(wait_until([&] { return state() != 'T'; }, 5)) << state();

    // another user: refused (the socket is not theirs to connect to), and nothing changes
    EXPECT_EQ(ctl_as(kNobody, {"status"}, out), 3) << out;
    EXPECT_NE(out.find("build's owner"), std::string::npos) << out;
    EXPECT_EQ(ctl_as(kNobody, {"pause"}, out), 3) << out;
    usleep(300 * 1000);
    EXPECT_NE(state(), 'T');
    // root still may
    ASSERT_EQ(run_ctl(sock, {"status"}, out), 0) << out;
    EXPECT_NE(out.find("at most 1 running job"), std::string::npos) << out;

    // the status file: the owner's, of the monitoring group, 0640; readable by them, not by others
    ASSERT_TRUE(wait_until([&] { return fs::exists(status_file); }, 3));
    ASSERT_EQ(lstat(status_file.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, uid_);
    EXPECT_EQ(st.st_gid, getgrnam(kGroup)->gr_gid);
    EXPECT_EQ(st.st_mode & 0777, 0640u);
    Child cat = spawn_as({"/bin/cat", status_file}, uid_);
    EXPECT_EQ(code_of(finish(cat, out)), 0) << out;
    EXPECT_NE(out.find("state="), std::string::npos) << out;
    Child denied = spawn_as({"/bin/cat", status_file}, kNobody);
    EXPECT_NE(code_of(finish(denied, out)), 0) << out;

    kill(swamp_.pid, SIGTERM);
    finish(swamp_, out);
    swamp_ = {};
}

}  // namespace

namespace {

// An emerge-like build (a fake `emerge` that sets CATEGORY and PF, as portage does for
// ebuild.sh, and runs make) is named by its package in ctl status, the trace and the report;
// a compile job by the file it makes.
TEST(NamesTest, AnEmergeBuildIsNamedByItsPackageAndAJobByItsOutput) {
    if (!is_root()) GTEST_SKIP() << "needs root";
    fs::path dir = fresh_dir("names");
    std::string sock = (dir / "run" / "ctl.sock").string(), rec = (dir / "rec.jsonl").string();
    std::ofstream(dir / "Makefile") << "all:\n\t" << HOG_BIN << " --mib 20 --cpu-s 3 --out " << (dir / "big.o").string()
                                    << "\n";
    fs::path emerge = dir / "emerge";
    std::ofstream(emerge) << "#!/bin/sh\nexport CATEGORY=dev-libs PF=fakepkg-1.2.3-r1\nexec make -s -f "
                          << (dir / "Makefile").string() << "\n";
    fs::permissions(emerge, fs::perms::owner_all);
    Child swamp = spawn({SWAMP_BIN, "--no-history", "--cpus", "0", "--socket", sock, "--record", rec, "--trace",
                         "--trace-output", (dir / "trace.txt").string(), "--", emerge.string()});
    std::string out;
    nlohmann::json job;
    EXPECT_TRUE(wait_until(
        [&] {
            if (run_ctl(sock, {"status", "--json"}, out) != 0) return false;
            auto j = nlohmann::json::parse(out, nullptr, false);
            if (j.is_discarded() || j["jobs"].empty()) return false;
            job = j["jobs"][0];
            return true;
        },
        30))
        << out;
    EXPECT_EQ(job["package"], "dev-libs/fakepkg-1.2.3-r1") << job.dump();
    EXPECT_EQ(job["target"], "big.o") << job.dump();
    ASSERT_EQ(run_ctl(sock, {"status"}, out), 0);
    EXPECT_NE(out.find("PACKAGE"), std::string::npos) << out;
    EXPECT_NE(out.find("hog big.o"), std::string::npos) << out;
    EXPECT_NE(out.find("dev-libs/fakepkg-1.2.3-r1"), std::string::npos) << out;
    // a pause makes a decision: the trace names the job's output and package
    ASSERT_EQ(run_ctl(sock, {"pause"}, out), 0) << out;
    usleep(200 * 1000);
    ASSERT_EQ(run_ctl(sock, {"resume"}, out), 0) << out;
    EXPECT_EQ(code_of(finish(swamp, out)), 0) << out;

    std::string trace = file_text((dir / "trace.txt").string());
    EXPECT_TRUE(std::regex_search(trace, std::regex(" (make|emerge) +PACKAGE +dev-libs/fakepkg-1\\.2\\.3-r1\n"))) << trace;
    EXPECT_NE(trace.find("(big.o, dev-libs/fakepkg-1.2.3-r1): paused by the user"), std::string::npos) << trace;
    std::string recorded = file_text(rec);
    EXPECT_NE(recorded.find("\"event\":\"package\""), std::string::npos);
    fs::path svg = dir / "build.svg";
    ASSERT_EQ(code_of(run({SWAMP_BIN, "report", rec, "-o", svg.string()}, out)), 0) << out;
    std::string picture = file_text(svg.string());
    EXPECT_NE(picture.find(">hog big.o (fakepkg"), std::string::npos) << "the row's label (cut to fit)";
    EXPECT_NE(picture.find("\npackage dev-libs/fakepkg-1.2.3-r1\n"), std::string::npos) << "the row's title";
    fs::remove_all(dir);
}

}  // namespace
