#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli_util.hpp"
#include "config/config.hpp"
#include "config/setting_table.hpp"
#include "test_util.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

using namespace swamp;
using namespace swamp::test;

namespace {

const std::string kExample =
    (std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "config" / "swamp-bpf.conf").string();

std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Applies `text` over `o`; returns the error message, "" if none.
std::string apply_text(const std::string& text, ControllerOptions& o, const PathExists& exists = nullptr) {
    try {
        apply_config_text(text, "f.toml", o, exists);
        return "";
    } catch (const UserError& e) {
        EXPECT_EQ(e.code(), ExitCode::Config) << e.what();
        return e.what();
    }
}

std::string error_of(const std::string& text) {
    ControllerOptions o;
    return apply_text(text, o);
}

// Every setting a config key can change; SCOPED_TRACE tells which comparison.
void expect_same(const ControllerOptions& a, const ControllerOptions& b) {
    EXPECT_EQ(a.memory.budget, b.memory.budget);
    EXPECT_EQ(a.memory.reserve, b.memory.reserve);
    EXPECT_EQ(a.action, b.action);
    EXPECT_EQ(a.caps.max_running, b.caps.max_running);
    EXPECT_EQ(a.policy.horizon_s, b.policy.horizon_s);
    EXPECT_EQ(a.policy.low_watermark, b.policy.low_watermark);
    EXPECT_EQ(a.policy.high_watermark, b.policy.high_watermark);
    EXPECT_EQ(a.page_out.mode, b.page_out.mode);
    EXPECT_EQ(a.page_out.delay_s, b.page_out.delay_s);
    EXPECT_EQ(a.tree.drivers, b.tree.drivers);
    EXPECT_EQ(a.protect, b.protect);
    EXPECT_EQ(a.service_users, b.service_users);
    EXPECT_EQ(a.service_roots, b.service_roots);
    EXPECT_EQ(a.sensing.rss_step, b.sensing.rss_step);
    EXPECT_EQ(a.sensing.fault_interval_ms, b.sensing.fault_interval_ms);
    EXPECT_EQ(a.sensing.ringbuf_size, b.sensing.ringbuf_size);
    EXPECT_EQ(a.sensing.max_tasks, b.sensing.max_tasks);
    EXPECT_EQ(a.sensing.btf_file, b.sensing.btf_file);
    EXPECT_EQ(a.sensing.attach, b.sensing.attach);
    EXPECT_EQ(a.quiet, b.quiet);
    EXPECT_EQ(a.trace, b.trace);
    EXPECT_EQ(a.trace_json, b.trace_json);
    EXPECT_EQ(a.trace_output, b.trace_output);
    EXPECT_EQ(a.history_db, b.history_db);
    EXPECT_EQ(a.no_history, b.no_history);
    EXPECT_EQ(a.socket_path, b.socket_path);
    EXPECT_EQ(a.status_file, b.status_file);
    EXPECT_EQ(a.metrics_file, b.metrics_file);
    EXPECT_EQ(a.on_event, b.on_event);
}

// A file that sets every key to something other than its default.
const char* kCustom = R"(
[memory]
budget = "6G"
reserve = 268435456

[policy]
action = "freeze"
max-running = 3
cpus = 1.5
horizon = 2.5
low-mark = "100M"
high-mark = "1.5G"
page-out = "auto"
page-out-delay = 2.5

[tree]
drivers = ["make", "bmake"]
protect = ["sshd", "mosh-server"]

[service]
users = ["portage", "1001"]
roots = ["emerge", "bmake"]

[sensing]
rss-step = "8M"
fault-interval = 500
ringbuf-size = "16M"
max-tasks = 4096
btf = "/boot/vmlinux.btf"
attach = "raw_tp"

[history]
db = "/srv/swamp/history.db"

[control]
socket = "/run/swamp/ctl.sock"
status-file = "/run/swamp/status"
status-group = "nagios"
metrics-file = "/var/lib/node_exporter/swamp.prom"
on-event = "/usr/share/swamp-bpf/examples/notify-desktop"

[output]
quiet = true
trace = "json"
trace-output = "/var/log/swamp.trace"
)";

ControllerOptions custom() {
    ControllerOptions o;
    EXPECT_EQ(apply_text(kCustom, o), "");
    return o;
}

