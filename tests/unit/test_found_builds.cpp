#include <gtest/gtest.h>

#include "build_sim.hpp"
#include "control/found_builds.hpp"

using namespace swamp;
using namespace swamp::test;

namespace {

constexpr uint64_t kSecond = 1'000'000'000;

// Feeds `e` to the tree and the builds, as the controller does.
TreeDelta feed(Tree& t, FoundBuilds& b, const Event& e) {
    TreeDelta d = t.apply(e);
    b.on_delta(t, d);
    return d;
}

}  // namespace

// Two builds found by the service: each one's jobs and decisions are its own,
// and each is reported once, when its root ends.
TEST(FoundBuilds, EachBuildCountsItsOwnJobsAndDecisions) {
    Tree t;
    FoundBuilds b;
    feed(t, b, exec_ev(0, 100, 1, "make", {"make", "-j4"}));
    EXPECT_EQ(b.on_entered(t, 100, 0), "found a build: pid 100 (make -j4)");
    feed(t, b, exec_ev(kSecond, 200, 1, "ninja", {"ninja"}));
    EXPECT_EQ(b.on_entered(t, 200, kSecond), "found a build: pid 200 (ninja)");

    feed(t, b, fork_ev(kSecond, 101, 100, "make"));
    feed(t, b, exec_ev(kSecond, 101, 100, "cc1plus", {"cc1plus"}));
    uint64_t c = feed(t, b, fork_ev(kSecond, 102, 100, "make")).new_jobs.at(0);
    feed(t, b, exec_ev(kSecond, 102, 100, "cc1plus", {"cc1plus"}));
    uint64_t n = feed(t, b, fork_ev(kSecond, 201, 200, "ninja")).new_jobs.at(0);
    feed(t, b, exec_ev(kSecond, 201, 200, "ld", {"ld"}));
    b.on_action({ActionType::Stop, c, "grows", Rule::StopProjection});
    b.on_action({ActionType::Resume, c, "room", Rule::Resume});
    b.on_action({ActionType::Hold, n, "predicted", Rule::HoldMemory});

    // not a build: a job's process, and a driver under a followed parent
    EXPECT_EQ(b.on_entered(t, 101, kSecond), "");
    feed(t, b, exec_ev(kSecond, 300, 100, "make", {"make", "-C", "sub"}));
    EXPECT_EQ(b.on_entered(t, 300, kSecond), "");

    feed(t, b, exit_ev(2 * kSecond, 101, 100, "cc1plus"));
    feed(t, b, exit_ev(2 * kSecond, 102, 100, "cc1plus"));
    EXPECT_EQ(b.on_exit(exit_ev(2 * kSecond, 101, 100, "cc1plus")), "") << "a job's end is not a build's";
    EXPECT_EQ(b.on_exit(exit_ev(12 * kSecond, 100, 1, "make")),
              "build pid 100 (make) ended after 12 s: 2 jobs, 1 stops, 0 holds at exec, 1 resumes");
    EXPECT_EQ(b.on_exit(exit_ev(12 * kSecond, 100, 1, "make")), "") << "reported once";
    // a decision for a job of make's build after make ended counts nowhere
    b.on_action({ActionType::Stop, c, "late", Rule::StopProjection});
    // the held link resumes before ninja ends
    b.on_action({ActionType::Resume, n, "room", Rule::Resume});
    EXPECT_EQ(b.on_exit(exit_ev(4 * kSecond, 200, 1, "ninja")),
              "build pid 200 (ninja) ended after 3 s: 1 jobs, 0 stops, 1 holds at exec, 1 resumes");
}

TEST(FoundBuilds, AKilledBuildSaysByWhichSignal) {
    Tree t;
    FoundBuilds b;
    feed(t, b, exec_ev(0, 100, 1, "emerge", {"emerge", "-1", "qtwebengine"}));
    ASSERT_FALSE(b.on_entered(t, 100, 0).empty());
    ExitEvent killed = exit_ev(5 * kSecond, 100, 1, "emerge");
    killed.wait_status = 9;
    EXPECT_EQ(b.on_exit(killed),
              "build pid 100 (emerge) ended after 5 s, killed by signal 9: 0 jobs, 0 stops, 0 holds at exec, 0 resumes");
}
