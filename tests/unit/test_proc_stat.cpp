#include <gtest/gtest.h>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sys/proc.hpp"
#include "test_util.hpp"

using namespace swamp;
using swamp::test::stat_line;

namespace {

size_t field_count_after_comm(const std::string& line) {
    std::istringstream in(line.substr(line.rfind(')') + 1));
    size_t n = 0;
    for (std::string t; in >> t;) n++;
    return n;
}

}  // namespace

TEST(ProcStat, HelperBuildsFiftyTwoFields) {
    EXPECT_EQ(field_count_after_comm(stat_line(1, "x", 'S', 0, 0, 0)) + 2, 52u);
}

TEST(ProcStat, NormalLine) {
    auto s = parse_proc_stat(stat_line(4321, "make", 'S', 4000, 4194560, 987654) + "\n");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->pid, 4321);
    EXPECT_EQ(s->ppid, 4000);
    EXPECT_EQ(s->comm, "make");
    EXPECT_EQ(s->state, 'S');
    EXPECT_EQ(s->flags, 4194560u);
    EXPECT_EQ(s->start_ticks, 987654u);
    EXPECT_FALSE(s->kernel_thread());
}

TEST(ProcStat, CommWithSpacesAndParentheses) {
    auto s = parse_proc_stat(stat_line(1234, "a (b) c", 'R', 77, 4194304, 5));
    ASSERT_TRUE(s);
    EXPECT_EQ(s->pid, 1234);
    EXPECT_EQ(s->comm, "a (b) c");
    EXPECT_EQ(s->ppid, 77);
    EXPECT_EQ(s->state, 'R');
    EXPECT_EQ(s->start_ticks, 5u);
}

TEST(ProcStat, CommThatLooksLikeFields) {
    for (std::string comm : {"x) S 1 2 3 (", "a)\n) S 9 (\n"}) {
        auto s = parse_proc_stat(stat_line(99, comm, 'D', 42, 0, 8) + "\n");
        ASSERT_TRUE(s) << comm;
        EXPECT_EQ(s->comm, comm);
        EXPECT_EQ(s->ppid, 42);
        EXPECT_EQ(s->state, 'D');
        EXPECT_EQ(s->start_ticks, 8u);
    }
}

TEST(ProcStat, EmptyComm) {
    auto s = parse_proc_stat(stat_line(5, "", 'S', 1, 0, 1));
    ASSERT_TRUE(s);
    EXPECT_EQ(s->comm, "");
    EXPECT_EQ(s->ppid, 1);
}

TEST(ProcStat, KernelThread) {
    // kthreadd: flags 0x208040 include PF_KTHREAD
    auto k = parse_proc_stat(stat_line(2, "kthreadd", 'S', 0, 0x208040, 0));
    ASSERT_TRUE(k);
    EXPECT_TRUE(k->kernel_thread());
    EXPECT_EQ(k->ppid, 0);

    auto only = parse_proc_stat(stat_line(30, "kworker/0:1-events", 'I', 2, 0x00200000, 10));
    ASSERT_TRUE(only);
    EXPECT_TRUE(only->kernel_thread());

    // PF_FORKNOEXEC | PF_RANDOMIZE etc. but not PF_KTHREAD
    auto user = parse_proc_stat(stat_line(31, "bash", 'S', 1, 0x00400140, 10));
    ASSERT_TRUE(user);
    EXPECT_FALSE(user->kernel_thread());
}

TEST(ProcStat, TruncatedLine) {
    std::string full = stat_line(4321, "make", 'S', 4000, 4194560, 987654);
    EXPECT_FALSE(parse_proc_stat(""));
    EXPECT_FALSE(parse_proc_stat("4321"));
    EXPECT_FALSE(parse_proc_stat("4321 (make"));
    EXPECT_FALSE(parse_proc_stat("4321 (make) S 4000 4321"));
    // cut just before field 22 (starttime)
    std::istringstream in(full);
    std::string line, tok;
    for (int i = 0; i < 21 && in >> tok; i++) line += (i ? " " : "") + tok;
    EXPECT_FALSE(parse_proc_stat(line)) << line;
    // with field 22 it is enough
    in >> tok;
    auto s = parse_proc_stat(line + " " + tok);
    ASSERT_TRUE(s) << line + " " + tok;
    EXPECT_EQ(s->start_ticks, 987654u);
}

TEST(ProcStat, BadPid) {
    EXPECT_FALSE(parse_proc_stat(stat_line(0, "x", 'S', 1, 0, 1)));
    std::string line = stat_line(7, "x", 'S', 1, 0, 1);
    EXPECT_FALSE(parse_proc_stat("abc" + line.substr(1)));
}