// kCustom with a BTF file that exists, for apply_config_file.
struct CustomFile {
    TempFile btf;
    TempFile file;
    CustomFile() {
        std::string text = kCustom;
        text.replace(text.find("/boot/vmlinux.btf"), 17, btf.path);
        std::ofstream(file.path) << text;
    }
    ControllerOptions options() const {
        ControllerOptions o = custom();
        o.sensing.btf_file = btf.path;
        return o;
    }
};

}  // namespace

TEST(Config, EveryKeyIsRead) {
    ControllerOptions o = custom();
    EXPECT_EQ(o.memory.budget, 6ull << 30);
    EXPECT_EQ(o.memory.reserve, 256ull << 20);
    EXPECT_EQ(o.action, ActionKind::Freeze);
    EXPECT_EQ(o.caps.max_running, 3);
    EXPECT_EQ(o.policy.cpus, 1.5);
    EXPECT_EQ(o.policy.horizon_s, 2.5);
    EXPECT_EQ(o.policy.low_watermark, 100ull << 20);
    EXPECT_EQ(o.page_out.mode, PageOutMode::Auto);
    EXPECT_EQ(o.page_out.delay_s, 2.5);
    EXPECT_EQ(o.policy.high_watermark, 3ull << 29);
    EXPECT_EQ(o.tree.drivers, (std::vector<std::string>{"make", "bmake"}));
    EXPECT_EQ(o.protect, (std::vector<std::string>{"sshd", "mosh-server"}));
    EXPECT_EQ(o.sensing.rss_step, 8ull << 20);
    EXPECT_EQ(o.sensing.fault_interval_ms, 500u);
    EXPECT_EQ(o.sensing.ringbuf_size, 16ull << 20);
    EXPECT_EQ(o.sensing.max_tasks, 4096u);
    EXPECT_EQ(o.sensing.btf_file, "/boot/vmlinux.btf");
    EXPECT_EQ(o.sensing.attach, AttachKind::RawTp);
    EXPECT_TRUE(o.quiet);
    EXPECT_FALSE(o.trace);
    EXPECT_TRUE(o.trace_json);
    EXPECT_EQ(o.trace_output, "/var/log/swamp.trace");
    EXPECT_EQ(o.history_db, "/srv/swamp/history.db");
    EXPECT_FALSE(o.no_history);
    EXPECT_EQ(o.socket_path, "/run/swamp/ctl.sock");
    EXPECT_EQ(o.status_file, "/run/swamp/status");
    EXPECT_EQ(o.status_group, "nagios");
    EXPECT_EQ(o.metrics_file, "/var/lib/node_exporter/swamp.prom");
    EXPECT_EQ(o.on_event, "/usr/share/swamp-bpf/examples/notify-desktop");
    // kCustom names every key, so no key was left out of this test.
    for (const Setting& s : settings()) {
        if (s.has_key()) {
            EXPECT_TRUE(contains(kCustom, "\n" + s.key + " = ")) << s.table << "." << s.key;
        }
    }
}

TEST(Config, EmptyFileChangesNothing) {
    ControllerOptions o = custom();
    EXPECT_EQ(apply_text("# nothing\n", o), "");
    expect_same(o, custom());
}

// The shipped example names every key with its built-in default.
TEST(Config, ShippedExampleHoldsTheDefaults) {
    std::string text = read(kExample);
    ASSERT_FALSE(text.empty()) << kExample;
    ControllerOptions o = custom();  // every key differs from its default here
    ASSERT_EQ(apply_text(text, o), "");
    SCOPED_TRACE("config/swamp-bpf.conf against ControllerOptions{}");
    expect_same(o, ControllerOptions{});
    EXPECT_EQ(format_config(o), format_config(ControllerOptions{}));

    // ControllerOptions{} is what the command line starts from.
    auto cli = run({"--root-pid", "1"});
    ASSERT_FALSE(cli.cli.exit_now) << cli.err;
    SCOPED_TRACE("parse_cli defaults against ControllerOptions{}");
    expect_same(cli.cli.control, ControllerOptions{});
}

TEST(Config, FormatReadsBack) {
    ControllerOptions o;
    ASSERT_EQ(apply_text(format_config(custom()), o), "");
    expect_same(o, custom());
}

