// Prints the metrics file swamp-bpf would write for one of a few snapshots, for
// `promtool check metrics` (check_metrics.sh): a throttling build, hostile job names,
// many jobs, no job at all, and the final file of an exiting controller.
#include <cstdio>
#include <string>

#include "control/status.hpp"
#include "status_sample.hpp"

using namespace swamp;

int main(int argc, char** argv) {
    std::string kind = argc > 1 ? argv[1] : "";
    StatusSnapshot s = test::sample();
    if (kind == "hostile") {
        s.jobs[0].name = "aaaaaaaaaaaaaa\xc3";
        s.jobs[1].name = "x\n<0>forged";
        s.jobs[2].name = "q\"\\\x7f\xc2\x9b";
        s.mem.source = "a \"b\"\\";
    } else if (kind == "many") {
        s.jobs.clear();
        for (uint64_t id = 1; id <= 64; id++)
            s.jobs.push_back({id, uint32_t(1000 + id), "cc" + std::to_string(id), JobState(id % 3), id << 20, id << 20, 1, "", "", "", 0, std::nullopt, false});
    } else if (kind == "idle") {
        s.jobs.clear();
    } else if (kind == "exited") {
        s.up = false;
    } else if (kind != "throttling") {
        fprintf(stderr, "usage: metrics_sample throttling|hostile|many|idle|exited\n");
        return 2;
    }
    fputs(format_metrics(s).c_str(), stdout);
    return 0;
}