TEST(ProcStat, ReadsOurOwnProcess) {
    auto s = read_proc_stat(getpid());
    ASSERT_TRUE(s);
    EXPECT_EQ(s->pid, getpid());
    EXPECT_EQ(s->ppid, getppid());
    EXPECT_FALSE(s->kernel_thread());
}

// A comm may hold a newline (prctl(PR_SET_NAME), or a program file named so):
// /proc/PID/stat is then two lines, and the fields follow the last ')'.
TEST(ProcStat, ReadsARealProcessWithNewlineInItsName) {
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        prctl(PR_SET_NAME, "x\n) R 1 (\n<0>y");
        (void)!write(ready[1], "r", 1);
        pause();
        _exit(0);
    }
    char c;
    ASSERT_EQ(read(ready[0], &c, 1), 1);
    auto s = read_proc_stat(child);
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    close(ready[0]);
    close(ready[1]);
    ASSERT_TRUE(s) << "the stat file of a process named with a newline did not parse";
    EXPECT_EQ(s->comm, "x\n) R 1 (\n<0>y");
    EXPECT_EQ(s->pid, child);
    EXPECT_EQ(s->ppid, getpid());
    EXPECT_NE(s->start_ticks, 0u);
}

TEST(ProcFiles, OurOwnCommandLineAndDirectoryInFull) {
    std::vector<std::string> argv = read_cmdline(getpid());
    ASSERT_FALSE(argv.empty());
    EXPECT_NE(argv[0].find("unit_tests"), std::string::npos) << argv[0];
    char cwd[4096];
    ASSERT_TRUE(getcwd(cwd, sizeof cwd));
    EXPECT_EQ(read_cwd(getpid()), cwd);
    EXPECT_TRUE(read_cmdline(-1).empty());
    EXPECT_EQ(read_cwd(-1), "");
}

TEST(ProcFiles, SizesOfTheFilesThatExistRelativeToADirectory) {
    std::filesystem::path dir = std::filesystem::temp_directory_path() / ("swamp-sizes-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir / "sub");
    std::ofstream(dir / "a.o") << std::string(1000, 'x');
    std::ofstream(dir / "sub" / "b.o") << std::string(24, 'y');
    FilesSize s = files_size({"a.o", (dir / "sub" / "b.o").string(), "missing.o", "sub"}, dir.string());
    EXPECT_EQ(s.bytes, 1024u);
    EXPECT_EQ(s.count, 2u) << "a missing file and a directory do not count";
    std::filesystem::remove_all(dir);
}

// /proc/PID/environ is what the process was exec'd with, chosen by its user: only whole entries
// within the bound are read, a name must match exactly, and a value is returned as found.
TEST(ProcEnviron, ReadsNamedValuesWithinTheBound) {
    std::string big(100 * 1024, 'x');
    std::vector<std::string> env{"PFX=no", "CATEGORY=dev-libs", "PF=foo-1.0\n<0>x", "=odd", "noequals",
                                 "BIG=" + big, "LATE=after-the-big-one"};
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    int go[2];
    ASSERT_EQ(pipe(go), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(go[1]);
        char* argv[] = {const_cast<char*>("/bin/sh"), const_cast<char*>("-c"), const_cast<char*>("read x"), nullptr};
        dup2(go[0], 0);
        execve("/bin/sh", argv, envp.data());
        _exit(127);
    }
    close(go[0]);
    // the exec has happened once environ shows it
    for (int i = 0; i < 200 && read_environ(pid, {"CATEGORY"}).empty(); i++) usleep(5000);
    auto all = read_environ(pid, {"CATEGORY", "PF", "P", "LATE", "BIG"});
    EXPECT_EQ(all["CATEGORY"], "dev-libs");
    EXPECT_EQ(all["PF"], "foo-1.0\n<0>x");  // as found: package_name() is what checks it
    EXPECT_EQ(all.count("P"), 0u) << "a prefix of PFX or PF is not P";
    EXPECT_EQ(all["LATE"], "after-the-big-one");
    EXPECT_EQ(all["BIG"].size(), big.size());
    auto bounded = read_environ(pid, {"CATEGORY", "LATE", "BIG"}, 64 * 1024);
    EXPECT_EQ(bounded["CATEGORY"], "dev-libs");
    EXPECT_EQ(bounded.count("BIG"), 0u) << "an entry cut by the bound is not read";
    EXPECT_EQ(bounded.count("LATE"), 0u);
    close(go[1]);
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(read_environ(pid, {"CATEGORY"}).empty()) << "a process that is gone has none";
}
