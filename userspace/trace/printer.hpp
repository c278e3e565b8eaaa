// Turns events into the live dump (text or JSON lines) and, optionally, a
// recording that `swamp-bpf replay` reads back.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <unordered_map>

#include "trace/page_out_report.hpp"
#include "source/event.hpp"

namespace swamp {

// A stop, hold or resume of a job, as the trace shows it.
struct Decision {
    uint64_t ts_ns = 0;
    std::string action;  // "stop", "hold", "resume"
    uint64_t job = 0;
    uint32_t pid = 0;  // the job's root process
    std::string name;  // what the job runs
    uint64_t rss = 0;
    int64_t headroom = 0;
    std::string reason;
    uint64_t trigger_ts_ns = 0;    // kernel time of the newest event before the decision; 0: a timer or PSI woke us
    uint64_t delivered_ts_ns = 0;  // when the actuator had carried it out
    std::string target;            // what the job makes (job_target()), "" if unknown
    std::string package;           // its emerge package, "" if none
    std::string rule;              // the policy rule that made it (rule_name()), "" if unknown
};

struct PrinterOptions {
    bool json = false;
    bool show_threads = false;  // also print thread creations
};

class TracePrinter {
public:
    TracePrinter(const PrinterOptions& opts, std::ostream& out, std::ostream* record, uint64_t start_ns);

    // Name a pid whose events carry no comm (processes found by the /proc walk).
    void name(uint32_t pid, const std::string& comm);
    // Raw ring buffer bytes; returns false (and counts it) if they do not decode.
    bool on_raw(std::span<const std::byte> raw);
    void on_event(const Event& e, std::span<const std::byte> raw = {});
    // The kernel side lost events; shown once per increase.
    void on_drops(uint64_t total_dropped);
    // A controller decision, interleaved with the kernel events.
    void on_decision(const Decision& d);
    // The emerge package a driver builds (read from its environment): its jobs are of it.
    void on_package(uint64_t ts_ns, uint32_t pid, const std::string& package);
    // A finished page-out of a stopped job (`comm`: what the job runs), at its end time.
    void on_page_out(const PageOutReport& r, const std::string& comm);
    // Memory readings: to the recording (policy fixtures replay them) and to the
    // JSON dump (`report` draws the memory budget from them), never as text.
    void on_memory(uint64_t ts_ns, int64_t headroom, uint64_t scale, double psi_full);

    uint64_t printed() const { return printed_; }
    uint64_t decode_errors() const { return decode_errors_; }

private:
    const std::string& comm_of(uint32_t pid);

    PrinterOptions opts_;
    std::ostream& out_;
    std::ostream* record_;
    uint64_t start_ns_;
    std::unordered_map<uint32_t, std::string> comms_;
    uint64_t printed_ = 0;
    uint64_t decode_errors_ = 0;
    uint64_t drops_shown_ = 0;
};

// The first line of a recording: the origin of "t" and what was traced.
std::string record_start_line(uint64_t start_ns, int64_t root_pid);

}  // namespace swamp
