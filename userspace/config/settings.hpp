// The settings of every command as plain structs, their bounds, defaults and
// names: what the command line (cli/options) and the config file (config/config) fill in.
// config/setting_table describes each of the controller's settings once for both.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "actuator/actuator.hpp"
#include "history/history.hpp"
#include "memory/memory.hpp"
#include "policy/policy.hpp"
#include "source/bpf_source.hpp"
#include "source/probe.hpp"
#include "tree/tree.hpp"

namespace swamp {

// Limits and names of values that both the command line and the config file take.
template <typename T>
struct Bounds {
    T lo, hi;
};
inline constexpr Bounds<int> kMaxRunningBounds{1, 4096};
inline constexpr Bounds<double> kHorizonBounds{0.1, 60.0};            // seconds
inline constexpr Bounds<double> kCpusBounds{0.0, 4096.0};              // CPUs; 0: no CPU rule
inline constexpr Bounds<uint32_t> kFaultIntervalBounds{10, 60000};    // milliseconds
inline constexpr Bounds<uint32_t> kMaxTasksBounds{64, 4194304};
inline constexpr Bounds<double> kPageOutDelayBounds{0.0, 3600.0};  // seconds
inline constexpr Bounds<double> kTopIntervalBounds{0.05, 60.0};     // seconds
// Where `swamp-bpf ctl` looks for a controller's control socket (docs/control.md, "Live control").
inline constexpr const char* kDefaultSocket = "/run/swamp-bpf/ctl.sock";
inline constexpr const char* kDefaultStatusFile = "/run/swamp-bpf/status";  // service mode's --status-file
const std::map<std::string, PageOutMode>& page_out_names();  // auto, on, off
std::vector<std::string> page_out_choices();
const std::map<std::string, ActionKind>& action_names();  // signal, freeze, dry-run
const std::map<std::string, AttachKind>& attach_names();  // tp_btf, raw_tp
std::vector<std::string> action_choices();                // what --action takes
std::vector<std::string> attach_choices();                // what --attach takes: "auto" (probe) and attach_names()
// "a,b,c" (as the flags that take lists print and read them), or with another separator.
std::string joined(const std::vector<std::string>& names, const std::string& separator = ",");
// Why `name` can never name a build driver, or "" if it can.
std::string driver_name_problem(std::string_view name);


// How the kernel side senses the tree; shared by every command that loads BPF.
// Its defaults are BpfOptions' own.
struct SensingOptions {
    uint64_t rss_step = BpfOptions{}.rss_step;
    uint32_t fault_interval_ms = uint32_t(BpfOptions{}.fault_interval_ns / 1'000'000);
    uint64_t ringbuf_size = BpfOptions{}.ringbuf_bytes;
    uint32_t max_tasks = BpfOptions{}.max_tasks;
    std::string btf_file;
    std::optional<AttachKind> attach;  // nullopt: probe
    bool verbose = false;
};

struct TraceOptions {
    SensingOptions sensing;
    std::optional<pid_t> root_pid;
    std::vector<std::string> command;  // launch mode
    std::string as_user;               // --as: who the command runs as ("": the invoking user)
    bool json = false;
    bool threads = false;
    std::string record_file;
    std::string output_file;  // "" = stdout
};

struct ProbeOptions {
    std::string btf_file;
    std::optional<AttachKind> attach;
    bool json = false;
};

struct ReplayOptions {
    std::string file;
    bool json = false;
    bool threads = false;
    // --policy: run the recording through today's policy, with the recorded
    // settings but those given here (-1 and 0: as recorded)
    bool policy = false;
    double horizon_s = -1;
    uint64_t low_mark = 0, high_mark = 0;
    int max_running = -1;
    double cpus = -1;
};

// `swamp-bpf [OPTIONS] --root-pid PID` and `swamp-bpf [OPTIONS] -- CMD…`
struct ControllerOptions {
    SensingOptions sensing;
    std::optional<pid_t> root_pid;
    std::vector<std::string> command;  // launch mode
    std::string as_user;               // --as: who the command runs as ("": the invoking user, else root)
    std::string user;                  // --user: every build tree of this user
    // `swamp-bpf service` (docs/service.md, "Service mode"): builds found on their own, by the
    // user that runs them (--users) or by the name of their driver (--roots); [service]
    bool service = false;
    std::vector<std::string> service_users;
    std::vector<std::string> service_roots = kDefaultRoots;
    ActionKind action = ActionKind::Signal;
    MemoryConfig memory{.budget = std::nullopt, .reserve = 128ull << 20};
    PolicyConfig policy{.cpus = -1};  // -1: the CPUs swamp-bpf may run on (the controller resolves it)
    Caps caps;
    TreeConfig tree;
    std::vector<std::string> protect = kDefaultProtect;  // --protect
    PageOutConfig page_out;                               // --page-out, --page-out-delay
    bool trace = false;       // --trace: decisions and events, as text
    bool trace_json = false;  // --trace-json
    std::string trace_output;  // "" = stderr
    std::string record_file;
    bool quiet = false;  // no summary
    // History (docs/history.md, "History"): --history-db PATH, --no-history; the config's [history] db.
    std::string history_db = kDefaultHistoryDb;
    bool no_history = false;
    // Live control (docs/control.md, "Live control"): --socket, --status-file, --metrics-file; the
    // config's [control] table. "": off.
    std::string socket_path;
    std::string status_file;
    std::string status_group;  // the status file's group ("": root's)
    std::string metrics_file;
    // --on-event CMD (docs/control.md, "Event hooks"); the config's [control] on-event. "": none.
    std::string on_event;
};

// `swamp-bpf ctl [--socket PATH] status [--json] | limit N | pause | resume | drain`
struct CtlOptions {
    std::string socket = kDefaultSocket;
    std::string request;  // the protocol line (control/ctl_protocol.hpp)
};

// `swamp-bpf top [--socket PATH] [--interval S]`
struct TopOptions {
    std::string socket = kDefaultSocket;
    double interval_s = 0.25;
};

// `swamp-bpf report TRACE -o FILE.svg [--top N] [--min-peak SIZE] [--cpus N]`
struct ReportOptions {
    std::string file;
    std::string output;  // "-" = stdout
    size_t top = 100;    // rows for the jobs with the highest peaks (0: all)
    uint64_t min_peak = 0;
    double cpus = 0;     // 0: unknown
};

// `swamp-bpf check-config FILE`
struct CheckConfigOptions {
    std::string file;
    bool show = false;  // also print the effective settings
};

// `swamp-bpf history list|export|forget`
struct HistoryOptions {
    enum class Action { List, Export, Forget } action = Action::List;
    std::string db = kDefaultHistoryDb;
    std::string pattern;  // forget: a substring of the keys
    bool all = false;     // forget --all
};

}  // namespace swamp
