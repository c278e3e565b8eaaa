// --on-event's pure half: the variables a hook gets (printable, bounded) and the rate limit.
#include <gtest/gtest.h>

#include <algorithm>

#include "control/event_hook.hpp"
#include "util/printable.hpp"

using namespace swamp;

namespace {

std::string value_of(const std::vector<std::string>& env, const std::string& name) {
    for (const std::string& v : env)
        if (v.rfind(name + "=", 0) == 0) return v.substr(name.size() + 1);
    return "<unset>";
}

}  // namespace

TEST(EventHook, EnvironmentTellsTheEventEscapedAndBounded) {
    HookEvent e;
    e.event = "stop";
    e.job = 7;
    e.pid = 4242;
    e.name = "cc1plus\n<0>evil\x1b[2J";
    e.rss = 123456789;
    e.reason = std::string(5000, 'x') + "\xe2\x82";  // long, and cut mid-character
    e.headroom = -(5ll << 20);
    e.managing = "make (pid 4240)";
    e.socket = "/run/swamp-bpf/ctl.sock";
    e.rule = "stop_projection";
    auto env = hook_environment(e, 1700000000, 3);
    EXPECT_EQ(value_of(env, "SWAMP_EVENT"), "stop");
    EXPECT_EQ(value_of(env, "SWAMP_JOB"), "7");
    EXPECT_EQ(value_of(env, "SWAMP_PID"), "4242");
    EXPECT_EQ(value_of(env, "SWAMP_NAME"), "cc1plus\\n<0>evil\\x1b[2J");
    EXPECT_EQ(value_of(env, "SWAMP_RSS"), "123456789");
    EXPECT_EQ(value_of(env, "SWAMP_HEADROOM"), "-5242880");
    EXPECT_EQ(value_of(env, "SWAMP_TIME"), "1700000000");
    EXPECT_EQ(value_of(env, "SWAMP_DROPPED"), "3");
    EXPECT_EQ(value_of(env, "SWAMP_SOCKET"), "/run/swamp-bpf/ctl.sock");
    EXPECT_EQ(value_of(env, "SWAMP_STATUS"), "<unset>");
    EXPECT_EQ(value_of(env, "SWAMP_RULE"), "stop_projection");
    EXPECT_LE(value_of(env, "SWAMP_REASON").size(), kHookValueMax);
    for (const std::string& v : env) {
        EXPECT_TRUE(is_valid_utf8(v)) << printable(v);
        EXPECT_TRUE(std::none_of(v.begin(), v.end(), [](char c) { return (unsigned char)c < 0x20; })) << printable(v);
    }
    // not about a job: no SWAMP_JOB, SWAMP_NAME or SWAMP_RSS; a build's end has its status
    HookEvent end;
    end.event = "build-end";
    end.pid = 4240;
    end.exit_status = 2;
    env = hook_environment(end, 1, 0);
    EXPECT_EQ(value_of(env, "SWAMP_JOB"), "<unset>");
    EXPECT_EQ(value_of(env, "SWAMP_NAME"), "<unset>");
    EXPECT_EQ(value_of(env, "SWAMP_STATUS"), "2");
    EXPECT_EQ(value_of(env, "SWAMP_SOCKET"), "<unset>");
    EXPECT_EQ(value_of(env, "SWAMP_RULE"), "<unset>") << "no decision, no rule";
}

TEST(EventHook, LimiterPassesABurstThenOnePerSecondButAlwaysOomAndEnd) {
    HookLimiter l;
    const uint64_t s = 1'000'000'000;
    int passed = 0;
    for (int i = 0; i < 30; i++) passed += l.admit("stop", 10 * s);
    EXPECT_EQ(passed, int(HookLimiter::kBurst));
    EXPECT_TRUE(l.admit("oom-kill", 10 * s));
    EXPECT_TRUE(l.admit("build-end", 10 * s));
    EXPECT_EQ(l.take_dropped(), 20u);
    EXPECT_EQ(l.take_dropped(), 0u);
    EXPECT_FALSE(l.admit("resume", 10 * s + s / 2));
    EXPECT_TRUE(l.admit("resume", 11 * s));  // one more second, one more hook
    EXPECT_FALSE(l.admit("resume", 11 * s));
    passed = 0;
    for (int i = 0; i < 30; i++) passed += l.admit("hold", 100 * s);  // a long quiet refills the burst
    EXPECT_EQ(passed, int(HookLimiter::kBurst));
    EXPECT_EQ(l.dropped_total(), 20u + 2 + 20);
}
