#include "control/live_control.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "sys/clock.hpp"
#include "control/ctl_protocol.hpp"
#include "sys/safe_file.hpp"
#include "sys/signals.hpp"
#include "util/printable.hpp"

namespace swamp {

namespace {

constexpr int kClientTimeoutMs = 200;     // a client that sends nothing holds the loop this long at most
constexpr int kMaxClientsPerWake = 16;
constexpr uint64_t kWriteGapNs = 1'000'000'000;  // files: at most once a second
constexpr int kBackoffMs = 1000;                  // no accept for this long after one failed
constexpr uint64_t kBackoffNoteNs = 60'000'000'000;  // a warning at most once a minute

}  // namespace

LiveControl::LiveControl(const std::string& socket_path, const std::string& status_file,
                         const std::string& metrics_file, std::ostream* log)
    : status_file_(status_file), metrics_file_(metrics_file), log_(log),
      files_(!status_file.empty() || !metrics_file.empty()) {
    if (!socket_path.empty()) socket_ = std::make_unique<ListeningSocket>(socket_path);
}

LiveControl::~LiveControl() {
    if (finished_ || !last_) return;
    last_->up = false;
    write_files(*last_);
}

void LiveControl::set_owner(uid_t owner, gid_t status_group) {
    owner_ = owner;
    status_group_ = status_group;
    if (socket_ && owner) socket_->give_to(owner);
}

void LiveControl::attach(int ep) {
    ep_ = ep;
    epoll_watch(ep, socket_fd(), EPOLLIN);
    epoll_watch(ep, timer_fd(), EPOLLIN);
    epoll_watch(ep, backoff_.fd(), EPOLLIN);
}

bool LiveControl::handle(int fd, Policy& policy, const Snapshot& snapshot) {
    if (fd == timer_fd()) {
        timer_.acknowledge();  // the loop re-decides and publishes after this wake-up
        timer_armed_ = false;
        return true;
    }
    if (fd == backoff_.fd()) {
        backoff_.acknowledge();
        epoll_watch(ep_, socket_fd(), EPOLLIN);
        return true;
    }
    if (fd < 0 || fd != socket_fd()) return false;
    for (int i = 0; i < kMaxClientsPerWake; i++) {
        int err = 0;
        auto client = socket_->accept_client(&err);
        if (err) back_off(err);
        if (!client) break;
        serve(*client, policy, snapshot);
        close(client->fd);
    }
    return true;
}

// accept failed (EMFILE, ENFILE): the client stays pending and would wake the
// loop again at once, for ever. Stop watching the socket for a while instead.
void LiveControl::back_off(int err) {
    epoll_unwatch(ep_, socket_fd());
    backoff_.arm_ms(kBackoffMs);
    backoffs_++;
    uint64_t now = monotonic_ns();
    if (log_ && (!last_backoff_note_ns_ || now - last_backoff_note_ns_ >= kBackoffNoteNs)) {
        *log_ << "swamp-bpf: warning: ctl: cannot accept a connection: " << strerror(err) << "; not listening for "
              << kBackoffMs / 1000.0 << " s (" << backoffs_ << " such pause" << (backoffs_ == 1 ? "" : "s") << " so far)\n";
        last_backoff_note_ns_ = now;
    }
}

void LiveControl::serve(ListeningSocket::Client c, Policy& policy, const Snapshot& snapshot) {
    // read the request first even from a peer we refuse: closing on unread data
    // would reset the connection before it read our answer
    std::optional<std::string> line = read_line(c.fd, kClientTimeoutMs);
    if (c.uid != 0 && c.uid != owner_) {
        write_all(c.fd, refused_reply(c.uid, owner_), kClientTimeoutMs);
        if (log_) *log_ << "swamp-bpf: ctl: refused a connection from uid " << c.uid << " (pid " << c.pid << ")\n";
        return;
    }
    if (!line) {
        write_all(c.fd, error_reply("no request line within " + std::to_string(kClientTimeoutMs) + " ms"),
                  kClientTimeoutMs);
        return;
    }
    std::string error;
    std::optional<CtlRequest> req = parse_request(*line, error);
    if (!req) {
        write_all(c.fd, error_reply(error), kClientTimeoutMs);
        return;
    }
    if (req->kind == CtlRequest::Kind::Status) {
        StatusSnapshot s = snapshot();
        write_all(c.fd, ok_reply(req->json ? format_status_json(s) : format_status_text(s)), kClientTimeoutMs);
        return;
    }
    if (req->kind == CtlRequest::Kind::Run) {
        StatusSnapshot s = snapshot();
        auto it = std::find_if(s.jobs.begin(), s.jobs.end(), [&](const JobRow& j) { return j.id == req->job; });
        if (it == s.jobs.end()) {
            write_all(c.fd, error_reply("no job " + std::to_string(req->job) + " (ctl status lists the jobs)"),
                      kClientTimeoutMs);
            return;
        }
        policy.run_now(req->job);
        std::string what = "job " + std::to_string(req->job) + " (" + printable(it->name) + ")";
        if (log_) *log_ << "swamp-bpf: ctl: run " << what << " now (pid " << c.pid << ")\n";
        write_all(c.fd, ok_reply(what + " runs now, until it ends"), kClientTimeoutMs);
        if (files_) last_write_ns_ = 0;
        return;
    }
    Caps before = policy.caps(), after = apply_request(before, *req);
    policy.set_caps(after);
    bool changed = before.max_running != after.max_running || before.pause != after.pause || before.drain != after.drain;
    if (changed && log_)
        *log_ << "swamp-bpf: ctl: " << request_line(*req) << " (pid " << c.pid << (c.uid ? ", uid " + std::to_string(c.uid) : "")
              << "): " << describe_caps(after) << '\n';
    write_all(c.fd, ok_reply("caps: " + describe_caps(after) + (changed ? "" : " (unchanged)")), kClientTimeoutMs);
    if (files_) last_write_ns_ = 0;  // the next decision writes the new caps at once
}

// A resume forgets the reason, and so does the job's end (forget()): only
// waiting jobs keep one.
void LiveControl::note(const Action& a) {
    if (a.type == ActionType::Resume)
        reasons_.erase(a.job);
    else
        reasons_[a.job] = a.reason;
}

void LiveControl::publish(const Snapshot& snapshot, uint64_t now_ns) {
    if (!files_) return;
    if (last_write_ns_ && now_ns - last_write_ns_ < kWriteGapNs) {
        if (!timer_armed_) {
            timer_.arm_ms(int((kWriteGapNs - (now_ns - last_write_ns_)) / 1'000'000) + 1);
            timer_armed_ = true;
        }
        return;
    }
    last_ = snapshot();
    write_files(*last_);
    last_write_ns_ = now_ns;
}

void LiveControl::forget(const std::vector<uint64_t>& jobs) {
    for (uint64_t id : jobs) reasons_.erase(id);
}

void LiveControl::finish(StatusSnapshot final_state) {
    final_state.up = false;
    write_files(final_state);
    finished_ = true;
}

void LiveControl::write_files(const StatusSnapshot& s) {
    auto write = [&](const std::string& path, const std::string& text, bool& warned, const char* what, mode_t mode,
                     uid_t owner, gid_t group) {
        if (path.empty()) return;
        if (std::string err = write_file_atomic(path, text, mode, owner, group); !err.empty() && !warned) {
            if (log_) *log_ << "swamp-bpf: cannot write the " << what << " " << path << ": " << err << '\n';
            warned = true;
        }
    };
    // the status file (job names, and what they build) is the owner's and the monitoring group's;
    // the metrics file (command names only) is for node_exporter, whoever runs it
    write(status_file_, format_status_file(s), status_warned_, "status file", 0640, owner_ ? owner_ : uid_t(-1),
          status_group_);
    write(metrics_file_, format_metrics(s), metrics_warned_, "metrics file", 0644, uid_t(-1), gid_t(-1));
}

}  // namespace swamp
