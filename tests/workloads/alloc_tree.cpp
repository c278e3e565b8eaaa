// alloc_tree: a tiny, deterministic process tree with known memory sizes.
//
// For every MIB argument the parent forks one child. The child (by default
// after re-executing this binary, so that an exec event is seen) maps exactly
// MIB MiB of anonymous memory, writes every page so that it is resident,
// holds it for --hold-ms milliseconds and exits 0. The parent prints
// "child PID MIB" for each child and exits 0 only if every child exited 0.
//
// Used by tests to check what swamp-bpf observes (fork/exec/exit events and
// per-process RSS) against numbers that are known in advance.

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

constexpr const char* kUsage =
    "usage: alloc_tree [--hold-ms N] [--exec SELF | --no-exec] [--parallel] MIB [MIB...]\n"
    "  For each MIB, fork a child that maps MIB MiB of anonymous memory,\n"
    "  writes every page, holds it for --hold-ms (default 300) and exits 0.\n"
    "  --exec SELF  path the child re-executes (default /proc/self/exe)\n"
    "  --no-exec    children do not exec; they allocate right after fork\n"
    "  --parallel   start all children at once (default: one after another)\n"
    "  Prints 'child PID MIB' per child; exits 0 if all children exited 0.\n";

constexpr size_t kMiB = 1024 * 1024;

bool parse_num(const char* s, long& out) {
    char* end = nullptr;
    errno = 0;
    long v = std::strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0) return false;
    out = v;
    return true;
}

void sleep_ms(long ms) {
    timespec ts{ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

// The child's whole job: make exactly `mib` MiB resident, hold, exit.
[[noreturn]] void run_child(long mib, long hold_ms) {
    size_t len = static_cast<size_t>(mib) * kMiB;
    if (len > 0) {
        void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            std::perror("alloc_tree: mmap");
            _exit(1);
        }
        // 4 KiB pages so RSS grows page by page like ordinary heap memory.
        madvise(p, len, MADV_NOHUGEPAGE);
        const long page = sysconf(_SC_PAGESIZE);
        auto* bytes = static_cast<volatile unsigned char*>(p);
        for (size_t off = 0; off < len; off += static_cast<size_t>(page)) bytes[off] = 1;
    }
    sleep_ms(hold_ms);
    _exit(0);
}

}  // namespace

int main(int argc, char** argv) {
    long hold_ms = 300;
    std::string self = "/proc/self/exe";
    bool do_exec = true;
    bool parallel = false;
    std::vector<long> sizes;

    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto need_value = [&](const char* opt) -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "alloc_tree: %s needs a value\n%s", opt, kUsage);
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (a == "--child") {
            // Hidden: we are a re-executed child. argv: --child MIB --hold-ms N
            long mib = 0;
            if (!parse_num(need_value("--child"), mib)) return 2;
            for (int j = i + 1; j + 1 < argc; ++j)
                if (std::string(argv[j]) == "--hold-ms") parse_num(argv[j + 1], hold_ms);
            run_child(mib, hold_ms);
        } else if (a == "--hold-ms") {
            if (!parse_num(need_value("--hold-ms"), hold_ms)) {
                std::fprintf(stderr, "alloc_tree: bad --hold-ms\n");
                return 2;
            }
        } else if (a == "--exec") {
            self = need_value("--exec");
            do_exec = true;
        } else if (a == "--no-exec") {
            do_exec = false;
        } else if (a == "--parallel") {
            parallel = true;
        } else {
            long mib = 0;
            if (!parse_num(argv[i], mib)) {
                std::fprintf(stderr, "alloc_tree: bad argument '%s'\n%s", argv[i], kUsage);
                return 2;
            }
            sizes.push_back(mib);
        }
    }
    if (sizes.empty()) {
        std::fputs(kUsage, stderr);
        return 2;
    }

    std::vector<pid_t> pids;
    bool all_ok = true;

    auto reap = [&](pid_t pid) {
        int status = 0;
        while (waitpid(pid, &status, 0) == -1 && errno == EINTR) {
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            std::fprintf(stderr, "alloc_tree: child %d failed (status 0x%x)\n", pid, status);
            all_ok = false;
        }
    };

    for (long mib : sizes) {
        std::fflush(stdout);  // don't duplicate buffered output into the child
        pid_t pid = fork();
        if (pid == -1) {
            std::perror("alloc_tree: fork");
            return 1;
        }
        if (pid == 0) {
            if (do_exec) {
                std::string m = std::to_string(mib), h = std::to_string(hold_ms);
                char* args[] = {const_cast<char*>("alloc_tree"), const_cast<char*>("--child"),
                                m.data(), const_cast<char*>("--hold-ms"), h.data(), nullptr};
                execv(self.c_str(), args);
                std::perror("alloc_tree: execv");
                _exit(127);
            }
            run_child(mib, hold_ms);
        }
        std::printf("child %d %ld\n", pid, mib);
        std::fflush(stdout);
        if (parallel)
            pids.push_back(pid);
        else
            reap(pid);
    }
    for (pid_t pid : pids) reap(pid);
    return all_ok ? 0 : 1;
}
