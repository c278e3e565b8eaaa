// Which kernel features exist, and which attach variant swamp-bpf will use.
// probe_kernel() does the I/O; plan_attach() is a pure decision on its result.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "events.h"
#include "sys/host_features.hpp"

namespace swamp {

// tp_btf and raw_tp: bpf/swamp_bpf.bpf.c (CO-RE, needs BTF); tracepoint:
// bpf/swamp_nobtf.bpf.c (classic tracepoints, no BTF at all).
enum class AttachKind { TpBtf, RawTp, Tracepoint };
const char* attach_kind_name(AttachKind k);

struct KernelFeatures {
    std::string release;  // uname -r
    std::string machine;  // uname -m
    bool kernel_btf = false;                      // /sys/kernel/btf/vmlinux readable
    std::string btf_source;                       // where the BTF used for CO-RE comes from ("" = none)
    std::string btf_error;                        // why --btf FILE could not be used
    bool ringbuf = false;                         // BPF ring buffer maps (5.8+)
    bool ringbuf_probe_failed = false;            // the probe itself failed (e.g. no permission)
    // tracepoints, as found in the BTF; nullopt when there is no BTF to ask
    std::optional<bool> tp_fork, tp_exec, tp_exit, tp_rss_stat, tp_page_fault_user;
    std::optional<bool> rss_stat_has_count;       // (mm, member, count): before 6.2
    HostFeatures host;                            // the cgroup mounts and PSI, for the code that uses them
    // the classic tracepoints' formats (tracefs), by "system/name"; absent when unreadable
    std::string tracefs;                          // its directory, "" if none
    std::string tracefs_error;
    std::map<std::string, std::string> tp_formats;
};

// The tracepoints the no-BTF variant attaches to, as "system/name".
const std::vector<std::string>& tracepoint_names();
// Where that variant finds its fields in `formats` (tp_formats); nullopt, with
// the reason in `error`, when a tracepoint or a field it needs is missing.
std::optional<swamp_tp_layout> tracepoint_layout(const std::map<std::string, std::string>& formats,
                                                 std::string& error);

struct AttachRequest {
    std::optional<AttachKind> force;  // --attach tp_btf|raw_tp
    std::string btf_file;             // --btf FILE
};

struct AttachPlan {
    AttachKind kind = AttachKind::TpBtf;
    bool rss_old_signature = false;
    std::string custom_btf;  // passed to libbpf as btf_custom_path
    swamp_tp_layout tp_layout{};  // AttachKind::Tracepoint: the record fields it reads
    // what this variant cannot see, one line each (probe prints them)
    std::vector<std::string> losses;
    std::vector<std::string> notes;
    // when nothing can work: why, and the exit code class
    std::string error;
    bool error_is_btf_file = false;
};

// How a plan's programs watch RSS, for probe and the start-up line.
std::string rss_watch_summary(const AttachPlan& p);

// Mounts tracefs on /sys/kernel/tracing if it is not mounted (find_tracefs).
// `root` is where the host's features are looked up (tests: a fake tree).
KernelFeatures probe_kernel(const std::string& btf_file, const FsRoot& root = {});
AttachPlan plan_attach(const KernelFeatures& f, const AttachRequest& req);

// "6.1.0-41-arm64" -> {6, 1}; {0, 0} if unparsable
std::pair<int, int> kernel_version(const std::string& release);

}  // namespace swamp
