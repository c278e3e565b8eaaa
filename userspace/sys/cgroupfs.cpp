#include "sys/cgroupfs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sys/memparse.hpp"
#include "sys/mounts.hpp"

namespace swamp {

std::optional<std::string> read_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            ::close(fd);
            return std::nullopt;
        }
        if (n == 0) break;
        out.append(buf, size_t(n));
    }
    ::close(fd);
    return out;
}

int write_file(const std::string& path, const std::string& text) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    int e = 0;
    if (::write(fd, text.data(), text.size()) < 0) e = errno;
    ::close(fd);
    return e;
}

std::optional<std::string> cgroup2_mount(const FsRoot& root) { return Mounts(root).find("cgroup2"); }

std::optional<std::string> v2_path_of(pid_t pid, const FsRoot& root) {
    auto lines = memparse::parse_proc_cgroup(read_file(root.proc(pid, "cgroup")).value_or(""));
    return memparse::v2_cgroup_path(lines);
}

bool remove_cgroup(const std::string& cg, const std::string& to, int tries, const FsRoot& root) {
    for (int i = 0; i < tries; i++) {
        std::string procs = read_file(cg + "/cgroup.procs").value_or("");
        for (size_t at = 0; at < procs.size();) {
            size_t nl = procs.find('\n', at);
            if (nl == std::string::npos) nl = procs.size();
            std::string pid = procs.substr(at, nl - at);
            if (!pid.empty() && write_file(to + "/cgroup.procs", pid) != 0)
                if (auto top = cgroup2_mount(root)) write_file(*top + "/cgroup.procs", pid);  // `to` is gone
            at = nl + 1;
        }
        if (::rmdir(cg.c_str()) == 0 || errno == ENOENT) return true;
        if (errno != EBUSY) return false;
        ::usleep(10'000);  // a process forked while its siblings moved, or has not left yet
    }
    return false;
}

int release_swamp_cgroup(const std::string& dir, const FsRoot& root) {
    std::string parent = dir.substr(0, dir.rfind('/'));
    std::vector<std::string> jobs;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (dirent* e = ::readdir(d))
            if (std::strncmp(e->d_name, "job-", 4) == 0) jobs.push_back(dir + "/" + e->d_name);
        ::closedir(d);
    }
    int frozen = 0;
    for (const auto& cg : jobs) {  // thaw them all first: every job runs again at once
        if (read_file(cg + "/cgroup.freeze").value_or("0")[0] == '1') frozen++;
        write_file(cg + "/cgroup.freeze", "0");
    }
    for (const auto& cg : jobs) remove_cgroup(cg, parent, 50, root);
    remove_cgroup(dir, parent, 50, root);
    return frozen;
}

namespace {

void find_under(const std::string& dir, int depth, std::vector<std::string>& out) {
    if (depth > 12) return;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return;
    while (dirent* e = ::readdir(d)) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
        std::string sub = dir + "/" + e->d_name;
        if (std::strncmp(e->d_name, "swamp-bpf-", 10) == 0)
            out.push_back(sub);
        else
            find_under(sub, depth + 1, out);
    }
    ::closedir(d);
}

}  // namespace

std::vector<std::string> find_swamp_cgroups(const std::string& mount) {
    std::vector<std::string> out;
    find_under(mount, 0, out);
    return out;
}

}  // namespace swamp
