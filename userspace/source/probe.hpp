// Which kernel features exist, and which attach variant swamp-bpf will use.
// probe_kernel() does the I/O; plan_attach() is a pure decision on its result.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace swamp {

enum class AttachKind { TpBtf, RawTp };
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
    bool psi = false;                             // /proc/pressure/memory
    bool cgroup2 = false;                         // a cgroup2 mount exists
    std::string cgroup2_mount;
    bool cgroup1_memory = false;                  // a cgroup v1 memory controller is mounted
};

struct AttachRequest {
    std::optional<AttachKind> force;  // --attach tp_btf|raw_tp
    std::string btf_file;             // --btf FILE
};

struct AttachPlan {
    AttachKind kind = AttachKind::TpBtf;
    bool rss_old_signature = false;
    std::string custom_btf;  // passed to libbpf as btf_custom_path
    std::vector<std::string> notes;
    // when nothing can work: why, and the exit code class
    std::string error;
    bool error_is_btf_file = false;
};

KernelFeatures probe_kernel(const std::string& btf_file);
AttachPlan plan_attach(const KernelFeatures& f, const AttachRequest& req);

// "6.1.0-41-arm64" -> {6, 1}; {0, 0} if unparsable
std::pair<int, int> kernel_version(const std::string& release);

}  // namespace swamp