TEST(Config, SyntaxErrorsGiveTheLine) {
    std::string e = error_of("[memory]\nreserve = \"1G\"\n\n[policy]\nhorizon = \n");
    EXPECT_EQ(e.rfind("f.toml:5:", 0), 0u) << e;
    EXPECT_TRUE(contains(e, "bad TOML")) << e;
    EXPECT_TRUE(contains(e, "fix the syntax")) << e;

    e = error_of("[memory]\nreserve = \"1G\"\nreserve = \"2G\"\n");
    EXPECT_EQ(e.rfind("f.toml:3:", 0), 0u) << e;
    e = error_of("[memory\n");
    EXPECT_EQ(e.rfind("f.toml:1:", 0), 0u) << e;
    e = error_of("[memory]\nreserve = '1G\n");
    EXPECT_EQ(e.rfind("f.toml:2:", 0), 0u) << e;
}

TEST(Config, UnknownKeysAndTables) {
    EXPECT_EQ(error_of("[memory]\nreserve = \"1G\"\nreserv = \"1G\"\n"),
              "f.toml:3:1: unknown key \"reserv\" in [memory] (did you mean \"reserve\"?); "
              "the keys of [memory] are: budget, reserve");
    std::string e = error_of("[policy]\nlow_mark = \"1G\"\n");
    EXPECT_TRUE(contains(e, "did you mean \"low-mark\"")) << e;
    e = error_of("[policy]\nfrobnicate = 1\n");
    EXPECT_TRUE(contains(e, "unknown key \"frobnicate\" in [policy]; the keys of [policy] are: action, max-running"))
        << e;
    e = error_of("\n[memroy]\n");
    EXPECT_EQ(e.rfind("f.toml:2:", 0), 0u) << e;
    EXPECT_TRUE(contains(e, "unknown table [memroy] (did you mean [memory]?)")) << e;
    EXPECT_TRUE(contains(error_of("[policy]\nreserve = \"1G\"\n"), "\"reserve\" belongs in [memory], not [policy]"));
    EXPECT_TRUE(contains(error_of("reserve = \"1G\"\n"), "put it below a [memory] line"));
    EXPECT_TRUE(contains(error_of("[memory.extra]\n"), "unknown key \"extra\" in [memory]"));
    EXPECT_TRUE(contains(error_of("memory = 5\n"), "memory is an integer, not a table"));
    // Dotted keys are the same as tables.
    ControllerOptions o;
    EXPECT_EQ(apply_text("memory.reserve = \"1G\"\n", o), "");
    EXPECT_EQ(o.memory.reserve, 1ull << 30);
}

TEST(Config, TheFirstErrorInTheFileIsReported) {
    std::string e = error_of("[sensing]\nrss-step = \"1X\"\nattach = \"bogus\"\n[memory]\nbogus = 1\n");
    EXPECT_EQ(e.rfind("f.toml:2:", 0), 0u) << e;
}

