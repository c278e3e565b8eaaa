// `swamp-bpf probe`: what this kernel offers and what swamp-bpf will use.
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "sys/pid_namespace.hpp"
#include "trace/json.hpp"
#include "util/error.hpp"

namespace swamp {

namespace {

const char* yes_no(std::optional<bool> v) { return !v ? "unknown (no BTF to ask)" : *v ? "yes" : "no"; }

nlohmann::json tri(std::optional<bool> v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

}  // namespace

int run_probe(const ProbeOptions& o) {
    KernelFeatures f = probe_kernel(o.btf_file);
    AttachPlan p = plan_attach(f, {o.attach, o.btf_file});
    std::string fault_source = "per-task fault counters, sampled in the rss_stat hook (all architectures)";
    PidNamespaceFacts ns = read_pid_namespace();
    std::string ns_problem = pid_namespace_problem(ns);
    // what stops it from running: the kernel first, then where it runs
    std::string error = !p.error.empty() ? p.error : ns_problem;

    if (o.json) {
        nlohmann::json j{{"kernel", f.release},
                         {"machine", f.machine},
                         {"kernel_btf", f.kernel_btf},
                         {"btf_source", f.btf_source},
                         {"ringbuf", f.ringbuf},
                         {"tracepoints",
                          {{"sched_process_fork", tri(f.tp_fork)},
                           {"sched_process_exec", tri(f.tp_exec)},
                           {"sched_process_exit", tri(f.tp_exit)},
                           {"rss_stat", tri(f.tp_rss_stat)},
                           {"page_fault_user", tri(f.tp_page_fault_user)}}},
                         {"rss_stat_signature", p.rss_old_signature ? "mm,member,count" : "mm,member"},
                         {"psi", f.psi},
                         {"cgroup2", f.cgroup2 ? nlohmann::json(f.cgroup2_mount) : nlohmann::json(nullptr)},
                         {"cgroup1_memory", f.cgroup1_memory},
                         {"fault_source", fault_source},
                         {"attach", p.error.empty() ? nlohmann::json(attach_kind_name(p.kind)) : nlohmann::json(nullptr)},
                         {"pid_namespace", {{"inode", ns.ns_inode}, {"host", ns_problem.empty()}}},
                         {"error", error.empty() ? nlohmann::json(nullptr) : nlohmann::json(error)}};
        std::cout << json_line(j, 2) << '\n';
    } else {
        auto row = [](const char* k, const std::string& v) { std::cout << "  " << k << std::string(22 - strlen(k), ' ') << v << '\n'; };
        std::cout << "kernel\n";
        row("release", f.release + " (" + f.machine + ")");
        row("in-kernel BTF", f.kernel_btf ? "yes (/sys/kernel/btf/vmlinux)" : "no");
        row("BTF for CO-RE", f.btf_source.empty() ? "none" : f.btf_source);
        row("BPF ring buffer", f.ringbuf ? "yes" : f.ringbuf_probe_failed ? "unknown (probe needs root)" : "no");
        std::cout << "tracepoints\n";
        row("sched_process_fork", yes_no(f.tp_fork));
        row("sched_process_exec", yes_no(f.tp_exec));
        row("sched_process_exit", yes_no(f.tp_exit));
        row("kmem:rss_stat", yes_no(f.tp_rss_stat));
        row("page_fault_user", std::string(yes_no(f.tp_page_fault_user)) + " (not needed)");
        std::cout << "memory and cgroups\n";
        row("PSI", f.psi ? "yes (/proc/pressure/memory)" : "no (boot with psi=1)");
        row("cgroup v2", f.cgroup2 ? "yes (" + f.cgroup2_mount + ")" : "no");
        row("cgroup v1 memory", f.cgroup1_memory ? "yes" : "no");
        std::cout << "this process\n";
        row("pid namespace", ns_problem.empty() ? "the host's (pid:[" + std::to_string(ns.ns_inode) + "])"
                                                : "NOTHING CAN WORK: " + ns_problem);
        std::cout << "swamp-bpf will use\n";
        if (!p.error.empty()) {
            row("attach", "NOTHING CAN WORK: " + p.error);
        } else {
            row("attach", std::string(attach_kind_name(p.kind)) +
                              (p.custom_btf.empty() ? "" : " with CO-RE from " + p.custom_btf));
            row("rss_stat signature", p.rss_old_signature ? "(mm, member, count), before 6.2" : "(mm, member), 6.2+");
            row("faults from", fault_source);
            for (const auto& n : p.notes) row("note", n);
        }
    }
    if (!p.error.empty()) return int(p.error_is_btf_file ? ExitCode::BadBtf : ExitCode::KernelFeature);
    return ns_problem.empty() ? 0 : int(ExitCode::KernelFeature);
}

}  // namespace swamp
