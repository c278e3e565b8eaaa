// fork_storm: a configure-like storm of short processes at a paced rate.
//
// Starts --rate processes per second for --seconds, each a fork and an exec
// of --helper (default /bin/true; tests use the static storm_true, which is
// far cheaper to exec). Starts are paced against the clock: the i-th is due
// at i / rate seconds; one that is late starts at once, so a slow moment is
// caught up. At most --max-inflight children live at once; every child is
// reaped. --spawn fork (the default) is a full fork() then execv(), as a shell
// does; --spawn vfork uses posix_spawn (clone with CLONE_VM|CLONE_VFORK), where
// the parent waits until each child has exec'd.
//
// Prints one line, to --report FILE or else stdout:
//   fork_storm pid=P started=N ok=N failed=F elapsed_s=E rate=R max_late_ms=L
// started: children that were created; ok: those that exited 0; elapsed_s:
// from the first start until the last child was reaped; rate = started /
// elapsed_s. Exits 0 when every child was created and exited 0, 1 otherwise.

#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

extern char** environ;

namespace {

constexpr const char* kUsage =
    "usage: fork_storm --rate N --seconds S [--helper PATH] [--spawn vfork|fork]\n"
    "                  [--max-inflight K] [--report FILE]\n"
    "  Starts N processes a second for S seconds (each execs PATH, default /bin/true),\n"
    "  paced against the clock, at most K (default 64) at once, and reaps them all.\n"
    "  Prints: fork_storm pid=P started=N ok=N failed=F elapsed_s=E rate=R max_late_ms=L\n";

double now_s() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

void sleep_until(double t) {
    timespec ts{};
    ts.tv_sec = time_t(t);
    ts.tv_nsec = long((t - double(ts.tv_sec)) * 1e9);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
}

[[noreturn]] void usage_error(const std::string& msg) {
    std::fprintf(stderr, "fork_storm: %s\n%s", msg.c_str(), kUsage);
    std::exit(2);
}

double positive(const char* s, const char* what) {
    char* end = nullptr;
    double v = std::strtod(s, &end);
    if (end == s || *end || !(v > 0)) usage_error(std::string("bad ") + what);
    return v;
}

}  // namespace

int main(int argc, char** argv) {
    double rate = 0, seconds = 0;
    long max_inflight = 64;
    std::string helper = "/bin/true", report, spawn_kind = "fork";
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (i + 1 >= argc) usage_error(a + " needs a value");
        const char* v = argv[++i];
        if (a == "--rate") rate = positive(v, "--rate");
        else if (a == "--seconds") seconds = positive(v, "--seconds");
        else if (a == "--max-inflight") max_inflight = long(positive(v, "--max-inflight"));
        else if (a == "--helper") helper = v;
        else if (a == "--report") report = v;
        else if (a == "--spawn") spawn_kind = v;
        else usage_error("unknown argument '" + a + "'");
    }
    if (rate <= 0 || seconds <= 0) usage_error("--rate and --seconds are required");
    if (spawn_kind != "vfork" && spawn_kind != "fork") usage_error("bad --spawn '" + spawn_kind + "'");
    const long total = long(rate * seconds);

    char* child_argv[] = {helper.data(), nullptr};
    long started = 0, ok = 0, failed = 0, inflight = 0;
    bool spawn_failed = false;
    double max_late = 0;

    auto reap = [&](bool block) {
        for (;;) {
            int status = 0;
            pid_t pid = waitpid(-1, &status, block ? 0 : WNOHANG);
            if (pid < 0 && errno == EINTR) continue;
            if (pid <= 0) return;
            --inflight;
            (WIFEXITED(status) && WEXITSTATUS(status) == 0 ? ok : failed)++;
            if (block) return;
        }
    };

    const double t0 = now_s();
    while (started < total && !spawn_failed) {
        const double due = t0 + double(started) / rate;
        double t = now_s();
        if (t < due) {
            reap(false);
            sleep_until(due);
            t = now_s();
        }
        max_late = std::max(max_late, t - due);
        while (inflight >= max_inflight) reap(true);
        pid_t pid = -1;
        if (spawn_kind == "vfork") {
            int e = posix_spawn(&pid, helper.c_str(), nullptr, nullptr, child_argv, environ);
            if (e) {
                std::fprintf(stderr, "fork_storm: posix_spawn %s: %s\n", helper.c_str(), std::strerror(e));
                spawn_failed = true;
                break;
            }
        } else {
            pid = fork();
            if (pid == 0) {
                execv(helper.c_str(), child_argv);
                _exit(127);
            }
            if (pid < 0) {
                std::perror("fork_storm: fork");
                spawn_failed = true;
                break;
            }
        }
        ++started;
        ++inflight;
        reap(false);
    }
    while (inflight > 0) reap(true);
    const double elapsed = now_s() - t0;

    char line[256];
    std::snprintf(line, sizeof line, "fork_storm pid=%d started=%ld ok=%ld failed=%ld elapsed_s=%.3f rate=%.0f max_late_ms=%.1f\n",
                  int(getpid()), started, ok, failed, elapsed, elapsed > 0 ? double(started) / elapsed : 0.0,
                  max_late * 1e3);
    if (report.empty()) {
        std::fputs(line, stdout);
    } else if (FILE* f = std::fopen(report.c_str(), "w")) {
        std::fputs(line, f);
        std::fclose(f);
    } else {
        std::perror("fork_storm: --report");
        return 1;
    }
    return spawn_failed || failed || ok != total ? 1 : 0;
}
