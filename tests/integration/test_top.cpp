// `swamp-bpf top` on a real terminal: tmux runs it against a real controller
// that manages a fake build; send-keys presses its keys, capture-pane reads the
// screen. The jobs are shown (a hostile name escaped), pause/resume/limit/drain
// change the controller's caps, and "run this job now" resumes the chosen held
// job while the cap holds the rest.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "run_util.hpp"

using namespace swamp::test;
namespace fs = std::filesystem;

namespace {

class TopTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (std::string why = missing_root_or_memcg(); !why.empty()) GTEST_SKIP() << why;
        std::string path;
        run({"/bin/sh", "-c", "command -v tmux"}, path);
        tmux_bin_ = path.substr(0, path.find('\n'));
        ASSERT_FALSE(tmux_bin_.empty()) << "tmux is not installed (scripts/deps.sh --test installs it)";
        dir_ = fresh_dir("top");
        sock_ = (dir_ / "run" / "ctl.sock").string();
        marker_ = "SWAMP_TOP_TEST=" + std::to_string(getpid());
        tmux_ = "swamp-top-" + std::to_string(getpid());  // a tmux server of our own (-L)
    }
    void TearDown() override {
        if (IsSkipped()) return;
        tmux({"kill-server"});
        std::string sockets;  // tmux leaves its server's socket file behind
        if (tmux({"display-message", "-p", "#{socket_path}"}, &sockets) != 0) {
            const char* tmp = getenv("TMUX_TMPDIR");
            fs::remove(fs::path(tmp ? tmp : "/tmp") / ("tmux-" + std::to_string(getuid())) / tmux_);
        }
        if (swamp_.pid > 0) {  // resume everything and end the build
            kill(swamp_.pid, SIGTERM);
            std::string ignored;
            finish(swamp_, ignored);
        }
        EXPECT_TRUE(stopped_build_processes(marker_).empty()) << "a build process was left stopped";
        fs::remove_all(dir_);
    }

    int tmux(std::vector<std::string> args, std::string* out = nullptr) {
        args.insert(args.begin(), {tmux_bin_, "-L", tmux_});
        std::string text;
        int status = run(args, text);
        if (out) *out = text;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::string screen() {
        std::string out;
        tmux({"capture-pane", "-p", "-t", "top"}, &out);
        return out;
    }
    void press(const std::string& key) { ASSERT_EQ(tmux({"send-keys", "-t", "top", key}), 0) << key; }
    nlohmann::json status_json() {
        std::string out;
        if (run_ctl(sock_, {"status", "--json"}, out) != 0) return nlohmann::json::object();
        return nlohmann::json::parse(out, nullptr, false);
    }
    int waiting(const nlohmann::json& s) { return jobs_in(s, "stopped") + jobs_in(s, "held"); }
    int jobs_in(const nlohmann::json& s, const std::string& state) {
        int n = 0;
        for (const auto& j : s.value("jobs", nlohmann::json::array())) n += j.value("state", "") == state;
        return n;
    }
    // The screen's row of job `id` (its JOB column), or "".
    std::string row_of(uint64_t id) {
        std::istringstream in(screen());
        for (std::string line; std::getline(in, line);) {
            std::istringstream words(line.size() > 1 ? line.substr(1) : "");
            uint64_t job = 0;
            if (words >> job && job == id) return line;
        }
        return "";
    }

    fs::path dir_;
    std::string sock_, marker_, tmux_, tmux_bin_;
    Child swamp_;
};

