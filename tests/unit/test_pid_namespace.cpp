// The pid namespace check: pids from the BPF side are the host's, so swamp-bpf must run in
// the initial pid namespace, with that namespace's procfs on /proc.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "sys/pid_namespace.hpp"

using namespace swamp;

namespace {

PidNamespaceFacts host() {
    PidNamespaceFacts f;
    f.ns_inode = f.children_ns_inode = kInitPidNsInode;
    f.proc_self = f.pid = 4242;
    return f;
}

bool has(const std::string& text, const std::string& piece) { return text.find(piece) != std::string::npos; }

TEST(PidNamespace, TheHostsNamespaceWithItsProcIsFine) { EXPECT_EQ(pid_namespace_problem(host()), ""); }

TEST(PidNamespace, AContainersNamespaceIsRefusedWithWhatToDo) {
    PidNamespaceFacts f = host();
    f.ns_inode = f.children_ns_inode = 4026532175;  // what `unshare --pid --fork --mount-proc` got here
    std::string p = pid_namespace_problem(f);
    EXPECT_TRUE(has(p, "must run in the host's pid namespace")) << p;
    EXPECT_TRUE(has(p, "pid:[4026532175]")) << p;
    EXPECT_TRUE(has(p, "wrong ones")) << p;
    EXPECT_TRUE(has(p, "--root-pid")) << p;
    EXPECT_TRUE(has(p, "--pid=host")) << p;
    EXPECT_EQ(p.find('\n'), std::string::npos) << "one line";
}

TEST(PidNamespace, ChildrenInANewNamespaceAreRefused) {
    PidNamespaceFacts f = host();
    f.children_ns_inode = 4026532180;  // unshare(CLONE_NEWPID) without a fork
    std::string p = pid_namespace_problem(f);
    EXPECT_TRUE(has(p, "the processes it starts would be in pid:[4026532180]")) << p;
    f.children_ns_inode = 0;  // the link is missing until the new namespace's first fork
    p = pid_namespace_problem(f);
    EXPECT_TRUE(has(p, "the processes it starts would be in a new one")) << p;
}

TEST(PidNamespace, AProcOfAnotherNamespaceIsRefused) {
    PidNamespaceFacts f = host();
    f.proc_self = 3;  // a procfs mounted in a child namespace, which numbers us otherwise
    EXPECT_TRUE(has(pid_namespace_problem(f), "/proc is not the procfs of swamp-bpf's pid namespace (/proc/self is pid 3, swamp-bpf is pid 4242)"));
    f.proc_self = 0;
    EXPECT_TRUE(has(pid_namespace_problem(f), "/proc/self is no process"));
}

TEST(PidNamespace, AnUnreadableNamespaceLinkIsRefused) {
    PidNamespaceFacts f = host();
    f.ns_inode = 0;
    f.ns_errno = ENOENT;
    std::string p = pid_namespace_problem(f);
    EXPECT_TRUE(has(p, "cannot read /proc/self/ns/pid (No such file or directory)")) << p;
}

// stat() reads the namespace's inode through the link, the number readlink() shows.
TEST(PidNamespace, ReadsThisProcess) {
    PidNamespaceFacts f = read_pid_namespace();
    EXPECT_EQ(f.pid, getpid());
    EXPECT_EQ(f.proc_self, getpid());
    char link[64] = {};
    ASSERT_GT(readlink("/proc/self/ns/pid", link, sizeof link - 1), 0);
    EXPECT_EQ(std::string(link), "pid:[" + std::to_string(f.ns_inode) + "]");
    EXPECT_EQ(f.children_ns_inode, f.ns_inode);
}

// A new pid namespace, as a container or `unshare --pid` makes it: the process that made it
// (whose children go there) and a child in it are both refused. /proc stays the parent's.
TEST(PidNamespace, ANewPidNamespaceIsRefused) {
    int fds[2], hold[2];
    ASSERT_EQ(pipe(fds), 0);
    ASSERT_EQ(pipe(hold), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        close(fds[0]);
        // as root a pid namespace alone; as a user, in a user namespace of its own
        if (unshare(CLONE_NEWPID) != 0 && unshare(CLONE_NEWUSER | CLONE_NEWPID) != 0) _exit(77);
        PidNamespaceFacts before = read_pid_namespace();  // its children's namespace has no process yet
        pid_t inner = fork();
        if (inner == 0) {
            close(hold[1]);
            PidNamespaceFacts in = read_pid_namespace();
            bool ok = write(fds[1], &in, sizeof in) == sizeof in;
            char c;
            (void)!read(hold[0], &c, 1);  // alive until the maker has looked again
            _exit(ok ? 0 : 1);
        }
        close(hold[0]);
        int status = 0;
        PidNamespaceFacts after = read_pid_namespace();
        close(hold[1]);
        waitpid(inner, &status, 0);
        bool ok = write(fds[1], &before, sizeof before) == sizeof before &&
                  write(fds[1], &after, sizeof after) == sizeof after;
        _exit(ok && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1);
    }
    close(fds[1]);
    close(hold[0]);
    close(hold[1]);
    PidNamespaceFacts inner{}, before{}, after{};
    bool got = read(fds[0], &inner, sizeof inner) == sizeof inner &&
               read(fds[0], &before, sizeof before) == sizeof before && read(fds[0], &after, sizeof after) == sizeof after;
    close(fds[0]);
    int status = 0;
    waitpid(child, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77) GTEST_SKIP() << "no pid namespace may be made here";
    ASSERT_TRUE(got && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    PidNamespaceFacts here = read_pid_namespace();
    // the maker stays where we are, but its children go to the new namespace: refused before
    // and after its first child
    EXPECT_EQ(before.ns_inode, here.ns_inode);
    EXPECT_EQ(before.children_ns_inode, 0u);
    EXPECT_EQ(after.children_ns_inode, inner.ns_inode);
    EXPECT_NE(pid_namespace_problem(before), "");
    EXPECT_NE(pid_namespace_problem(after), "");
    // the child: pid 1 there, another number in our /proc
    EXPECT_EQ(inner.pid, 1);
    EXPECT_NE(inner.proc_self, 1);
    EXPECT_NE(inner.ns_inode, kInitPidNsInode);
    EXPECT_TRUE(has(pid_namespace_problem(inner), "must run in the host's pid namespace: it runs in pid:[" +
                                                      std::to_string(inner.ns_inode) + "]"));
    if (here.ns_inode == kInitPidNsInode) {
        EXPECT_TRUE(has(pid_namespace_problem(before), "the processes it starts would be in a new one"));
        EXPECT_TRUE(has(pid_namespace_problem(after), "the processes it starts would be in pid:[" +
                                                          std::to_string(inner.ns_inode) + "]"));
    }
}

}  // namespace
