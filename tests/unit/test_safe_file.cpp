// Files root writes (userspace/sys/safe_file.hpp): never through a symlink or a
// hard link, never into a directory another user may change.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "sys/safe_file.hpp"
#include "test_util.hpp"
#include "util/error.hpp"

using namespace swamp;
using namespace swamp::test;

namespace {

std::string text_of(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

mode_t mode_of(const std::string& path) {
    struct stat st{};
    lstat(path.c_str(), &st);
    return st.st_mode & 07777;
}

size_t entries(const std::string& dir) {
    return size_t(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator{}));
}

}  // namespace

TEST(SafeFile, AtomicWriteReplacesWithTheModeAndLeavesNothingBehind) {
    TempDir d;
    std::string path = d.path + "/status";
    umask(077);
    EXPECT_EQ(write_file_atomic(path, "one\n", 0644), "");
    EXPECT_EQ(write_file_atomic(path, "two\n", 0644), "");
    umask(022);
    EXPECT_EQ(text_of(path), "two\n");
    EXPECT_EQ(mode_of(path), 0644u);
    EXPECT_EQ(entries(d.path), 1u);
}

TEST(SafeFile, AtomicWriteNeverFollowsASymlink) {
    TempDir d;
    std::string victim = d.path + "/victim", path = d.path + "/sub/x";
    std::filesystem::create_directory(d.path + "/sub");
    std::ofstream(victim) << "precious";
    ASSERT_EQ(symlink(victim.c_str(), (path + ".tmp").c_str()), 0);  // the old, predictable temporary name
    EXPECT_EQ(write_file_atomic(path, "status\n"), "");
    EXPECT_EQ(text_of(victim), "precious");
    ASSERT_EQ(symlink(victim.c_str(), (d.path + "/sub/y").c_str()), 0);
    EXPECT_EQ(write_file_atomic(d.path + "/sub/y", "status\n"), "it is a symbolic link");
    EXPECT_EQ(unsafe_output(d.path + "/sub/y"), "it is a symbolic link");
    EXPECT_EQ(text_of(victim), "precious");
}

TEST(SafeFile, OpenOutputTruncatesARegularFileAndRefusesLinks) {
    TempDir d;
    std::string path = d.path + "/trace", victim = d.path + "/victim";
    std::ofstream(path) << "an older trace, longer than the new one";
    *open_output("the trace", path) << "new";
    EXPECT_EQ(text_of(path), "new");
    std::ofstream(victim) << "precious";
    ASSERT_EQ(symlink(victim.c_str(), (d.path + "/sym").c_str()), 0);
    ASSERT_EQ(link(victim.c_str(), (d.path + "/hard").c_str()), 0);
    try {
        open_output("the trace", d.path + "/sym");
        ADD_FAILURE() << "a symlink was opened";
    } catch (const UserError& e) {
        EXPECT_EQ(e.code(), ExitCode::Usage);
        EXPECT_EQ(std::string(e.what()), "cannot write the trace " + d.path + "/sym: it is a symbolic link");
    }
    EXPECT_THROW(open_output("the trace", d.path + "/hard"), UserError);
    ASSERT_EQ(mkfifo((d.path + "/fifo").c_str(), 0600), 0);
    EXPECT_THROW(open_output("the trace", d.path + "/fifo"), UserError);  // refused, without blocking
    EXPECT_EQ(text_of(victim), "precious");
    umask(077);
    open_output("the report", d.path + "/new.svg").reset();
    umask(022);
    EXPECT_EQ(mode_of(d.path + "/new.svg"), 0644u);
}

