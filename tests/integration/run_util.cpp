#include "run_util.hpp"

#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>

namespace swamp::test {

namespace {

// Run under `sudo ctest` (scripts/test.sh), every launched build would run as the user who ran
// sudo (docs/usage.md, "Who the build runs as"), in the tests' root-owned directories: the tests
// run as root directly, as CI does; test_as_user.cpp sets these variables itself.
const bool kNoInvoker = [] {
    for (const char* var : {"SUDO_UID", "SUDO_GID", "SUDO_USER", "PKEXEC_UID", "DOAS_USER"}) unsetenv(var);
    return true;
}();

// fork + exec with stdout (and stderr too, with `uid`) on a pipe; with `uid`,
// the child drops to that uid and gid (and no groups) first.
Child spawn_with(const std::vector<std::string>& argv, std::optional<uid_t> uid) {
    int p[2];
    if (pipe(p)) return {};
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        if (uid) dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        if (uid && (setgroups(0, nullptr) || setresgid(*uid, *uid, *uid) || setresuid(*uid, *uid, *uid))) _exit(126);
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execv(args[0], args.data());
        _exit(127);
    }
    close(p[1]);
    return {pid, p[0]};
}

}  // namespace

Child spawn(const std::vector<std::string>& argv) { return spawn_with(argv, std::nullopt); }

Child spawn_as(const std::vector<std::string>& argv, uid_t uid) { return spawn_with(argv, uid); }

int finish(Child& c, std::string& out) {
    char buf[65536];
    ssize_t n;
    while ((n = read(c.out_fd, buf, sizeof buf)) > 0) out.append(buf, n);
    close(c.out_fd);
    int status = -1;
    waitpid(c.pid, &status, 0);
    return status;
}

int run_ctl(const std::string& sock, const std::vector<std::string>& args, std::string& out) {
    std::vector<std::string> argv{SWAMP_BIN, "ctl", "--socket", sock};
    argv.insert(argv.end(), args.begin(), args.end());
    out.clear();
    int status = run(argv, out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::filesystem::path fresh_dir(const std::string& name) {
    auto dir = std::filesystem::temp_directory_path() / ("swamp-" + name + "-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
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

std::string file_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

bool is_root() { return geteuid() == 0; }

namespace fs = std::filesystem;

std::string missing_root_or_memcg() {
    if (!is_root()) return "needs root (BPF, memory cgroups)";
    if (!fs::exists("/sys/fs/cgroup/memory/memory.limit_in_bytes") && !fs::exists("/sys/fs/cgroup/memory.max") &&
        !fs::exists("/sys/fs/cgroup/unified/cgroup.controllers"))
        return "no memory cgroup controller";
    return "";
}

bool have_cgroup2() {
    return fs::exists("/sys/fs/cgroup/unified/cgroup.controllers") || fs::exists("/sys/fs/cgroup/cgroup.controllers");
}

std::vector<ProcInfo> processes() {
    std::vector<ProcInfo> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/proc", ec)) {
        std::string line = file_text(e.path() / "stat");  // whole: a comm may hold a newline
        auto open = line.find('('), close = line.rfind(')');
        if (open == std::string::npos || close == std::string::npos || close + 2 >= line.size()) continue;
        ProcInfo p;
        p.comm = line.substr(open + 1, close - open - 1);
        std::istringstream rest(line.substr(close + 2));
        if (!(rest >> p.state >> p.ppid >> p.pgrp)) continue;
        p.pid = pid_t(std::stol(line.substr(0, open)));
        out.push_back(p);
    }
    return out;
}

bool has_env(pid_t pid, const std::string& entry) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/environ");
    for (std::string var; std::getline(in, var, '\0');)
        if (var == entry) return true;
    return false;
}

std::vector<std::string> stopped_build_processes(const std::string& env) {
    std::vector<std::string> out;
    for (const ProcInfo& p : processes()) {
        if (p.state != 'T' && p.state != 't') continue;
        bool ours = env.empty() ? (p.comm == "hog" || p.comm == "make" || p.comm == "swamp-bpf") : has_env(p.pid, env);
        if (ours) out.push_back(std::to_string(p.pid) + " (" + p.comm + ")");
    }
    return out;
}

std::vector<std::string> leftover_cgroups(pid_t swamp) {
    std::vector<std::string> out;
    std::string want = swamp ? "swamp-bpf-" + std::to_string(swamp) : "swamp-bpf-";
    for (const char* root : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
        std::error_code ec;
        for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec)) {
            if (it.depth() > 4) it.disable_recursion_pending();
            std::string name = it->path().filename().string();
            if (swamp ? name == want : name.rfind(want, 0) == 0) out.push_back(it->path());
        }
    }
    return out;
}

std::vector<std::string> frozen_cgroups(pid_t swamp) {
    std::vector<std::string> out;
    for (const auto& dir : leftover_cgroups(swamp)) {
        std::error_code ec;
        for (const auto& job : fs::directory_iterator(dir, ec)) {
            std::ifstream ev(job.path() / "cgroup.events");
            for (std::string line; std::getline(ev, line);)
                if (line == "frozen 1") out.push_back(job.path());
        }
    }
    return out;
}

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

bool wait_until(const std::function<bool()>& ok, double seconds) {
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
        if (ok()) return true;
        usleep(50 * 1000);
    }
    return ok();
}

}  // namespace swamp::test
