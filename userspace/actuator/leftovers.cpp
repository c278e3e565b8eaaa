#include "actuator/leftovers.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "sys/cgroupfs.hpp"
#include "sys/proc.hpp"
#include "sys/safe_file.hpp"
#include "sys/signals.hpp"

namespace swamp {

std::string format_state(const StateFile& s) {
    std::ostringstream out;
    out << "# swamp-bpf state: what this instance holds stopped; a later swamp-bpf resumes it if both processes die\n";
    out << "controller " << s.controller << ' ' << s.controller_start << '\n';
    out << "watchdog " << s.watchdog << ' ' << s.watchdog_start << '\n';
    if (!s.cgroup_dir.empty()) out << "cgroup " << s.cgroup_dir << '\n';
    for (const auto& h : s.held) out << "stopped " << h.job << ' ' << h.pid << ' ' << h.start_ticks << '\n';
    return out.str();
}

std::optional<StateFile> parse_state(std::string_view text) {
    StateFile s;
    std::istringstream in{std::string(text)};
    bool have_controller = false;
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream l(line);
        std::string key;
        l >> key;
        if (key == "controller") {
            if (!(l >> s.controller >> s.controller_start) || s.controller <= 0) return std::nullopt;
            have_controller = true;
        } else if (key == "watchdog") {
            if (!(l >> s.watchdog >> s.watchdog_start)) return std::nullopt;
        } else if (key == "cgroup") {
            std::getline(l >> std::ws, s.cgroup_dir);
            // only our own directories, never an arbitrary path from a tampered file
            auto name = s.cgroup_dir.substr(s.cgroup_dir.rfind('/') + 1);
            if (s.cgroup_dir[0] != '/' || name.rfind("swamp-bpf-", 0) != 0) return std::nullopt;
        } else if (key == "stopped") {
            HeldProcess h;
            if (!(l >> h.job >> h.pid >> h.start_ticks) || h.pid <= 1) return std::nullopt;
            s.held.push_back(h);
        } else {
            return std::nullopt;
        }
    }
    if (!have_controller) return std::nullopt;
    return s;
}

namespace {
std::string& configured_state_dir() {
    static std::string dir = kStateDir;
    return dir;
}
}  // namespace

const std::string& state_dir() { return configured_state_dir(); }
void set_state_dir(const std::string& dir) { configured_state_dir() = dir; }

std::string prepare_state_dir() { return ensure_private_dir(state_dir(), 0755); }

std::string state_path(pid_t controller) { return state_dir() + "/" + std::to_string(controller) + ".state"; }

bool write_state(const StateFile& s) { return write_file_atomic(state_path(s.controller), format_state(s), 0600).empty(); }

namespace {

// A zombie is dead: a killed watchdog, reparented to init, may wait a while to be reaped.
bool alive(pid_t pid, uint64_t start, const FsRoot& root) {
    if (pid <= 0) return false;
    auto st = read_proc_stat(pid, root);
    return st && st->start_ticks == start && st->state != 'Z' && st->state != 'X';
}

// SIGCONT through a pidfd, only if the pid still names the process we stopped.
bool resume_held(const HeldProcess& h, const FsRoot& root) {
    int fd = open_pidfd(h.pid);
    if (fd < 0) return false;
    auto st = read_proc_stat(h.pid, root);
    bool ours = st && st->start_ticks == h.start_ticks;
    bool was_stopped = ours && (st->state == 'T' || st->state == 't');
    if (ours) pidfd_signal(fd, SIGCONT);
    ::close(fd);
    return was_stopped;
}

void note_instance(Recovery& r, pid_t pid) {
    if (std::find(r.instances.begin(), r.instances.end(), pid) == r.instances.end()) r.instances.push_back(pid);
}

}  // namespace

Recovery recover_leftovers(const HostFeatures& host) {
    const FsRoot& root = host.root;
    Recovery r;
    for (const std::string& name : dir_entries(state_dir())) {
        if (name.size() < 7 || name.substr(name.size() - 6) != ".state") continue;
        std::string path = state_dir() + "/" + name;
        auto s = parse_state(read_file(path).value_or(""));
        if (!s) {
            r.unreadable.push_back(path);  // nothing we could act on safely; a person looks at it
            continue;
        }
        if (alive(s->controller, s->controller_start, root) || alive(s->watchdog, s->watchdog_start, root)) continue;
        for (const auto& h : s->held) r.resumed += resume_held(h, root);
        if (!s->cgroup_dir.empty() && path_exists(s->cgroup_dir))
            r.thawed += release_swamp_cgroup(s->cgroup_dir, host.cgroup2);
        remove_file(path);
        note_instance(r, s->controller);
    }
    // job cgroups of a dead instance whose state file is gone (/run wiped, or never written)
    if (host.cgroup2) {
        for (const std::string& dir : find_swamp_cgroups(*host.cgroup2)) {
            pid_t owner = pid_t(std::strtol(dir.c_str() + dir.rfind('-') + 1, nullptr, 10));
            auto st = read_proc_stat(owner, root);
            if (st && st->comm == "swamp-bpf" && st->state != 'Z') continue;  // a live instance's own
            r.thawed += release_swamp_cgroup(dir, host.cgroup2);
            note_instance(r, owner);
        }
    }
    return r;
}

std::string describe(const Recovery& r) {
    if (r.instances.empty()) return "";
    std::string who;
    for (pid_t p : r.instances) who += (who.empty() ? "" : ", ") + std::to_string(p);
    return "resumed " + std::to_string(r.resumed) + " stopped process" + (r.resumed == 1 ? "" : "es") + " and thawed " +
           std::to_string(r.thawed) + " frozen cgroup" + (r.thawed == 1 ? "" : "s") +
           " left by an earlier swamp-bpf that died (pid " + who + ")";
}

std::vector<std::string> report_lines(const Recovery& r) {
    std::vector<std::string> lines;
    for (const std::string& path : r.unreadable)
        lines.push_back(path + " is not a state file this swamp-bpf can read: left in place; look at it, resume "
                               "what it lists by hand, and remove it");
    if (std::string note = describe(r); !note.empty()) lines.push_back(note);
    return lines;
}

}  // namespace swamp
