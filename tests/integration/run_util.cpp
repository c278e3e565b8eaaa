#include "run_util.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace swamp::test {

Child spawn(const std::vector<std::string>& argv) {
    int p[2];
    if (pipe(p)) return {};
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
    close(p[1]);
    return {pid, p[0]};
}

int finish(Child& c, std::string& out) {
    char buf[65536];
    ssize_t n;
    while ((n = read(c.out_fd, buf, sizeof buf)) > 0) out.append(buf, n);
    close(c.out_fd);
    int status = -1;
    waitpid(c.pid, &status, 0);
    return status;
}

int run(const std::vector<std::string>& argv, std::string& out) {
    Child c = spawn(argv);
    return finish(c, out);
}

std::vector<nlohmann::json> json_lines(const std::string& text) {
    std::vector<nlohmann::json> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) out.push_back(nlohmann::json::parse(line));
    return out;
}

bool is_root() { return geteuid() == 0; }

namespace fs = std::filesystem;

// Processes in T state whose name says they belong to a build.
std::vector<std::string> stopped_build_processes() {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator("/proc")) {
        std::ifstream in(e.path() / "stat");
        std::string line;
        if (!std::getline(in, line)) continue;
        auto close = line.rfind(')');
        if (close == std::string::npos || close + 2 >= line.size()) continue;
        std::string comm = line.substr(line.find('(') + 1, close - line.find('(') - 1);
        char state = line[close + 2];
        if ((state == 'T' || state == 't') && (comm == "hog" || comm == "make" || comm == "swamp-bpf"))
            out.push_back(line.substr(0, close + 1));
    }
    return out;
}

std::vector<std::string> leftover_cgroups() {
    std::vector<std::string> out;
    for (const char* root : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
        std::error_code ec;
        for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec)) {
            if (it.depth() > 4) it.disable_recursion_pending();
            if (it->path().filename().string().rfind("swamp-bpf-", 0) == 0) out.push_back(it->path());
        }
    }
    return out;
}

// The pid of the swamp-bpf process whose command line mentions `marker`.
pid_t find_swamp(const std::string& marker) {
    for (const auto& e : fs::directory_iterator("/proc")) {
        std::ifstream comm(e.path() / "comm");
        std::string name;
        if (!std::getline(comm, name) || name != "swamp-bpf") continue;
        std::ifstream cmd(e.path() / "cmdline");
        std::string args((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
        if (args.find(marker) != std::string::npos) return pid_t(std::stoi(e.path().filename()));
    }
    return -1;
}

std::vector<std::string> frozen_cgroups() {
    std::vector<std::string> out;
    for (const auto& dir : leftover_cgroups()) {
        std::error_code ec;
        for (const auto& job : fs::directory_iterator(dir, ec)) {
            std::ifstream ev(job.path() / "cgroup.events");
            for (std::string line; std::getline(ev, line);)
                if (line == "frozen 1") out.push_back(job.path());
        }
    }
    return out;
}

}  // namespace swamp::test
