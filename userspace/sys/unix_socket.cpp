#include "sys/unix_socket.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sys/clock.hpp"
#include "sys/safe_file.hpp"
#include "util/error.hpp"

namespace swamp {

namespace {

sockaddr_un address_of(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof a.sun_path)
        throw UserError(ExitCode::Usage, "socket path \"" + path + "\" must be 1 to " +
                                             std::to_string(sizeof a.sun_path - 1) + " characters long");
    memcpy(a.sun_path, path.c_str(), path.size() + 1);
    return a;
}

// A connected client socket, or -1 with errno set.
int connect_to(const std::string& path) {
    sockaddr_un a = address_of(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return fd;
    int err = errno;
    close(fd);
    errno = err;
    return -1;
}

bool wait_for(int fd, short events, int64_t deadline_ms) {
    for (;;) {
        int64_t left = deadline_ms - monotonic_ms();
        if (left <= 0) return false;
        pollfd p{fd, events, 0};
        int n = poll(&p, 1, int(left));
        if (n < 0 && errno == EINTR) continue;
        return n > 0;
    }
}

}  // namespace

void refuse_if_listening(const std::string& path) {
    int fd = connect_to(path);
    if (fd < 0) return;  // nothing there, or a stale file: the listener replaces it
    ucred cred{};
    socklen_t len = sizeof cred;
    std::string who = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid > 0
                          ? "a swamp-bpf (pid " + std::to_string(cred.pid) + ")"
                          : "another swamp-bpf";
    close(fd);
    throw UserError(ExitCode::Usage, who + " already listens on " + path +
                                         "; stop it, or give this one another --socket path");
}

ListeningSocket::ListeningSocket(const std::string& path) : path_(path) {
    sockaddr_un a = address_of(path);
    if (path[0] != '/') throw UserError(ExitCode::Usage, "--socket " + path + ": give an absolute path");
    // where another user could swap the socket or its directory, no: made 0755 where missing (the
    // status file may live beside it); the socket itself is 0600 and peers are checked anyway
    if (std::string problem = ensure_private_dir_of(path, 0755); !problem.empty())
        throw UserError(ExitCode::Usage, "cannot put the control socket " + path + " there: " + problem);
    struct stat st;
    if (lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            throw UserError(ExitCode::Usage, path + " exists and is not a socket; remove it or give another --socket path");
        refuse_if_listening(path);
        unlink(path.c_str());  // stale: its swamp-bpf is gone
    }
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw UserError(ExitCode::Failure, std::string("cannot create the control socket: ") + strerror(errno));
    // 0600 from the start: no moment in which another user could connect
    mode_t old_mask = umask(0177);
    int bound = bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    int err = errno;
    umask(old_mask);
    if (bound != 0 || listen(fd_, 16) != 0) {
        if (bound == 0) err = errno, unlink(path.c_str());
        close(fd_);
        throw UserError(err == EACCES || err == EPERM ? ExitCode::Permission : ExitCode::Failure,
                        "cannot listen on " + path + ": " + strerror(err));
    }
    if (stat(path.c_str(), &st) == 0) inode_ = st.st_ino;
}

void ListeningSocket::give_to(uid_t uid) {
    struct stat st;
    errno = 0;
    // our own file, in a directory only root may change (ensure_private_dir_of): no race to lose
    if (lstat(path_.c_str(), &st) != 0 || st.st_ino != inode_ || !S_ISSOCK(st.st_mode) ||
        lchown(path_.c_str(), uid, gid_t(-1)) != 0)
        throw UserError(ExitCode::Failure, "cannot give the control socket " + path_ + " to uid " + std::to_string(uid) +
                                               ": " + (errno ? strerror(errno) : "it changed"));
}

ListeningSocket::~ListeningSocket() {
    struct stat st;
    // only our own file: a second instance may have replaced it after a stale check
    if (stat(path_.c_str(), &st) == 0 && st.st_ino == inode_) unlink(path_.c_str());
    if (fd_ >= 0) close(fd_);
}

std::optional<ListeningSocket::Client> ListeningSocket::accept_client(int* error) {
    for (;;) {
        int fd = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (error && errno != EAGAIN && errno != EWOULDBLOCK) *error = errno;
            return std::nullopt;
        }
        ucred cred{};
        socklen_t len = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
            close(fd);
            continue;  // unknown peer: never served
        }
        return Client{fd, cred.uid, cred.pid};
    }
}

std::optional<std::string> read_line(int fd, int timeout_ms, size_t max) {
    int64_t deadline = monotonic_ms() + timeout_ms;
    std::string line;
    char buf[256];
    for (;;) {
        if (!wait_for(fd, POLLIN, deadline)) return std::nullopt;
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0) return std::nullopt;
        if (n == 0) return line.empty() ? std::nullopt : std::optional(line);
        line.append(buf, size_t(n));
        if (size_t nl = line.find('\n'); nl != std::string::npos) return line.substr(0, nl);
        if (line.size() > max) return std::nullopt;
    }
}

bool write_all(int fd, const std::string& text, int timeout_ms) {
    int64_t deadline = monotonic_ms() + timeout_ms;
    size_t done = 0;
    while (done < text.size()) {
        ssize_t n = send(fd, text.data() + done, text.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            done += size_t(n);
            continue;
        }
        if (n < 0 && errno != EINTR && errno != EAGAIN) return false;
        if (!wait_for(fd, POLLOUT, deadline)) return false;
    }
    return true;
}

std::string unix_request(const std::string& path, const std::string& request, int timeout_ms) {
    int fd = connect_to(path);
    if (fd < 0) {
        int err = errno;
        if (err == ENOENT || err == ECONNREFUSED || err == ENOTDIR)
            throw UserError(ExitCode::Failure, "no swamp-bpf listening on " + path +
                                                   (err == ECONNREFUSED ? " (a stale socket file)" : ""));
        if (err == EACCES || err == EPERM)
            throw UserError(ExitCode::Permission, "cannot connect to " + path + ": " + strerror(err) +
                                                      "; the control socket is for root and the build's owner only");
        throw UserError(ExitCode::Failure, "cannot connect to " + path + ": " + strerror(err));
    }
    int64_t deadline = monotonic_ms() + timeout_ms;
    std::string reply;
    // a refused peer gets its one line even if the server closed before our write
    bool sent = write_all(fd, request + "\n", timeout_ms);
    char buf[4096];
    for (;;) {
        if (!wait_for(fd, POLLIN, deadline)) {
            close(fd);
            throw UserError(ExitCode::Failure, "no reply from the swamp-bpf on " + path + " within " +
                                                   std::to_string(timeout_ms / 1000.0).substr(0, 3) + " s");
        }
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) break;  // EOF (or a reset after a refusal): the reply is complete
        reply.append(buf, size_t(n));
    }
    close(fd);
    if (!sent && reply.empty())
        throw UserError(ExitCode::Failure, "the swamp-bpf on " + path + " closed the connection before the request");
    return reply;
}

}  // namespace swamp
