// JobHistory signs a job at its exec; the sizes of a link's inputs come through
// InputsSize, so no /proc is read here.
#include <gtest/gtest.h>

#include "build_sim.hpp"
#include "control/job_history.hpp"
#include "test_util.hpp"

using namespace swamp;
using namespace swamp::test;

namespace {

TEST(JobHistory, MeasuresALinksInputsThroughInputsSize) {
    TempDir dir;
    std::vector<std::pair<pid_t, std::vector<std::string>>> asked;
    JobHistory h(History::open(dir.path + "/history.db"), [&](pid_t pid, const std::vector<std::string>& paths) {
        asked.emplace_back(pid, paths);
        return FilesSize{4096, 2};
    });
    ASSERT_TRUE(h.on());
    Tree t{TreeConfig{}};
    t.add_root(1, 0, "make", kSec);
    t.apply(fork_ev(2 * kSec, 10, 1, "make"));
    ExecEvent link = exec_ev(3 * kSec, 10, 1, "gcc", {"gcc", "-o", "app", "main.o", "util.o"});
    t.apply(link);
    h.on_exec(t, link);
    ASSERT_EQ(asked.size(), 1u);
    EXPECT_EQ(asked[0].first, 10);
    EXPECT_EQ(asked[0].second, (std::vector<std::string>{"main.o", "util.o"}));

    ExecEvent compile = exec_ev(4 * kSec, 11, 1, "gcc", {"gcc", "-c", "x.c", "-o", "x.o"});
    t.apply(fork_ev(4 * kSec, 11, 1, "make"));
    t.apply(compile);
    h.on_exec(t, compile);
    EXPECT_EQ(asked.size(), 1u);  // a compile has no inputs to measure
}

}  // namespace
