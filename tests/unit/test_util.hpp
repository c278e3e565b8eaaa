// Shared helpers for the unit tests.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <span>
#include <string>
#include <vector>

#include "source/event.hpp"

namespace swamp::test {

// One event of each type, with distinct non-zero values in every field.
inline std::vector<Event> sample_events() {
    return {
        ExecEvent{1'000'000'123, 4242, 4000, "cc1plus", "/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus",
                  {"cc1plus", "-quiet", "", "main.cpp"}, true},
        ForkEvent{1'000'000'200, 4243, 4243, 4242, "make", false},
        ForkEvent{1'000'000'300, 4242, 4250, 4242, "cc1plus", true},
        ExitEvent{1'000'000'400, 4242, 4000, "cc1plus", 0x0300, 512ull << 20, 123456, 7},
        RssEvent{1'000'000'500, 4242, 300ull << 20, 200ull << 20, 90ull << 20, 10ull << 20, 5ull << 20, 310ull << 20},
        FaultEvent{1'000'000'600, 4242, 250'000'000, 5000, 12},
    };
}

// A file that exists for the duration of a test.
struct TempFile {
    std::string path;
    explicit TempFile(const std::string& content = "") {
        char tmpl[] = "/tmp/swamp-unit-XXXXXX";
        int fd = mkstemp(tmpl);
        if (fd >= 0) close(fd);
        path = tmpl;
        std::ofstream(path) << content;
    }
    ~TempFile() { unlink(path.c_str()); }
};

// A directory that exists for the duration of a test, removed with what it holds.
struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/swamp-unit-dir-XXXXXX";
        if (mkdtemp(tmpl)) path = tmpl;
    }
    ~TempDir() {
        std::error_code ignored;
        if (!path.empty()) std::filesystem::remove_all(path, ignored);
    }
};

// A /proc/PID/stat line with all 52 fields of proc(5), realistic values.
inline std::string stat_line(int pid, const std::string& comm, char state, int ppid, uint64_t flags, uint64_t starttime) {
    std::ostringstream s;
    s << pid << " (" << comm << ") " << state << ' ' << ppid  // 1-4
      << ' ' << pid << ' ' << ppid << " 34816 " << pid        // 5 pgrp, 6 session, 7 tty_nr, 8 tpgid
      << ' ' << flags                                          // 9 flags
      << " 1532 48211 3 17 12 5 96 41"                         // 10-17 minflt .. cstime
      << " 20 0 1 0"                                           // 18 priority, 19 nice, 20 num_threads, 21 itrealvalue
      << ' ' << starttime                                      // 22 starttime
      << " 9396224 1207 18446744073709551615"                  // 23 vsize, 24 rss, 25 rsslim
      << " 94556925349888 94556926290685 140726377733696 0 0"  // 26-30
      << " 0 65536 3686404 1266761467 1 0 0"                   // 31 signal .. 37 cnswap
      << " 17 3 0 0 0 0 0"                                     // 38 exit_signal .. 44 cguest_time
      << " 94556926530736 94556926578340 94556943646720"       // 45-47
      << " 140726377739575 140726377739581 140726377739581 140726377742318 0";  // 48-52
    return s.str();
}

template <typename Raw>
std::vector<std::byte> bytes_of(const Raw& r) {
    std::vector<std::byte> v(sizeof(Raw));
    std::memcpy(v.data(), &r, sizeof(Raw));
    return v;
}

}  // namespace swamp::test