TEST(Config, ValuesOutOfRange) {
    struct Case {
        const char* text;
        const char* line_col;
        const char* says;
    } cases[] = {
        {"[memory]\nreserve = \"4XB\"", "f.toml:2:11:", "invalid size \"4XB\": unknown unit"},
        {"[memory]\nreserve = \"-1G\"", "f.toml:2:11:", "it is negative"},
        {"[memory]\nreserve = -1", "f.toml:2:11:", "it is negative"},
        {"[memory]\nreserve = 0", "f.toml:2:11:", "must be more than 0"},
        {"[memory]\nbudget = \"0\"", "f.toml:2:10:", "must be more than 0"},
        {"[sensing]\nrss-step = \"\"", "f.toml:2:12:", "no number"},
        {"[sensing]\nringbuf-size = \"99999999T\"", "f.toml:2:16:", "too large"},
        {"[policy]\nhorizon = 0", "f.toml:2:11:", "policy.horizon = 0 is out of range; give 0.1 to 60 seconds"},
        {"[policy]\nhorizon = -4.0", "f.toml:2:11:", "out of range"},
        {"[policy]\nhorizon = 61", "f.toml:2:11:", "out of range"},
        {"[policy]\nhorizon = nan", "f.toml:2:11:", "out of range"},
        {"[policy]\nhorizon = inf", "f.toml:2:11:", "out of range"},
        {"[policy]\nmax-running = 4097", "f.toml:2:15:", "give 0 (none) or 1 to 4096 jobs"},
        {"[policy]\nmax-running = -1", "f.toml:2:15:", "out of range"},
        {"[policy]\naction = \"stop\"", "f.toml:2:10:", "policy.action = \"stop\" is unknown; give one of dry-run"},
        {"[policy]\naction = \"freez\"", "f.toml:2:10:", "did you mean \"freeze\"?"},
        {"[policy]\nlow-mark = \"1G\"\nhigh-mark = \"1G\"", "f.toml:3:13:", "is not above policy.low-mark"},
        {"[sensing]\nfault-interval = 9", "f.toml:2:18:", "give 10 to 60000 ms"},
        {"[sensing]\nfault-interval = 60001", "f.toml:2:18:", "out of range"},
        {"[sensing]\nmax-tasks = 63", "f.toml:2:13:", "give 64 to 4194304"},
        {"[sensing]\nmax-tasks = 9223372036854775807", "f.toml:2:13:", "out of range"},
        {"[sensing]\nattach = \"kprobe\"", "f.toml:2:10:", "give one of auto, raw_tp, tp_btf, tracepoint"},
        {"[sensing]\nbtf = \"vmlinux.btf\"", "f.toml:2:7:", "relative path; give an absolute one"},
        {"[output]\ntrace = \"yes\"", "f.toml:2:9:", "give one of off, text, json"},
        {"[policy]\npage-out = \"yes\"", "f.toml:2:12:", "policy.page-out = \"yes\" is unknown; give one of auto, on, off"},
        {"[policy]\npage-out = true", "f.toml:2:12:", "is a boolean; it must be one of \"auto\""},
        {"[policy]\npage-out-delay = -1", "f.toml:2:18:", "give 0 to 3600 seconds"},
        {"[policy]\npage-out-delay = \"1s\"", "f.toml:2:18:", "it must be a number"},
        {"[output]\ntrace-output = \"log\"", "f.toml:2:16:", "relative path"},
        {"[control]\nsocket = \"ctl.sock\"", "f.toml:2:10:", "control.socket = \"ctl.sock\" is a relative path"},
        {"[history]\ndb = \"history.db\"", "f.toml:2:6:", "history.db = \"history.db\" is a relative path"},
        {"[tree]\ndrivers = [\"make\", \"\"]", "f.toml:2:11:", "a driver name is empty"},
        {"[tree]\ndrivers = [\"x86_64-linux-gnu-make\"]", "f.toml:2:11:", "longer than 15 characters"},
        {"[service]\nroots = [\"make\", \"x86_64-linux-gnu-gcc\"]", "f.toml:2:9:", "longer than 15 characters"},
        {"[service]\nusers = \"portage\"", "f.toml:2:9:", "a list of strings"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.text);
        std::string e = error_of(c.text);
        EXPECT_EQ(e.rfind(c.line_col, 0), 0u) << e;
        EXPECT_TRUE(contains(e, c.says)) << e;
    }
    // The limits themselves are fine, and so is "auto".
    ControllerOptions o;
    EXPECT_EQ(apply_text("[policy]\nmax-running = 4096\nhorizon = 0.1\nlow-mark = \"auto\"\n"
                    "[sensing]\nfault-interval = 10\nmax-tasks = 4194304\n",
                    o),
              "");
    EXPECT_EQ(o.caps.max_running, 4096);
    EXPECT_EQ(o.policy.horizon_s, 0.1);
}

TEST(Config, WrongTypes) {
    struct Case {
        const char* text;
        const char* says;
    } cases[] = {
        {"[memory]\nreserve = true", "memory.reserve is a boolean; it must be a size such as \"512M\" or a byte count"},
        {"[memory]\nbudget = 1.5", "memory.budget is a decimal number; it must be a size"},
        {"[policy]\nhorizon = \"4\"", "policy.horizon is a string; it must be a number"},
        {"[policy]\nhorizon = true", "policy.horizon is a boolean; it must be a number"},
        {"[policy]\nmax-running = 2.0", "policy.max-running is a decimal number; it must be a whole number"},
        {"[policy]\naction = 1", "policy.action is an integer; it must be one of \"dry-run\", \"freeze\", \"signal\""},
        {"[tree]\ndrivers = \"make,ninja\"", "tree.drivers is a string; it must be a list of strings"},
        {"[tree]\ndrivers = [\"make\", 3]", "f.toml:2:20: tree.drivers holds an integer; every item must be a string"},
        {"[sensing]\nmax-tasks = \"4096\"", "sensing.max-tasks is a string; it must be a whole number"},
        {"[sensing]\nbtf = false", "sensing.btf is a boolean; it must be a string in quotes"},
        {"[output]\nquiet = \"yes\"", "output.quiet is a string; it must be true or false"},
        {"[control]\nstatus-file = 1", "control.status-file is an integer; it must be a string in quotes"},
        {"[control]\n\nmetrics-file = false", "f.toml:3:16: control.metrics-file is a boolean; it must be a string in quotes"},
        {"[output]\ntrace = true", "output.trace is a boolean; it must be one of \"off\", \"text\", \"json\""},
        {"[memory]\nreserve = 1979-05-27", "memory.reserve is a date"},
        {"[[memory]]\n", "memory is an array, not a table"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.text);
        std::string e = error_of(c.text);
        EXPECT_TRUE(contains(e, c.says)) << e;
    }
}

