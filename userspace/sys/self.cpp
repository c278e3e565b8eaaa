#include "sys/self.hpp"

#include <sys/resource.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "sys/cgroupfs.hpp"

namespace swamp {

uint64_t self_status_bytes(std::string_view key) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with(key)) return std::strtoull(line.c_str() + key.size(), nullptr, 10) * 1024;
    return 0;
}

void reset_peak_rss() { write_file("/proc/self/clear_refs", "5"); }

void set_oom_score_adj(int value) { write_file("/proc/self/oom_score_adj", std::to_string(value)); }

double self_cpu_seconds() {
    rusage self{};
    getrusage(RUSAGE_SELF, &self);
    return self.ru_utime.tv_sec + self.ru_stime.tv_sec + (self.ru_utime.tv_usec + self.ru_stime.tv_usec) / 1e6;
}

}  // namespace swamp
