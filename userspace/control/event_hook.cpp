#include "control/event_hook.hpp"

#include <algorithm>
#include <utility>

#include "util/printable.hpp"

namespace swamp {

std::vector<std::string> hook_environment(const HookEvent& e, uint64_t unix_time, uint64_t dropped) {
    std::vector<std::string> env;
    auto text = [&](const char* name, const std::string& value) {
        env.push_back(std::string(name) + "=" + utf8_prefix(printable(value), kHookValueMax));
    };
    auto number = [&](const char* name, auto value) { env.push_back(std::string(name) + "=" + std::to_string(value)); };
    text("SWAMP_EVENT", e.event);
    if (e.job) {
        number("SWAMP_JOB", e.job);
        text("SWAMP_NAME", e.name);
        number("SWAMP_RSS", e.rss);
    }
    if (e.pid) number("SWAMP_PID", e.pid);
    text("SWAMP_REASON", e.reason);
    if (!e.rule.empty()) text("SWAMP_RULE", e.rule);
    number("SWAMP_HEADROOM", e.headroom);
    number("SWAMP_OOM_KILLS", e.oom_kills);
    if (e.exit_status) number("SWAMP_STATUS", *e.exit_status);
    text("SWAMP_MANAGING", e.managing);
    if (!e.socket.empty()) text("SWAMP_SOCKET", e.socket);
    number("SWAMP_TIME", unix_time);
    number("SWAMP_DROPPED", dropped);
    return env;
}

bool HookLimiter::admit(const std::string& event, uint64_t now_ns) {
    if (last_ns_ && now_ns > last_ns_) tokens_ = std::min(kBurst, tokens_ + (now_ns - last_ns_) / 1e9 / kRefillS);
    last_ns_ = now_ns;
    if (event == "oom-kill" || event == "build-end") return true;
    if (tokens_ >= 1) {
        tokens_ -= 1;
        return true;
    }
    dropped_++;
    dropped_total_++;
    return false;
}

uint64_t HookLimiter::take_dropped() { return std::exchange(dropped_, 0); }

}  // namespace swamp