TEST(Config, AnErrorLeavesTheOptionsAlone) {
    ControllerOptions o;
    EXPECT_FALSE(apply_text("[memory]\nreserve = \"1G\"\n[policy]\nhorizon = 0\n", o).empty());
    expect_same(o, ControllerOptions{});
}

TEST(Config, BtfMustExist) {
    ControllerOptions o;
    auto exists = [](const std::string& p) { return p == "/boot/there.btf"; };
    EXPECT_EQ(apply_text("[sensing]\nbtf = \"/boot/there.btf\"\n", o, exists), "");
    EXPECT_EQ(o.sensing.btf_file, "/boot/there.btf");
    std::string e = apply_text("[sensing]\nbtf = \"/boot/gone.btf\"\n", o, exists);
    EXPECT_TRUE(contains(e, "f.toml:2:7: sensing.btf = \"/boot/gone.btf\": no such file")) << e;
    EXPECT_EQ(apply_text("[sensing]\nbtf = \"\"\n", o, exists), "");
    EXPECT_EQ(o.sensing.btf_file, "");
}

// db = "" turns history off, as --no-history; a flag given on the command line wins over the file.
TEST(Config, HistoryDbEmptyMeansNoHistory) {
    ControllerOptions o;
    EXPECT_EQ(apply_text("[history]\ndb = \"\"\n", o), "");
    EXPECT_TRUE(o.no_history);
    EXPECT_EQ(o.history_db, kDefaultHistoryDb);
    ControllerOptions back;
    EXPECT_EQ(apply_text(format_config(o), back), "");
    EXPECT_TRUE(back.no_history);

    TempFile off("[history]\ndb = \"\"\n");
    auto flag = run({"--config", off.path, "--history-db", "/srv/h.db", "--root-pid", "1"});
    ASSERT_FALSE(flag.cli.exit_now) << flag.err;
    EXPECT_FALSE(flag.cli.control.no_history);
    EXPECT_EQ(flag.cli.control.history_db, "/srv/h.db");
}

TEST(Config, Files) {
    ControllerOptions o;
    TempFile f("[memory]\nreserve = \"1G\"\n");
    apply_config_file(f.path, o);
    EXPECT_EQ(o.memory.reserve, 1ull << 30);
    for (const char* bad : {"/nonexistent/swamp.conf", "/tmp"}) {
        SCOPED_TRACE(bad);
        try {
            apply_config_file(bad, o);
            ADD_FAILURE() << "no error";
        } catch (const UserError& e) {
            EXPECT_EQ(e.code(), ExitCode::Config);
            EXPECT_EQ(std::string(e.what()).rfind(std::string(bad) + ": cannot ", 0), 0u) << e.what();
        }
    }
}

