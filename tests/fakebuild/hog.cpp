// hog: emulates one compiler or linker job of a parallel build.
//
// It burns --cpu-s seconds of CPU time (measured with
// CLOCK_PROCESS_CPUTIME_ID, so time spent stopped or descheduled does not
// count) and, as that CPU time is used, grows its resident anonymous memory
// towards --mib MiB following --shape:
//   ramp   grows linearly over the run (a typical compile)
//   early  reaches the peak within the first 30% (a heavy template TU)
//   late   stays small for 60%, then grows to the peak (a linker)
// Every step (10 ms of CPU) it also re-writes a slice of the memory it already
// has, cycling through all of it every ~20 steps, the way a compiler keeps
// walking its data; under a memory limit with swap this causes real faults.
// At the end it writes --out FILE (atomically, via rename) and exits 0.
// HOG_TIME_SCALE=F in the environment multiplies --cpu-s by F (a whole fake
// build run faster or slower, same memory shapes; tests/bench/outcome.sh).
// A missing --in file makes it exit 2 at once, like a compiler with a missing
// input. SIGSTOP/SIGCONT need no special handling: while stopped it does not
// run at all, and progress is measured in CPU time.

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "hog_shape.hpp"

namespace {

constexpr const char* kUsage =
    "usage: hog --mib PEAK --cpu-s SECONDS [--shape ramp|early|late] [--out FILE] [--in FILE...]\n"
    "           [--verbose]\n"
    "  Burns SECONDS of CPU time while growing resident memory to PEAK MiB\n"
    "  (shape: ramp = linear, early = peak by 30%, late = mostly in the last 40%),\n"
    "  re-writing part of that memory every 10 ms of CPU. Then writes FILE and exits 0.\n"
    "  Exits 2 if an --in FILE is missing. --in takes one or more files.\n";

constexpr size_t kMiB = 1024 * 1024;
constexpr size_t kPage = 4096;
constexpr double kStepCpuS = 0.010;  // memory work happens every 10 ms of CPU
constexpr size_t kWalkFraction = 20; // each step re-writes 1/20 of the memory

double cpu_s() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double wall_s() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}


// Real arithmetic (an LCG with xorshift mixing) until the process has used
// `until` seconds of CPU. Checks the clock every few tens of microseconds.
uint64_t burn_until(double until, uint64_t x) {
    while (cpu_s() < until) {
        for (int i = 0; i < 20000; ++i) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            x ^= x >> 29;
        }
    }
    return x;
}

bool parse_double(const char* s, double& out) {
    char* end = nullptr;
    errno = 0;
    double v = std::strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || v < 0) return false;
    out = v;
    return true;
}

[[noreturn]] void usage_error(const std::string& msg) {
    std::fprintf(stderr, "hog: %s\n%s", msg.c_str(), kUsage);
    std::exit(2);
}

// Write a small output file atomically so an interrupted job never leaves a
// complete-looking target behind.
bool write_output(const std::string& path, const std::string& text) {
    std::string tmp = path + ".tmp." + std::to_string(getpid());
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return false;
    bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ok = (close(fd) == 0) && ok;
    if (ok && rename(tmp.c_str(), path.c_str()) == 0) return true;
    unlink(tmp.c_str());
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    double peak_mib = -1, cpu_target = -1;
    hog::Shape shape = hog::Shape::Ramp;
    std::string shape_name = "ramp", out;
    std::vector<std::string> inputs;
    bool verbose = false;

    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) usage_error(a + " needs a value");
            return argv[++i];
        };
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        } else if (a == "--mib") {
            if (!parse_double(value(), peak_mib)) usage_error("bad --mib");
        } else if (a == "--cpu-s") {
            if (!parse_double(value(), cpu_target)) usage_error("bad --cpu-s");
        } else if (a == "--shape") {
            shape_name = value();
            auto parsed = hog::parse_shape(shape_name);
            if (!parsed) usage_error("bad --shape '" + shape_name + "'");
            shape = *parsed;
        } else if (a == "--out") {
            out = value();
        } else if (a == "--in") {
            // One or more files, up to the next option.
            inputs.push_back(value());
            while (i + 1 < argc && std::strncmp(argv[i + 1], "--", 2) != 0) inputs.push_back(argv[++i]);
        } else if (a == "--verbose") {
            verbose = true;
        } else {
            usage_error("unknown argument '" + a + "'");
        }
    }
    if (peak_mib < 0 || cpu_target < 0) usage_error("--mib and --cpu-s are required");
    if (const char* scale = std::getenv("HOG_TIME_SCALE"); scale && *scale) {
        double f = 0;
        if (!parse_double(scale, f) || f <= 0) usage_error("bad HOG_TIME_SCALE (a number > 0)");
        cpu_target *= f;
    }

    for (const auto& in : inputs) {
        if (access(in.c_str(), R_OK) != 0) {
            std::fprintf(stderr, "hog: missing input '%s': %s\n", in.c_str(), std::strerror(errno));
            return 2;
        }
    }

    // Reserve the whole peak up front; pages become resident only when written.
    const size_t pages = static_cast<size_t>(peak_mib * static_cast<double>(kMiB)) / kPage;
    unsigned char* mem = nullptr;
    if (pages > 0) {
        void* p = mmap(nullptr, pages * kPage, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) {
            std::perror("hog: mmap");
            return 1;
        }
        madvise(p, pages * kPage, MADV_NOHUGEPAGE);  // grow in 4 KiB steps, like malloc'd data
        mem = static_cast<unsigned char*>(p);
    }

    const double cpu0 = cpu_s(), wall0 = wall_s();
    size_t touched = 0;  // pages [0, touched) are resident (or swapped out)
    size_t cursor = 0;   // where the next re-walk slice starts
    uint64_t x = 0x9e3779b97f4a7c15ULL;

    for (double done = 0;;) {
        const double p = cpu_target > 0 ? done / cpu_target : 1.0;

        // Grow: fault in new pages up to this point's share of the peak.
        const size_t want = std::min(pages, static_cast<size_t>(hog::memory_fraction(shape, p) *
                                                                static_cast<double>(pages)));
        for (; touched < want; ++touched) mem[touched * kPage] = static_cast<unsigned char>(x);

        // Walk: re-write a slice of what we already have, cycling through all of it.
        if (touched > 0) {
            size_t slice = std::max<size_t>(256, touched / kWalkFraction);
            for (size_t k = 0; k < slice; ++k) {
                if (cursor >= touched) cursor = 0;
                mem[cursor * kPage + (k & 63) * 64] += static_cast<unsigned char>(k);
                ++cursor;
            }
        }

        if (p >= 1.0) break;
        done = std::min(cpu_target, done + kStepCpuS);
        x = burn_until(cpu0 + done, x);
    }

    const double cpu_used = cpu_s() - cpu0, wall_used = wall_s() - wall0;
    char text[512];
    std::snprintf(text, sizeof text, "hog mib=%g cpu_s=%g shape=%s inputs=%zu checksum=%llx\n",
                  peak_mib, cpu_target, shape_name.c_str(), inputs.size(),
                  static_cast<unsigned long long>(x));
    if (!out.empty() && !write_output(out, text)) {
        std::fprintf(stderr, "hog: cannot write '%s': %s\n", out.c_str(), std::strerror(errno));
        return 1;
    }
    if (verbose)
        std::fprintf(stderr, "hog: out=%s peak_mib=%g cpu_s=%.3f wall_s=%.3f\n",
                     out.empty() ? "-" : out.c_str(), static_cast<double>(touched * kPage) / kMiB,
                     cpu_used, wall_used);
    return 0;
}
