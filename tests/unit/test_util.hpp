// Shared helpers for the unit tests.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
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

template <typename Raw>
std::vector<std::byte> bytes_of(const Raw& r) {
    std::vector<std::byte> v(sizeof(Raw));
    std::memcpy(v.data(), &r, sizeof(Raw));
    return v;
}

}  // namespace swamp::test
