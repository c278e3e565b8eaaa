// `swamp-bpf probe`: what this kernel offers and what swamp-bpf will use.
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "sys/pid_namespace.hpp"
#include "util/json_line.hpp"
#include "util/error.hpp"

namespace swamp {

namespace {

const char* yes_no(std::optional<bool> v) { return !v ? "unknown (no BTF to ask)" : *v ? "yes" : "no"; }

// One line: the variant this kernel gets, and what it costs.
std::string summary_line(const KernelFeatures& f, const AttachPlan& p, const std::string& ns_problem) {
    if (!p.error.empty()) return "swamp-bpf cannot run on this kernel: " + p.error;
    if (!ns_problem.empty()) return "swamp-bpf cannot run here: " + ns_problem;
    std::string s = std::string("the ") + attach_kind_name(p.kind) + " variant";
    if (p.kind == AttachKind::Tracepoint)
        s += " (no BTF needed; it loses per-process fault counts and exit status: " + std::to_string(p.losses.size()) +
             " limits in all)";
    else if (!p.custom_btf.empty())
        s += " with CO-RE from " + p.custom_btf;
    else
        s += " with CO-RE from the kernel's BTF (nothing lost)";
    if (!f.host.psi) s += "; PSI is off (psi=1 turns it on)";
    return s;
}

nlohmann::json tri(std::optional<bool> v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }

}  // namespace

int run_probe(const ProbeOptions& o) {
    KernelFeatures f = probe_kernel(o.btf_file);
    AttachPlan p = plan_attach(f, {o.attach, o.btf_file});
    bool tracepoint = p.error.empty() && p.kind == AttachKind::Tracepoint;
    std::string fault_source = tracepoint ? "none (the tracepoint variant cannot read per-task fault counters)"
                                          : "per-task fault counters, read where RSS is (all architectures)";
    std::string psi_hint = "add psi=1 to the kernel command line (/boot/firmware/cmdline.txt on Raspberry Pi OS) and reboot";
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
                         {"psi", f.host.psi},
                         {"psi_hint", f.host.psi ? nlohmann::json(nullptr) : nlohmann::json(psi_hint)},
                         {"tracefs", f.tracefs},
                         {"cgroup2", f.host.cgroup2 ? nlohmann::json(*f.host.cgroup2) : nlohmann::json(nullptr)},
                         {"cgroup1_memory", f.host.cgroup1_memory.has_value()},
                         {"fault_source", fault_source},
                         {"rss_source", p.error.empty() ? nlohmann::json(rss_watch_summary(p)) : nlohmann::json(nullptr)},
                         {"attach", p.error.empty() ? nlohmann::json(attach_kind_name(p.kind)) : nlohmann::json(nullptr)},
                         {"losses", p.losses},
                         {"summary", summary_line(f, p, ns_problem)},
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
        row("PSI", f.host.psi ? "yes (/proc/pressure/memory)" : "no: " + psi_hint);
        row("cgroup v2", f.host.cgroup2 ? "yes (" + *f.host.cgroup2 + ")" : "no");
        row("cgroup v1 memory", f.host.cgroup1_memory ? "yes" : "no");
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
            row("RSS from", rss_watch_summary(p));
            if (tracepoint)
                row("record layouts", "from " + f.tracefs + "/events/*/format" +
                                          (p.tp_layout.exit_group_dead.size ? " (exit has group_dead, 6.16+)" : ""));
            for (const auto& n : p.notes) row("note", n);
            for (const auto& l : p.losses) row("lost", l);
        }
        std::cout << "summary: " << summary_line(f, p, ns_problem) << '\n';
    }
    if (!p.error.empty()) return int(p.error_is_btf_file ? ExitCode::BadBtf : ExitCode::KernelFeature);
    return ns_problem.empty() ? 0 : int(ExitCode::KernelFeature);
}

}  // namespace swamp