TEST(SafeFile, ADirectoryOthersMayWriteIsRefusedUnlessSticky) {
    TempDir d;
    std::string open_dir = d.path + "/open", sticky = d.path + "/sticky";
    mkdir(open_dir.c_str(), 0777);
    chmod(open_dir.c_str(), 0777);
    mkdir(sticky.c_str(), 0777);
    chmod(sticky.c_str(), 01777);
    EXPECT_EQ(unsafe_output(open_dir + "/x"), open_dir + " is writable by other users (mode 0777, no sticky bit)");
    EXPECT_EQ(write_file_atomic(open_dir + "/x", "a"), open_dir + " is writable by other users (mode 0777, no sticky bit)");
    EXPECT_THROW(open_output("the trace", open_dir + "/sub/x"), UserError);
    EXPECT_EQ(unsafe_output(sticky + "/x"), "");
    EXPECT_EQ(unsafe_output(sticky + "/x", false, false), sticky + " is writable by other users (mode 1777)");
    EXPECT_NE(unsafe_output(d.path + "/missing/x"), "");
    EXPECT_EQ(unsafe_output(d.path + "/missing/x", true), "");
    EXPECT_NE(unsafe_output(d.path + "/"), "");  // no file name
    try {
        require_safe_output("--metrics-file", open_dir + "/x");
        ADD_FAILURE() << "not refused";
    } catch (const UserError& e) {
        EXPECT_EQ(e.code(), ExitCode::Usage);
        EXPECT_EQ(std::string(e.what()), "--metrics-file " + open_dir + "/x: refused: " + open_dir +
                                             " is writable by other users (mode 0777, no sticky bit)");
    }
}

TEST(SafeFile, EnsurePrivateDirCreatesItAndChecksAnExistingOne) {
    TempDir d;
    std::string dir = d.path + "/run/swamp-bpf";
    umask(077);
    EXPECT_EQ(ensure_private_dir(dir, 0755), "");
    umask(022);
    EXPECT_EQ(mode_of(dir), 0755u);
    EXPECT_EQ(mode_of(d.path + "/run"), 0755u);
    EXPECT_EQ(ensure_private_dir(dir, 0755), "");  // again: fine
    chmod(dir.c_str(), 01777);
    EXPECT_EQ(ensure_private_dir(dir, 0755), dir + " is writable by other users (mode 1777)");
    std::filesystem::create_directory(d.path + "/real");
    ASSERT_EQ(symlink((d.path + "/real").c_str(), (d.path + "/link").c_str()), 0);
    EXPECT_EQ(ensure_private_dir(d.path + "/link", 0755), d.path + "/link is not a directory");
}

TEST(SafeFile, ADirectoryOfAnotherUserIsRefused) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
    TempDir d;
    std::string dir = d.path + "/theirs";
    mkdir(dir.c_str(), 0755);
    ASSERT_EQ(chown(dir.c_str(), 65534, 65534), 0);
    EXPECT_NE(unsafe_output(dir + "/x").find(dir + " belongs to uid 65534"), std::string::npos);
    EXPECT_NE(ensure_private_dir(dir, 0755).find(dir + " belongs to uid 65534"), std::string::npos);
    std::string file = d.path + "/their-file";
    std::ofstream(file) << "x";
    ASSERT_EQ(chown(file.c_str(), 65534, 65534), 0);
    EXPECT_NE(unsafe_output(file).find("it belongs to uid 65534"), std::string::npos);
}

// sudo swamp-bpf --record run.jsonl in the user's own build directory: an output
// file may go there, never through a link; root's own files (the socket's
// directory) may not.
TEST(SafeFile, TheInvokingUsersOwnDirectoryTakesOutputFiles) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to chown";
    TempDir d;
    std::string dir = d.path + "/mine";
    mkdir(dir.c_str(), 0755);
    ASSERT_EQ(chown(dir.c_str(), 65534, 65534), 0);
    setenv("SUDO_UID", "65534", 1);
    EXPECT_EQ(unsafe_output(dir + "/run.jsonl"), "");
    EXPECT_EQ(write_file_atomic(dir + "/status", "x\n"), "");
    EXPECT_NE(unsafe_output(dir + "/ctl.sock", false, false).find("belongs to uid 65534"), std::string::npos);
    ASSERT_EQ(symlink("/etc/passwd", (dir + "/link").c_str()), 0);
    EXPECT_EQ(unsafe_output(dir + "/link"), "it is a symbolic link");
    unsetenv("SUDO_UID");
    EXPECT_NE(unsafe_output(dir + "/run.jsonl").find("belongs to uid 65534"), std::string::npos);
}