TEST(ConfigCli, FileThenFlags) {
    CustomFile f;
    // Before or after the flags: the flags given win, the rest comes from the file.
    for (bool config_first : {true, false}) {
        SCOPED_TRACE(config_first);
        std::vector<std::string> flags{"--reserve", "1G", "--trace", "--attach", "auto", "--drivers", "ninja", "-1"};
        std::vector<std::string> args{"--config", f.file.path};
        args.insert(config_first ? args.end() : args.begin(), flags.begin(), flags.end());
        args.insert(args.end(), {"--", "make"});
        auto r = run(args);
        ASSERT_FALSE(r.cli.exit_now) << r.err;
        const auto& c = r.cli.control;
        EXPECT_EQ(c.memory.reserve, 1ull << 30);
        EXPECT_TRUE(c.trace);
        EXPECT_FALSE(c.trace_json);  // --trace replaces the file's trace = "json"
        EXPECT_FALSE(c.sensing.attach);
        EXPECT_EQ(c.tree.drivers, std::vector<std::string>{"ninja"});
        EXPECT_EQ(c.caps.max_running, 1);
        // From the file: flags not given do not reset them to CLI defaults.
        EXPECT_EQ(c.memory.budget, 6ull << 30);
        EXPECT_EQ(c.action, ActionKind::Freeze);
        EXPECT_EQ(c.policy.horizon_s, 2.5);
        EXPECT_EQ(c.sensing.rss_step, 8ull << 20);
        EXPECT_EQ(c.sensing.fault_interval_ms, 500u);
        EXPECT_TRUE(c.quiet);
        EXPECT_EQ(c.trace_output, "/var/log/swamp.trace");
        EXPECT_EQ(c.command, (std::vector<std::string>{"make"}));
    }
    // Without flags the file's values stand as they are.
    auto r = run({"--config", f.file.path, "--root-pid", "7"});
    ASSERT_FALSE(r.cli.exit_now) << r.err;
    expect_same(r.cli.control, f.options());
}

TEST(ConfigCli, MarksAreCheckedAfterMerging) {
    TempFile f("[policy]\nhigh-mark = \"512M\"\n");
    auto r = run({"--config", f.path, "--low-mark", "1G", "--root-pid", "1"});
    ASSERT_TRUE(r.cli.exit_now);
    EXPECT_EQ(*r.cli.exit_now, 2);
    EXPECT_TRUE(contains(r.err, "--high-mark")) << r.err;
}

TEST(ConfigCli, BadConfigExits7) {
    TempFile f("[memory]\nreserve = \"4XB\"\n");
    auto r = run_main({"--config", f.path, "--", "true"});
    EXPECT_EQ(r.code, 7);
    EXPECT_EQ(r.err, "swamp-bpf: " + f.path + ":2:11: memory.reserve: invalid size \"4XB\": unknown unit \"XB\" " +
                         "(use e.g. 512M, 1.5G or 4096)\n");
    auto missing = run_main({"--config", "/nonexistent/swamp.conf", "--", "true"});
    EXPECT_EQ(missing.code, 7);
    EXPECT_TRUE(contains(missing.err, "/nonexistent/swamp.conf: cannot open")) << missing.err;
}

TEST(ConfigCli, ConfigIsForTheController) {
    TempFile f;
    auto r = run({"--config", f.path, "probe"});
    ASSERT_TRUE(r.cli.exit_now);
    EXPECT_EQ(*r.cli.exit_now, 2);
    EXPECT_TRUE(contains(r.err, "check-config")) << r.err;
}

TEST(CheckConfig, OkExits0) {
    auto r = run_main({"check-config", kExample});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, kExample + ": ok\n");
    EXPECT_EQ(r.err, "");
}

TEST(CheckConfig, ShowPrintsTheEffectiveSettings) {
    TempFile f("[policy]\nhorizon = 2.5\n");
    auto r = run_main({"check-config", "--show", f.path});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "horizon = 2.5")) << r.out;
    EXPECT_TRUE(contains(r.out, "reserve = '128M'")) << r.out;
    ControllerOptions o;
    ASSERT_EQ(apply_text(r.out.substr(r.out.find('\n')), o), "");
    EXPECT_EQ(o.policy.horizon_s, 2.5);
}

TEST(CheckConfig, BadFileExits7WithThePosition) {
    TempFile f("[memory]\nreserve = \"1G\"\n\n[policy]\nhorizon = 0\n");
    auto r = run_main({"check-config", f.path});
    EXPECT_EQ(r.code, 7);
    EXPECT_EQ(r.out, "");
    EXPECT_TRUE(contains(r.err, f.path + ":5:11: policy.horizon = 0 is out of range")) << r.err;

    auto missing = run_main({"check-config", "/nonexistent/swamp.conf"});
    EXPECT_EQ(missing.code, 7);
    auto none = run_main({"check-config"});
    EXPECT_EQ(none.code, 2);
}

