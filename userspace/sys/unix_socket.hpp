// The control socket's system calls (docs/control.md, "Live control"): a root's
// (and a build owner's) listening unix socket for the controller, the client side for `ctl`, and
// the peer-credential check. What is said over it is control/ctl_protocol.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace swamp {

// A listening SOCK_STREAM unix socket at a path, non-blocking, close-on-exec.
// Creates the parent directory (0700) if it is missing; the socket file is
// 0600. A stale socket file (nobody listening) is replaced; a live one throws
// UserError(Usage) naming the instance that listens. The destructor removes
// the file, if it is still the one we made.
class ListeningSocket {
public:
    explicit ListeningSocket(const std::string& path);
    ~ListeningSocket();
    ListeningSocket(const ListeningSocket&) = delete;
    ListeningSocket& operator=(const ListeningSocket&) = delete;

    int fd() const { return fd_; }
    const std::string& path() const { return path_; }
    // Makes the socket file `uid`'s (still 0600, in its root-owned directory): that user may
    // connect; everyone else's connect fails with EACCES before reaching us.
    void give_to(uid_t uid);

    // A client that connected, with its credentials (SO_PEERCRED), or nullopt
    // when none is pending, or when accept failed: then `*error` is its errno
    // (EMFILE, ENFILE: out of file descriptors; the client stays pending). The
    // fd is blocking; the caller closes it.
    struct Client {
        int fd = -1;
        uid_t uid = 0;
        pid_t pid = 0;
    };
    std::optional<Client> accept_client(int* error = nullptr);

private:
    std::string path_;
    int fd_ = -1;
    ino_t inode_ = 0;  // of the socket file we bound
};

// Throws UserError(Usage) if a swamp-bpf already listens at `path` (checked
// before the controller loads BPF, so a second instance fails at once).
void refuse_if_listening(const std::string& path);

// One line (without its '\n', at most `max` bytes) from `fd`, waiting at most
// `timeout_ms` in all; nullopt on timeout, EOF before a newline, or overflow.
// A line cut by EOF without a newline still counts.
std::optional<std::string> read_line(int fd, int timeout_ms, size_t max = 512);
// Writes all of `text`, giving up after `timeout_ms`; false on error.
bool write_all(int fd, const std::string& text, int timeout_ms);

// Client side: connects to `path`, sends `request` + '\n' and returns the whole
// reply (to EOF). Throws UserError: Failure when nothing listens there (with
// "no swamp-bpf listening on PATH"), Permission when the socket is not ours
// to use, Failure on a timeout.
std::string unix_request(const std::string& path, const std::string& request, int timeout_ms);

}  // namespace swamp
