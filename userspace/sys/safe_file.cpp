#include "sys/safe_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ext/stdio_filebuf.h>

#include "sys/users.hpp"
#include "util/error.hpp"

namespace swamp {

namespace {

// Closes an fd when it goes out of scope.
struct Fd {
    int fd = -1;
    explicit Fd(int f = -1) : fd(f) {}
    ~Fd() {
        if (fd >= 0) close(fd);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
};

// An ostream that writes to an fd and closes it at the end.
class FdStream : public std::ostream {
public:
    explicit FdStream(int fd) : std::ostream(nullptr), buf_(fd, std::ios::out) { rdbuf(&buf_); }

private:
    __gnu_cxx::stdio_filebuf<char> buf_;
};

bool ours(uid_t uid) { return uid == 0 || uid == geteuid(); }

// The user who ran us through sudo, pkexec or doas, or -1. An output file (status,
// trace, recording, report) may go into their own directories: they can only
// redirect it within what they own, since every step is opened O_NOFOLLOW and
// files are made O_EXCL or checked regular with one link.
long invoking_uid() {
    auto u = our_invoking_user();
    return u && u->uid > 0 ? long(u->uid) : -1;
}

// Who may own what we write: root or us; and for output files, the invoking user too.
enum class Trust { Private, Output };
bool trusted_owner(uid_t uid, Trust t) { return ours(uid) || (t == Trust::Output && long(uid) == invoking_uid()); }


std::string octal(mode_t mode) {
    char buf[8];
    snprintf(buf, sizeof buf, "%04o", unsigned(mode & 07777));
    return buf;
}

// "" if only root or we (or, for output, the invoking user) can change the directory `st`,
// else who else can.
std::string untrusted_dir(const struct stat& st, bool allow_sticky, Trust trust = Trust::Private) {
    if (!trusted_owner(st.st_uid, trust)) return "belongs to " + describe_uid(st.st_uid);
    if (allow_sticky && (st.st_mode & S_ISVTX)) return "";
    bool group = (st.st_mode & S_IWGRP) && st.st_gid != 0 && st.st_gid != getegid();
    if ((st.st_mode & S_IWOTH) || group)
        return std::string("is writable by other users (mode ") + octal(st.st_mode) +
               (allow_sticky ? ", no sticky bit)" : ")");
    return "";
}

// "" if an existing target `st` may be replaced or truncated.
// `also`: one more owner we trust (the one we give the file to).
std::string unreplaceable(const struct stat& st, Trust trust = Trust::Private, uid_t also = uid_t(-1)) {
    if (S_ISLNK(st.st_mode)) return "it is a symbolic link";
    if (!S_ISREG(st.st_mode)) return "it is not a regular file";
    if (st.st_nlink > 1) return "it has other hard links";
    if (!trusted_owner(st.st_uid, trust) && st.st_uid != also) return "it belongs to " + describe_uid(st.st_uid);
    return "";
}

// Splits `path` into its directory and last name; false if there is no name.
bool split(const std::string& path, std::string& dir, std::string& name) {
    size_t slash = path.find_last_of('/');
    dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    name = slash == std::string::npos ? path : path.substr(slash + 1);
    return !name.empty() && name != "." && name != "..";
}

// The trusted directory `dir`, opened, or -1 with `error` (`missing`: it does not exist).
// `allow_sticky` is for `dir` itself: the directories above it may always be sticky.
int open_trusted_dir(const std::string& dir, bool allow_sticky, std::string& error, bool* missing = nullptr,
                     Trust trust = Trust::Private) {
    char* resolved = realpath(dir.c_str(), nullptr);
    if (!resolved) {
        if (missing) *missing = errno == ENOENT;
        error = "cannot use the directory " + dir + ": " + strerror(errno);
        return -1;
    }
    std::string real = resolved;
    free(resolved);
    Fd fd(open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    std::string walked = "/";
    size_t pos = 1;
    for (;;) {
        struct stat st;
        if (fd.fd < 0 || fstat(fd.fd, &st) != 0) {
            error = "cannot open " + walked + ": " + strerror(errno);
            return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
            error = walked + " is not a directory";
            return -1;
        }
        // a sticky directory above ours is fine: nobody else may rename what we trust in it
        if (std::string why = untrusted_dir(st, allow_sticky || pos < real.size(), trust); !why.empty()) {
            error = walked + " " + why;
            return -1;
        }
        if (pos >= real.size()) break;
        size_t end = real.find('/', pos);
        if (end == std::string::npos) end = real.size();
        std::string part = real.substr(pos, end - pos);
        pos = end + 1;
        walked += (walked == "/" ? "" : "/") + part;
        int next = openat(fd.fd, part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0) {
            error = "cannot open " + walked + ": " + (errno == ELOOP ? "it became a symbolic link" : strerror(errno));
            return -1;
        }
        close(fd.fd);
        fd.fd = next;
    }
    int out = fd.fd;
    fd.fd = -1;
    return out;
}

// The name of a new temporary file beside `name`, hard to guess.
std::string temp_name(const std::string& name) {
    unsigned long long r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != ssize_t(sizeof r)) r = (unsigned long long)(getpid()) << 32 ^ random();
    char hex[20];
    snprintf(hex, sizeof hex, "%016llx", r);
    return "." + name + "." + hex + ".tmp";
}

bool write_all(int fd, const std::string& text) {
    size_t done = 0;
    while (done < text.size()) {
        ssize_t n = write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = EIO;
            return false;
        }
        done += size_t(n);
    }
    return true;
}

// Chmods an existing `name` in `dirfd` that we may replace; "" or why not.
std::string tighten(int dirfd, const std::string& name, mode_t mode) {
    Fd fd(openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (fd.fd < 0) return errno == ENOENT ? "" : errno == ELOOP ? "it is a symbolic link" : strerror(errno);
    struct stat st;
    if (fstat(fd.fd, &st) != 0) return strerror(errno);
    if (std::string why = unreplaceable(st); !why.empty()) return why;
    if ((st.st_mode & 07777) != mode && fchmod(fd.fd, mode) != 0) return strerror(errno);
    return "";
}

}  // namespace

std::string unsafe_output(const std::string& path, bool missing_dir_ok, bool allow_sticky) {
    std::string dir, name, error;
    if (!split(path, dir, name)) return "not a file name";
    bool missing = false;
    Trust trust = allow_sticky ? Trust::Output : Trust::Private;  // a socket's directory is root's alone
    Fd dfd(open_trusted_dir(dir, allow_sticky, error, &missing, trust));
    if (dfd.fd < 0) return missing && missing_dir_ok ? "" : error;
    struct stat st;
    if (fstatat(dfd.fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? "" : std::string("cannot use it: ") + strerror(errno);
    return unreplaceable(st, trust);
}

void require_safe_output(const std::string& what, const std::string& path, bool missing_dir_ok, bool allow_sticky) {
    if (std::string why = unsafe_output(path, missing_dir_ok, allow_sticky); !why.empty())
        throw UserError(ExitCode::Usage, what + " " + path + ": refused: " + why);
}

std::string write_file_atomic(const std::string& path, const std::string& text, mode_t mode, uid_t owner, gid_t group) {
    std::string dir, name, error;
    if (!split(path, dir, name)) return "not a file name";
    Fd dfd(open_trusted_dir(dir, true, error, nullptr, Trust::Output));
    if (dfd.fd < 0) return error;
    struct stat st;
    if (fstatat(dfd.fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
        if (std::string why = unreplaceable(st, Trust::Output, owner); !why.empty()) return why;
    std::string tmp = temp_name(name);
    int fd = openat(dfd.fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0700);
    if (fd < 0) return strerror(errno);
    // the owner first, then the mode: nobody else reads it in between
    bool owned = (owner == uid_t(-1) && group == gid_t(-1)) || fchown(fd, owner, group) == 0;
    bool ok = owned && fchmod(fd, mode) == 0 && write_all(fd, text);  // fchmod: whatever the umask
    int err = errno;
    if (close(fd) != 0 && ok) ok = false, err = errno;
    if (ok && renameat(dfd.fd, tmp.c_str(), dfd.fd, name.c_str()) != 0) ok = false, err = errno;
    if (ok) return "";
    unlinkat(dfd.fd, tmp.c_str(), 0);
    return strerror(err);
}

std::unique_ptr<std::ostream> open_output(const std::string& what, const std::string& path, mode_t mode) {
    auto refuse = [&](const std::string& why) {
        return UserError(ExitCode::Usage, "cannot write " + what + " " + path + ": " + why);
    };
    std::string dir, name, error;
    if (!split(path, dir, name)) throw refuse("not a file name");
    Fd dfd(open_trusted_dir(dir, true, error, nullptr, Trust::Output));
    if (dfd.fd < 0) throw refuse(error);
    int fd = openat(dfd.fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd >= 0) {
        fchmod(fd, mode);
    } else if (errno == EEXIST) {
        // O_NONBLOCK: a FIFO must not block us before fstat refuses it
        fd = openat(dfd.fd, name.c_str(), O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) throw refuse(errno == ELOOP ? "it is a symbolic link" : strerror(errno));
        struct stat st;
        std::string why = fstat(fd, &st) != 0 ? strerror(errno) : unreplaceable(st, Trust::Output);
        if (why.empty() && (ftruncate(fd, 0) != 0 || fcntl(fd, F_SETFL, 0) != 0)) why = strerror(errno);
        if (!why.empty()) {
            close(fd);
            throw refuse(why);
        }
    } else {
        throw refuse(strerror(errno));
    }
    return std::make_unique<FdStream>(fd);
}

std::string ensure_private_dir(const std::string& dir, mode_t mode) {
    std::string parent, name, error;
    if (!split(dir, parent, name)) return dir + ": not a directory name";
    bool missing = false;
    Fd pfd(open_trusted_dir(parent, true, error, &missing));
    if (pfd.fd < 0 && missing) {
        if (std::string e = ensure_private_dir(parent, 0755); !e.empty()) return e;
        pfd.fd = open_trusted_dir(parent, true, error);
    }
    if (pfd.fd < 0) return error;
    if (mkdirat(pfd.fd, name.c_str(), mode) == 0) {
        fchmodat(pfd.fd, name.c_str(), mode, 0);  // whatever the umask
    } else if (errno != EEXIST) {
        return "cannot create " + dir + ": " + strerror(errno);
    }
    Fd fd(openat(pfd.fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st;
    if (fd.fd < 0 || fstat(fd.fd, &st) != 0)
        return dir + " is not a directory" + (errno == ELOOP || errno == ENOTDIR ? "" : std::string(": ") + strerror(errno));
    if (std::string why = untrusted_dir(st, false); !why.empty()) return dir + " " + why;
    return "";
}

std::string ensure_private_dir_of(const std::string& file, mode_t mode) {
    std::string dir, name;
    split(file, dir, name);
    if (dir == ".")
        if (char* cwd = getcwd(nullptr, 0)) dir = cwd, free(cwd);
    return ensure_private_dir(dir, mode);
}

std::string prepare_private_file(const std::string& path, mode_t mode, mode_t dir_mode, std::string& note) {
    std::string dir, name, error;
    if (!split(path, dir, name)) return "not a file name";
    bool existed = access(dir.c_str(), F_OK) == 0;
    if (std::string e = ensure_private_dir(dir, dir_mode); !e.empty()) return e;
    Fd dfd(open_trusted_dir(dir, false, error));
    if (dfd.fd < 0) return error;
    int fd = openat(dfd.fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd >= 0) close(fd);
    for (const char* suffix : {"", "-wal", "-shm", "-journal"})
        if (std::string why = tighten(dfd.fd, name + suffix, mode); !why.empty()) return name + suffix + ": " + why;
    struct stat st;
    if (!existed || fstat(dfd.fd, &st) != 0 || (st.st_mode & 07777 & ~dir_mode) == 0) return "";
    // someone else's directory, or one with other files: not ours to tighten
    bool only_ours = st.st_uid == geteuid();
    if (DIR* d = only_ours ? fdopendir(dup(dfd.fd)) : nullptr) {
        while (dirent* e = readdir(d)) {
            std::string entry = e->d_name;
            if (entry != "." && entry != ".." && entry.rfind(name, 0) != 0) only_ours = false;
        }
        closedir(d);
    }
    if (only_ours && fchmod(dfd.fd, dir_mode) == 0) return "";
    note = dir + " lets other users in (mode " + octal(st.st_mode) + "); the file is " + octal(mode) +
           ", but give it a directory of its own (mode " + octal(dir_mode) + ")";
    return "";
}

}  // namespace swamp