// Under systemd (the controller turns the "<N>" prefixes on) an error that ends swamp-bpf is
// at error priority in the journal; elsewhere it stays plain.
TEST(CheckConfig, AnErrorIsAtErrorPriorityUnderSystemd) {
    set_level_prefixes(true);
    auto r = run_main({"check-config", "/nonexistent/swamp.conf"});
    set_level_prefixes(false);
    EXPECT_EQ(r.code, 7);
    EXPECT_EQ(r.err.rfind("<3>swamp-bpf: /nonexistent/swamp.conf: cannot open", 0), 0u) << r.err;
    EXPECT_EQ(run_main({"check-config", "/nonexistent/swamp.conf"}).err.rfind("swamp-bpf: ", 0), 0u);
}

TEST(CheckConfig, Help) {
    auto top = run({"--help"});
    EXPECT_TRUE(contains(top.out, "check-config")) << top.out;
    EXPECT_TRUE(contains(top.out, "--config FILE")) << top.out;
    EXPECT_TRUE(contains(top.out, "7 bad config file")) << top.out;
    auto sub = run({"check-config", "--help"});
    ASSERT_TRUE(sub.cli.exit_now);
    EXPECT_EQ(*sub.cli.exit_now, 0);
    EXPECT_TRUE(contains(sub.out, "--show")) << sub.out;
    EXPECT_TRUE(contains(sub.out, "exit 7")) << sub.out;
}

// ---- the settings' table (config/setting_table.hpp): one row makes the flag, the key and --show ----

namespace {

// The command line that takes the flag of `s`: the controller, or `service` for its own.
std::vector<std::string> command_of(const Setting& s) {
    return s.flag_of == FlagOf::Service ? std::vector<std::string>{"service"}
                                        : std::vector<std::string>{"--root-pid", "1"};
}

// The options that `flag_args` give on the command line of `s`; the error, "" if none.
ControllerOptions with_flag(const Setting& s, const std::vector<std::string>& flag_args, std::string& error) {
    auto args = command_of(s);
    args.insert(args.end(), flag_args.begin(), flag_args.end());
    auto r = run(args);
    error = r.cli.exit_now ? r.err + "(exit " + std::to_string(*r.cli.exit_now) + ")" : "";
    return r.cli.control;
}

// The entry of `flag` in `help`: from the flag to the next one.
std::string help_entry(const std::string& help, const std::string& flag) {
    size_t at = help.find("\n  " + flag + " ");
    if (at == std::string::npos) at = help.find("," + flag + " ");
    if (at == std::string::npos) return "";
    return help.substr(at, help.find("\n  -", at + 1) - at);
}

}  // namespace

TEST(Settings, EveryRowHasTheFlagAndTheKeyItClaims) {
    std::string help = run({"--help"}).out, service_help = run({"service", "--help"}).out;
    std::string shown = format_config(ControllerOptions{});
    std::vector<std::string> flags;
    for (const Setting& s : settings()) {
        SCOPED_TRACE(s.flag + " " + s.table + "." + s.key);
        EXPECT_TRUE(s.has_flag() || s.has_key());
        EXPECT_TRUE(s.set && s.get);
        if (s.has_flag()) {
            EXPECT_EQ(std::count(flags.begin(), flags.end(), s.flag), 0);
            flags.push_back(s.flag);
            EXPECT_FALSE(help_entry(service_help, s.long_flag()).empty());
            EXPECT_EQ(help_entry(help, s.long_flag()).empty(), s.flag_of == FlagOf::Service);
        } else {  // a key set by flags of its own, such as output.trace
            std::stringstream others(s.other_flags);
            int n = 0;
            for (std::string flag; std::getline(others >> std::ws, flag, ','); n++)
                EXPECT_FALSE(help_entry(help, flag).empty()) << flag;
            EXPECT_GT(n, 0);
        }
        if (s.has_key()) {
            size_t table = shown.find("[" + s.table + "]\n");
            ASSERT_NE(table, std::string::npos);
            size_t key = shown.find("\n" + s.key + " = ", table);
            EXPECT_LT(key, shown.find("\n[", table + 1));
        }
    }
}

