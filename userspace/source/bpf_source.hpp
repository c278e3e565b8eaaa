// The live event source: loads and attaches bpf/swamp_bpf.bpf.c (CO-RE) or
// bpf/swamp_nobtf.bpf.c (no BTF), per the AttachPlan, and hands out the
// ring buffer's raw events. The only code that includes the skeleton.
// Exec (which finds builds) stays attached; what watches RSS (a per-CPU
// cpu-clock perf event and sched_switch, or rss_stat) is attached only while
// the kernel's task map holds something, checked after each drain, track()
// and untrack().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "source/event_source.hpp"
#include "source/probe.hpp"

namespace swamp {

struct BpfOptions {
    uint64_t rss_step = 16ull << 20;
    uint64_t fault_interval_ns = 250'000'000;
    uint64_t ringbuf_bytes = 1ull << 20;
    uint32_t max_tasks = 16384;
    // exec and exit wake us at most once per gap while we keep draining (see consume())
    uint64_t wake_gap_ns = 5'000'000;
    // CO-RE variant: RSS is sampled every this much CPU time on each CPU (and at each switch)
    uint64_t sample_period_ns = 1'000'000;
    bool verbose = false;  // show libbpf's own log
    // --user and service mode: adopt every exec by these uids, and every exec of these
    // names (comm), by a process not yet followed (at most SWAMP_MAX_WATCHED each)
    std::vector<uint32_t> watch_uids;
    std::vector<std::string> root_comms;
};

struct BpfStats {
    uint64_t dropped = 0;   // events lost to a full ring buffer
    uint64_t map_full = 0;  // processes we could not track
    uint64_t events = 0;    // events sent by the kernel side
};

class BpfSource : public EventSource {
public:
    // Loads and attaches per `plan`; throws UserError with a clear message.
    BpfSource(const BpfOptions& opts, const AttachPlan& plan);
    ~BpfSource();
    BpfSource(const BpfSource&) = delete;
    BpfSource& operator=(const BpfSource&) = delete;

    // Start following `pid` (and, from now on, everything it forks).
    // False if the task map is full.
    bool track(uint32_t pid, uint32_t ppid);
    // Stop following `pid` (its children forked from now on are not followed either).
    void untrack(uint32_t pid);
    // True if `pid` is in the kernel's task map.
    bool tracked(uint32_t pid) const;

    // An fd that turns readable when events wait (for epoll).
    int fd() const;
    // Hands every waiting event to `sink`; returns how many, or -errno.
    // After a drain that found events, exec and exit send no wakeups for
    // wake_gap_ns: the caller must come back by then, i.e. wait on fd() no
    // longer than poll_timeout_ms().
    using Sink = std::function<void(std::span<const std::byte>)>;
    int consume(const Sink& sink);
    // EventSource: consume(), decoded (bytes that do not decode are left out).
    int drain(const EventSink& sink) override;
    // The epoll timeout that keeps that promise: -1 (none) when idle.
    int poll_timeout_ms() const;

    // Summed per-CPU counters: a bpf() call per counter; for summaries.
    BpfStats stats() const;
    // Events lost so far (= stats().dropped), read from shared memory: no
    // syscall, so it can be checked after every drain.
    uint64_t dropped() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace swamp
