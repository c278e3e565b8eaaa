// Live control of a running controller (docs/control.md, "Live control"): the control
// socket that `swamp-bpf ctl` talks to, and the status and metrics files.
// The controller's epoll loop hands it the fds it owns; it changes the
// policy's caps (the loop then re-decides at once) and publishes snapshots.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "control/status.hpp"
#include "policy/policy.hpp"
#include "sys/clock.hpp"
#include "sys/unix_socket.hpp"

namespace swamp {

class LiveControl {
public:
    using Snapshot = std::function<StatusSnapshot()>;

    // Any path may be "" (that part is off). Throws UserError when the socket
    // cannot be made (another instance listens there). `log`: where changes and
    // refusals are noted (nullptr: nowhere).
    LiveControl(const std::string& socket_path, const std::string& status_file, const std::string& metrics_file,
                std::ostream* log);
    // Writes the last snapshot as the final state (up 0) unless finish() did;
    // removes the socket.
    ~LiveControl();
    LiveControl(const LiveControl&) = delete;
    LiveControl& operator=(const LiveControl&) = delete;

    // The build's owner (docs/control.md, "Live control"): besides root, uid
    // `owner` may use the socket (which becomes theirs, 0600) and read the status
    // file (theirs, 0640, of `status_group` when not -1). 0: root only.
    void set_owner(uid_t owner, gid_t status_group = gid_t(-1));

    // Adds our fds to the loop's epoll set `ep` (EPOLLIN).
    void attach(int ep);
    int socket_fd() const { return socket_ ? socket_->fd() : -1; }
    int timer_fd() const { return timer_.fd(); }
    // For a ready fd of the loop: serves the socket's clients (setting
    // `policy`'s caps) or takes a timer. False if `fd` is not ours. When
    // accept fails (out of file descriptors) the socket leaves the epoll set
    // for kBackoffMs, so that its pending client cannot spin the loop.
    bool handle(int fd, Policy& policy, const Snapshot& snapshot);

    // Remembers why a job was stopped or held, for the status rows.
    void note(const Action& a);
    const std::map<uint64_t, std::string>& reasons() const { return reasons_; }
    // Jobs that ended or dissolved: their reasons go.
    void forget(const std::vector<uint64_t>& jobs);
    // Writes the status and metrics files at most once a second; a change
    // within the second is written when it ends (timer_fd() wakes the loop).
    void publish(const Snapshot& snapshot, uint64_t now_ns);
    // The final state, written at once.
    void finish(StatusSnapshot final_state);

private:
    void serve(ListeningSocket::Client c, Policy& policy, const Snapshot& snapshot);
    void back_off(int err);
    void write_files(const StatusSnapshot& s);

    std::unique_ptr<ListeningSocket> socket_;
    std::string status_file_, metrics_file_;
    std::ostream* log_;
    TimerFd timer_;
    int ep_ = -1;
    TimerFd backoff_;  // ends a pause in accepting
    uint64_t backoffs_ = 0, last_backoff_note_ns_ = 0;
    bool timer_armed_ = false;
    bool files_ = false;  // a status or metrics file is wanted
    uint64_t last_write_ns_ = 0;
    std::optional<StatusSnapshot> last_;  // for the final write of a destructor
    bool finished_ = false;
    bool status_warned_ = false, metrics_warned_ = false;
    std::map<uint64_t, std::string> reasons_;
    uid_t owner_ = 0;                   // 0: root only
    gid_t status_group_ = gid_t(-1);    // the status file's group: a monitoring group
};

}  // namespace swamp