// --help writes each default from ControllerOptions{}; given as the flag, it changes nothing.
TEST(Settings, EveryDefaultInHelpIsTheOptionsOwn) {
    std::string help = run({"service", "--help"}).out;  // every flag of the table
    const ControllerOptions defaults;
    for (const Setting& s : settings()) {
        if (!s.has_flag() || s.kind == SettingKind::Flag) continue;
        SCOPED_TRACE(s.flag);
        std::string value = value_text(s.get(defaults));
        std::string entry = help_entry(help, s.long_flag());
        if (!s.default_note.empty()) {
            EXPECT_TRUE(contains(entry, "(default " + s.default_note + ")")) << entry;
            continue;
        }
        if (value.empty()) {
            EXPECT_FALSE(contains(entry, "(default")) << entry;
            continue;
        }
        EXPECT_TRUE(contains(entry, "(default " + value + ")")) << entry;
        std::string error;
        auto given = with_flag(s, {s.long_flag(), value}, error);
        ASSERT_EQ(error, "");
        auto not_given = with_flag(s, {}, error);
        expect_same(given, not_given);
        EXPECT_EQ(given.policy.cpus, not_given.policy.cpus);
    }
}

// A number at, inside and beyond the bounds: the flag and the key take the same, and say the same.
TEST(Settings, BoundsAreTheSameForTheFlagAndTheKey) {
    int checked = 0;
    for (const Setting& s : settings()) {
        if (!s.has_flag() || !s.has_key()) continue;
        std::vector<std::string> values;
        if (s.kind == SettingKind::Integer || s.kind == SettingKind::Number) {
            double step = s.kind == SettingKind::Integer ? 1 : 0.01;
            for (double v : {s.bounds.lo, s.bounds.hi, s.bounds.lo - step, s.bounds.hi + step, 0.0, -1.0})
                values.push_back(s.kind == SettingKind::Integer ? std::to_string(int64_t(v))
                                                                : value_text(SettingValue(v)));
            if (!s.word.empty()) values.push_back(s.word);
        } else if (s.kind == SettingKind::Choice) {
            values = s.choices;
            values.push_back("bogus");
        } else {
            continue;
        }
        for (const std::string& v : values) {
            SCOPED_TRACE(s.flag + " " + v);
            checked++;
            std::string flag_error;
            ControllerOptions by_flag = with_flag(s, {s.long_flag() + "=" + v}, flag_error);  // "-1" is --max-running=1
            bool word = s.kind == SettingKind::Choice || v == s.word;
            std::string toml = "[" + s.table + "]\n" + s.key + " = " + (word ? "\"" + v + "\"" : v) + "\n";
            ControllerOptions by_key;
            std::string key_error = apply_text(toml, by_key);
            EXPECT_EQ(flag_error.empty(), key_error.empty()) << flag_error << " / " << key_error;
            if (flag_error.empty() && key_error.empty()) {
                EXPECT_EQ(value_text(s.get(by_flag)), value_text(s.get(by_key)));
            } else if (s.kind != SettingKind::Choice) {
                std::string give = out_of_bounds(s, std::stod(v));
                EXPECT_FALSE(give.empty());
                EXPECT_TRUE(contains(flag_error, give)) << flag_error;
                EXPECT_TRUE(contains(key_error, give)) << key_error;
            }
        }
    }
    EXPECT_GT(checked, 30);
}

// Every value of kCustom, given as its flag, sets what the key sets.
TEST(Settings, TheFlagSetsWhatTheKeySets) {
    CustomFile f;
    const ControllerOptions by_keys = f.options();
    for (const Setting& s : settings()) {
        if (!s.has_flag() || !s.has_key()) continue;
        SCOPED_TRACE(s.flag);
        SettingValue value = s.get(by_keys);
        std::vector<std::string> args{s.long_flag()};
        if (s.kind != SettingKind::Flag) args.push_back(value_text(value));
        else if (!std::get<bool>(value)) continue;
        std::string error;
        ControllerOptions by_flag = with_flag(s, args, error);
        ASSERT_EQ(error, "");
        EXPECT_EQ(value_text(s.get(by_flag)), value_text(value));
    }
}

TEST(CheckConfig, ShowReadsBackToTheSameOptions) {
    CustomFile f;
    TempFile empty;
    for (const auto& [file, expected] : {std::pair(f.file.path, f.options()), std::pair(empty.path, ControllerOptions{})}) {
        SCOPED_TRACE(file);
        auto r = run_main({"check-config", "--show", file});
        ASSERT_EQ(r.code, 0) << r.err;
        ControllerOptions back = custom();  // every key differs from its default here
        ASSERT_EQ(apply_text(r.out.substr(r.out.find('\n')), back), "");
        expect_same(back, expected);
        EXPECT_EQ(format_config(back), format_config(expected));
    }
}
