#include "sys/systemd.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace swamp {

bool notify_service_manager(const std::string& state) {
    const char* path = getenv("NOTIFY_SOCKET");
    if (!path || !*path) return false;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if (len >= sizeof addr.sun_path || (path[0] != '/' && path[0] != '@')) return false;
    memcpy(addr.sun_path, path, len);
    if (path[0] == '@') addr.sun_path[0] = '\0';  // an abstract socket
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    ssize_t sent = sendto(fd, state.data(), state.size(), 0, reinterpret_cast<sockaddr*>(&addr),
                          socklen_t(offsetof(sockaddr_un, sun_path) + len));
    close(fd);
    return sent == ssize_t(state.size());
}

bool stderr_is_journal() {
    const char* stream = getenv("JOURNAL_STREAM");  // "DEVICE:INODE" of the journal's socket
    if (!stream) return false;
    unsigned long long dev = 0, ino = 0;
    struct stat st;
    return sscanf(stream, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev &&
           st.st_ino == ino;
}

}  // namespace swamp
