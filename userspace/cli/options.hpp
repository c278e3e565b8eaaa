// The command line: every flag, parsed into plain option structs.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "source/probe.hpp"

namespace swamp {

// How the kernel side senses the tree; shared by every command that loads BPF.
struct SensingOptions {
    uint64_t rss_step = 16ull << 20;
    uint32_t fault_interval_ms = 250;
    uint64_t ringbuf_size = 4ull << 20;
    uint32_t max_tasks = 16384;
    std::string btf_file;
    std::optional<AttachKind> attach;  // nullopt: probe
    bool verbose = false;
};

struct TraceOptions {
    SensingOptions sensing;
    std::optional<pid_t> root_pid;
    std::vector<std::string> command;  // launch mode
    bool json = false;
    bool threads = false;
    std::string record_file;
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
};

enum class Command { None, Trace, Probe, Replay };

struct ParsedCli {
    Command command = Command::None;
    TraceOptions trace;
    ProbeOptions probe;
    ReplayOptions replay;
    std::optional<int> exit_now;  // help, version or a usage error: exit with this
};

// Parses argv; help and errors are written to `out`/`err`.
ParsedCli parse_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace swamp