TEST_F(TopTest, ShowsTheJobsAndItsKeysAct) {
    // three long jobs under a cap of 1: one runs, two wait (held at exec, or stopped by the cap
    // when one is seen before its exec)
    fs::path odd = dir_ / "h\x1b" "cevil";  // ESC c resets the terminal (and is no shell character: make execs it)
    fs::create_symlink(HOG_BIN, odd);
    std::string hog = " --mib 24 --cpu-s 60 --out $@\n";
    std::ofstream(dir_ / "Makefile") << "all: $(OUT)/a $(OUT)/b $(OUT)/c\n"
                                     << "$(OUT)/a:\n\t" << HOG_BIN << hog << "$(OUT)/b:\n\t" << HOG_BIN << hog
                                     << "$(OUT)/c:\n\t$(ODD)" << hog;
    setenv("SWAMP_TOP_TEST", std::to_string(getpid()).c_str(), 1);
    swamp_ = spawn({SWAMP_BIN, "--no-history", "--quiet", "--cpus", "0", "--max-running", "1", "--socket", sock_, "--",
                    "/usr/bin/make", "-s", "-f", (dir_ / "Makefile").string(), "OUT=" + dir_.string(),
                    "ODD=" + odd.string(), "-j3"});
    unsetenv("SWAMP_TOP_TEST");
    ASSERT_TRUE(wait_until([&] { auto s = status_json(); return jobs_in(s, "running") == 1 && waiting(s) == 2; }, 30))
        << status_json().dump();

    std::string top = std::string(SWAMP_BIN) + " top --interval 0.1 --socket " + sock_;
    ASSERT_EQ(tmux({"new-session", "-d", "-s", "top", "-x", "160", "-y", "30", top}), 0);
    ASSERT_TRUE(wait_until([&] { return screen().find("RSS#/PEAK-") != std::string::npos; }, 10)) << screen();

    // every job is shown with its state, and why the waiting ones wait
    nlohmann::json s = status_json();
    uint64_t held = 0;  // a waiting job, to run now
    for (const auto& j : s["jobs"]) {
        uint64_t id = j["id"];
        std::string row = row_of(id);
        EXPECT_NE(row.find(j["state"].get<std::string>()), std::string::npos) << row << "\n" << screen();
        if (j["state"] != "running") {
            EXPECT_TRUE(row.find("held at exec") != std::string::npos || row.find("cap:") != std::string::npos) << row;
            held = id;  // the last: the odd one when it is named yet
        }
    }
    std::string shown = screen();
    EXPECT_NE(shown.find("hog"), std::string::npos) << shown;
    // the odd job is named by its program once it exec'd (a job stopped before it is named make)
    EXPECT_TRUE(wait_until([&] { return screen().find("h\\x1b" "cevil") != std::string::npos; }, 5) ||
                shown.find(" make ") != std::string::npos)
        << "the hostile name, escaped:\n" << screen();
    EXPECT_EQ(shown.find('\x1b'), std::string::npos);
    EXPECT_NE(shown.find("caps: at most 1 running job"), std::string::npos) << shown;

    // the cap keys and pause, resume, drain change the controller's caps
    struct Step {
        const char* key;
        int max_running;
        bool pause, drain;
    };
    for (Step st : {Step{"p", 1, true, false}, Step{"r", 1, false, false}, Step{"2", 2, false, false},
                    Step{"0", 0, false, false}, Step{"1", 1, false, false}, Step{"d", 1, false, true},
                    Step{"r", 1, false, false}}) {
        press(st.key);
        EXPECT_TRUE(wait_until([&] {
            auto caps = status_json().value("caps", nlohmann::json::object());
            return caps.value("max_running", -1) == st.max_running && caps.value("pause", !st.pause) == st.pause &&
                   caps.value("drain", !st.drain) == st.drain;
        }, 5)) << "after key " << st.key << ": " << status_json()["caps"].dump();
        if (std::string(st.key) == "p") {
            EXPECT_TRUE(wait_until([&] { return screen().find("paused") != std::string::npos; }, 5)) << screen();
        }
    }

    // run this job now: select the held job, press Enter; it runs though the cap is 1
    ASSERT_NE(held, 0u) << s.dump();
    for (int i = 0; i < 5 && row_of(held).rfind(">", 0) != 0; i++) {
        press("Down");
        wait_until([&] { return false; }, 0.3);
    }
    ASSERT_EQ(row_of(held).rfind(">", 0), 0u) << "the held job is not selected:\n" << screen();
    press("Enter");
    auto job = [&](uint64_t id) {
        for (const auto& j : status_json().value("jobs", nlohmann::json::array()))
            if (j.value("id", uint64_t(0)) == id) return j;
        return nlohmann::json::object();
    };
    ASSERT_TRUE(wait_until([&] { return job(held).value("state", "") == "running"; }, 5)) << status_json().dump();
    EXPECT_TRUE(job(held).value("run_now", false)) << job(held).dump();
    pid_t pid = job(held).value("pid", 0);
    std::string stat = file_text("/proc/" + std::to_string(pid) + "/stat");
    size_t close = stat.rfind(')');
    ASSERT_NE(close, std::string::npos) << stat;
    EXPECT_NE(stat[close + 2], 'T') << "the chosen job is still stopped: " << stat;
    EXPECT_EQ(waiting(status_json()), 1) << "the cap still holds the other job";
    EXPECT_TRUE(wait_until([&] { return row_of(held).find("run now by the user") != std::string::npos; }, 5)) << screen();
    EXPECT_TRUE(wait_until([&] { return screen().find("runs now, until it ends") != std::string::npos; }, 5)) << screen();
    // and a pause keeps it running while the others stop
    press("p");
    EXPECT_TRUE(wait_until([&] { return jobs_in(status_json(), "running") == 1; }, 5)) << status_json().dump();
    EXPECT_EQ(job(held).value("state", ""), "running");
    press("r");

    // q quits: the pane's command ends, so does the session
    press("q");
    EXPECT_TRUE(wait_until([&] { return tmux({"has-session", "-t", "top"}) != 0; }, 5)) << screen();
}

TEST_F(TopTest, SaysClearlyWhenNothingListens) {
    std::string out;
    int status = run({"/bin/sh", "-c", std::string(SWAMP_BIN) + " top --socket " + sock_ + " 2>&1"}, out);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status << ": " << out;
    EXPECT_NE(out.find("no swamp-bpf listening on " + sock_), std::string::npos) << out;
}

}  // namespace
