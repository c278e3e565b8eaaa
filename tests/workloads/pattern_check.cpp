// pattern_check MIB CPU_S [MIB_PER_S]: fills MIB MiB of anonymous memory with
// a pattern that differs per 8-byte word, at MIB_PER_S (default: as fast as it
// can; a paced fill grows like a compiler, so the controller sees it grow),
// burns CPU_S seconds of CPU time (so a SIGSTOP
// in between shows as a longer wall time, not as lost work), then reads every
// word back. Exits 0 when all of it is intact, 3 (and says where) when not.
// The page-out test stops it, pushes its memory out to swap, resumes it and
// relies on this check that nothing was lost on the way.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

namespace {

double cpu_s() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

uint64_t word(size_t i) { return (uint64_t(i) * 0x9E3779B97F4A7C15ull) ^ 0xA5A5A5A5A5A5A5A5ull; }

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3 && argc != 4) {
        std::fprintf(stderr, "usage: pattern_check MIB CPU_S [MIB_PER_S]\n");
        return 2;
    }
    size_t mib = size_t(std::strtoull(argv[1], nullptr, 10)), words = mib << 17;  // 8-byte words
    double burn = std::strtod(argv[2], nullptr);
    double rate = argc == 4 ? std::strtod(argv[3], nullptr) : 0;
    std::vector<uint64_t> mem;
    mem.reserve(words);  // untouched until filled
    for (size_t m = 0; m < mib; m++) {
        for (size_t i = m << 17; i < (m + 1) << 17; i++) mem.push_back(word(i));
        if (rate > 0) {
            timespec pause{0, long(1e9 / rate)};
            nanosleep(&pause, nullptr);
        }
    }
    volatile uint64_t sink = 0;
    while (cpu_s() < burn)
        for (int k = 0; k < 100000; k++) sink = sink + uint64_t(k);
    for (size_t i = 0; i < words; i++)
        if (mem[i] != word(i)) {
            std::fprintf(stderr, "pattern_check: word %zu is %#llx, not %#llx\n", i, (unsigned long long)mem[i],
                         (unsigned long long)word(i));
            return 3;
        }
    return 0;
}
