// --on-event CMD: starts `/bin/sh -c CMD` for each event without waiting for
// it (docs/control.md, "Event hooks"). The controller's loop reaps it (reaped())
// and wakes on timer_fd() to kill one that runs too long; nothing here blocks.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "sys/clock.hpp"

namespace swamp {

class HookRunner {
public:
    static constexpr size_t kMaxRunning = 4;   // more at once are not started (counted, said once)
    static constexpr int kTimeoutMs = 30'000;  // then its whole session gets SIGKILL

    // `log`: where failures are said (nullptr: nowhere).
    HookRunner(std::string command, std::ostream* log);
    // Kills what still runs (the controller exits: a hook must not outlive it stuck).
    ~HookRunner();
    HookRunner(const HookRunner&) = delete;
    HookRunner& operator=(const HookRunner&) = delete;

    // Starts the command as `uid` (its primary group and groups from the user
    // database; root if 0) with `env` and a clean PATH, HOME, USER; for a user
    // with a session, XDG_RUNTIME_DIR and DBUS_SESSION_BUS_ADDRESS too. In its
    // own session, stdin /dev/null, stdout and stderr ours. False if it could not
    // be started or too many run.
    bool run(const std::vector<std::string>& env, uid_t uid);
    // A child the loop reaped: true if it was a hook.
    bool reaped(pid_t pid, int status);
    // At exit: waits up to `grace_ms` for the hooks that run (nothing else is
    // left to do then), then kills the rest.
    void finish(int grace_ms);
    // timer_fd() fired: kills the hooks past kTimeoutMs.
    void expire();
    int timer_fd() const { return timer_.fd(); }
    size_t running() const { return running_.size(); }
    uint64_t started() const { return started_; }

    struct Credentials {
        uid_t uid = 0;
        gid_t gid = 0;
        std::vector<gid_t> groups;
        std::string name, home;
    };

private:
    void arm();
    const Credentials& credentials(uid_t uid);

    std::string command_;
    std::ostream* log_;
    TimerFd timer_;
    std::map<uid_t, Credentials> users_;  // looked up once per uid (NSS may be slow)
    std::map<pid_t, uint64_t> running_;  // pid (= its session and group) -> deadline, monotonic ns
    uint64_t started_ = 0, refused_ = 0;
    bool failure_said_ = false;
};

}  // namespace swamp
