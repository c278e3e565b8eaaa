// fault_bench: a page-fault-heavy and fork-heavy microbenchmark.
//
// Each round maps N MiB of anonymous memory, touches every 4 KiB page (one
// minor fault per page), unmaps it, then forks F children that each touch
// 1 MiB of fresh memory and _exit. The wall time of the whole run is printed
// as "elapsed_s=X.XXXX" on the last line, so the overhead of tracing page
// faults and forks (e.g. swamp-bpf's probes) can be measured as
// elapsed(with tracer) / elapsed(without).

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

namespace {

constexpr const char* kUsage =
    "usage: fault_bench [--mib N] [--rounds R] [--forks F]\n"
    "  R rounds (default 10) of: mmap N MiB (default 256), touch every 4 KiB\n"
    "  page, munmap; then fork F children (default 20) that touch 1 MiB and _exit.\n"
    "  Last line of output: elapsed_s=X.XXXX (wall time).\n";

constexpr size_t kMiB = 1024 * 1024;
constexpr size_t kPage = 4096;

bool parse_num(const char* s, long& out) {
    char* end = nullptr;
    errno = 0;
    long v = std::strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0) return false;
    out = v;
    return true;
}

double now_s() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Map `len` bytes, fault in every 4 KiB page by writing to it, unmap.
// Returns false if the mapping failed.
bool touch_fresh(size_t len) {
    void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    madvise(p, len, MADV_NOHUGEPAGE);  // one fault per 4 KiB page, not per 2 MiB
    auto* bytes = static_cast<volatile unsigned char*>(p);
    for (size_t off = 0; off < len; off += kPage) bytes[off] = static_cast<unsigned char>(off);
    munmap(p, len);
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    long mib = 256, rounds = 10, forks = 20;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        long* target = a == "--mib" ? &mib : a == "--rounds" ? &rounds : a == "--forks" ? &forks : nullptr;
        if (!target || i + 1 >= argc || !parse_num(argv[i + 1], *target)) {
            std::fprintf(stderr, "fault_bench: bad argument '%s'\n%s", argv[i], kUsage);
            return 2;
        }
        ++i;
    }

    const double t0 = now_s();
    for (long r = 0; r < rounds; ++r) {
        if (mib > 0 && !touch_fresh(static_cast<size_t>(mib) * kMiB)) {
            std::perror("fault_bench: mmap");
            return 1;
        }
        for (long f = 0; f < forks; ++f) {
            pid_t pid = fork();
            if (pid == -1) {
                std::perror("fault_bench: fork");
                return 1;
            }
            if (pid == 0) _exit(touch_fresh(kMiB) ? 0 : 1);
        }
        // Reap this round's children before the next round.
        for (long f = 0; f < forks; ++f) {
            int status = 0;
            if (wait(&status) == -1) {
                if (errno == EINTR) { --f; continue; }
                std::perror("fault_bench: wait");
                return 1;
            }
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                std::fprintf(stderr, "fault_bench: a child failed (status 0x%x)\n", status);
                return 1;
            }
        }
    }
    const double elapsed = now_s() - t0;

    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    std::printf("mib=%ld rounds=%ld forks=%ld minflt_self=%ld\n", mib, rounds, forks, ru.ru_minflt);
    std::printf("elapsed_s=%.4f\n", elapsed);
    return 0;
}
