// The watchdog: a small process that outlives a SIGKILLed controller and
// resumes what it had stopped.
//
// The controller forks it at start and keeps the write end of a pipe.
// WatchedActuator reports every stop and resume through that pipe; the
// watchdog holds a pidfd for each stopped process and mirrors the list into
// the state file (actuator/leftovers.hpp). When the pipe reaches EOF without a
// final "all clear" (the controller died, however) it sends SIGCONT to every
// process it holds, thaws and removes our job cgroups, and exits. EOF comes
// the moment the controller's last fd closes: milliseconds, not seconds.
//
// In launch mode the watchdog also forks the build command and stays its
// parent, and is the subreaper of the build's orphans. It lives in its own
// process group of the same session, so the command's process group never
// becomes orphaned, neither when the controller dies nor when make dies with
// jobs stopped: the kernel would otherwise send SIGHUP to a group with
// stopped members and kill the build. It reaps the command and reports its
// wait status.
//
// Its name is "swamp-watchdog" (so `killall swamp-bpf` spares it) and its
// oom_score_adj is -1000.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "actuator/actuator.hpp"
#include "sys/launch.hpp"

namespace swamp {

class Watchdog {
public:
    // Forks the watchdog; with a command, the watchdog forks it too, held
    // before exec until start_command(), run as `as` when given. Throws
    // UserError if it cannot. `cgroup2`, the probed cgroup2 mount, is where
    // the processes of a job cgroup go if its parent is gone.
    explicit Watchdog(const std::optional<std::string>& cgroup2, const std::vector<std::string>& command = {},
                      const std::optional<RunAs>& as = std::nullopt);
    // Closes the pipe (after resume_all's "all clear") and reaps the watchdog.
    ~Watchdog();
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

    pid_t pid() const { return pid_; }
    pid_t command_pid() const { return command_pid_; }  // -1 without a command
    // Lets the command exec; throws UserError(CannotRun) if exec failed.
    void start_command();
    // Readable when the watchdog reports the command's exit, and at its death (EOF).
    int reply_fd() const { return reply_fd_; }
    // Reads what is pending on reply_fd().
    void read_replies();
    // The command's wait status, once reported.
    std::optional<int> command_status() const { return status_; }
    // The watchdog is gone (killed): nothing would resume what we stopped if we died too.
    bool died() const { return died_; }

    // One protocol line: "C dir", "R job", "Q" (all clear), "G" (exec).
    void tell(const std::string& line);
    // "S job pid…": the watchdog takes a pidfd for each, and answers on its
    // own pipe. "" when it holds them all (or they are gone); else why not (out
    // of file descriptors, or no answer within kAckTimeoutMs): then the
    // caller must not keep them stopped.
    std::string hold(uint64_t job, const std::vector<pid_t>& pids);
    static constexpr int kAckTimeoutMs = 2000;

private:
    std::string read_reply();  // blocks for one line
    void parse_replies();      // the lines read so far: the command's exit status

    pid_t pid_ = -1;
    pid_t command_pid_ = -1;
    int pipe_ = -1;      // controller -> watchdog
    int reply_fd_ = -1;  // watchdog -> controller
    int ack_fd_ = -1;    // watchdog -> controller: the answers to hold()
    std::string acks_;   // read, not yet taken
    int late_acks_ = 0;  // answers still to come for holds that timed out
    std::string replies_;
    std::optional<int> status_;
    bool died_ = false;
};

// Wraps an actuator; every stop/resume it makes is mirrored to the watchdog.
class WatchedActuator final : public ForwardingActuator {
public:
    WatchedActuator(std::unique_ptr<Actuator> inner, Watchdog& watchdog);
    ~WatchedActuator() override;

    Vetted on_join(uint64_t job, pid_t pid, bool job_stopped, uint64_t seen_ns) override;
    void on_job_end(uint64_t job) override;
    bool stop(uint64_t job, const std::vector<pid_t>& pids, std::string& error) override;
    bool resume(uint64_t job, const std::vector<pid_t>& pids, std::string& error) override;
    void resume_all() override;
    bool unheld(uint64_t job) const override { return unheld_.count(job) || inner_->unheld(job); }

private:
    Watchdog& watchdog_;
    std::set<uint64_t> unheld_;  // jobs with a process the watchdog could not hold
};

// The watchdog's main loop (in the forked child): reads commands from `in`
// until EOF, then resumes what is still held. Replies go to `out`, answers
// to "S" to `ack`. Exposed for tests.
void watchdog_main(int in, int out, int ack, const std::optional<std::string>& cgroup2,
                   const std::vector<std::string>& command, pid_t command_pgrp, const std::optional<RunAs>& as);

}  // namespace swamp
