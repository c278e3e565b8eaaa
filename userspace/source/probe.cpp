#include "source/probe.hpp"

#include "source/bpf_source.hpp"
#include "sys/tracefs.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#ifdef SWAMP_WITH_BPF
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#endif

namespace swamp {

const char* attach_kind_name(AttachKind k) {
    switch (k) {
        case AttachKind::TpBtf: return "tp_btf";
        case AttachKind::RawTp: return "raw_tp";
        case AttachKind::Tracepoint: return "tracepoint";
    }
    return "?";
}

const std::vector<std::string>& tracepoint_names() {
    static const std::vector<std::string> names{"task/task_newtask", "sched/sched_process_exec",
                                                "sched/sched_process_exit", "kmem/rss_stat"};
    return names;
}

std::optional<swamp_tp_layout> tracepoint_layout(const std::map<std::string, std::string>& formats,
                                                 std::string& error) {
    swamp_tp_layout l{};
    struct Want {
        const char* tp;
        const char* field;
        swamp_tp_field* out;
        bool required;
        bool data_loc;
    } wants[] = {
        {"task/task_newtask", "pid", &l.newtask_pid, true, false},
        {"task/task_newtask", "clone_flags", &l.newtask_clone_flags, true, false},
        {"sched/sched_process_exec", "filename", &l.exec_filename, true, true},
        {"sched/sched_process_exit", "group_dead", &l.exit_group_dead, false, false},  // 6.16+
        {"kmem/rss_stat", "mm_id", &l.rss_mm_id, true, false},
        {"kmem/rss_stat", "curr", &l.rss_curr, true, false},
        {"kmem/rss_stat", "member", &l.rss_member, true, false},
        {"kmem/rss_stat", "size", &l.rss_size, true, false},
    };
    for (const auto& w : wants) {
        auto text = formats.find(w.tp);
        if (text == formats.end()) {
            error = std::string("the tracepoint ") + w.tp + " is missing (no events/" + w.tp + "/format in tracefs)";
            return std::nullopt;
        }
        auto fields = parse_tp_format(text->second);
        auto f = fields ? fields->find(w.field) : decltype(fields->end()){};
        if (!fields || f == fields->end()) {
            if (!w.required) continue;
            error = std::string("the tracepoint ") + w.tp + " has no field " + w.field;
            return std::nullopt;
        }
        // the programs read at most 8 bytes a field, and a __data_loc string only where one is expected
        if (f->second.size == 0 || f->second.size > 8 || f->second.data_loc != w.data_loc) {
            error = std::string("the tracepoint ") + w.tp + "'s field " + w.field + " has an unexpected layout (size " +
                    std::to_string(f->second.size) + (f->second.data_loc ? ", __data_loc" : "") + ")";
            return std::nullopt;
        }
        *w.out = swamp_tp_field{f->second.offset, f->second.size};
    }
    return l;
}

std::string rss_watch_summary(const AttachPlan& p) {
    if (p.kind == AttachKind::Tracepoint)
        return "kmem:rss_stat at every update (no BTF: nothing else can read an mm), attached only while a build is "
               "tracked";
    const uint64_t period_us = BpfOptions{}.sample_period_ns / 1000;
    const std::string period =
        period_us % 1000 ? std::to_string(period_us) + " us" : std::to_string(period_us / 1000) + " ms";
    return "sampled every " + period +
           " of each CPU's time (a cpu-clock perf event) and as a task stops running "
           "(sched_switch), attached only while a build is tracked; rss_stat where perf events cannot be had";
}

std::pair<int, int> kernel_version(const std::string& release) {
    int major = 0, minor = 0;
    if (sscanf(release.c_str(), "%d.%d", &major, &minor) != 2) return {0, 0};
    return {major, minor};
}

namespace {

#ifdef SWAMP_WITH_BPF
std::optional<bool> has_typedef(const struct btf* btf, const std::string& name) {
    if (!btf) return std::nullopt;
    return btf__find_by_name_kind(btf, name.c_str(), BTF_KIND_TYPEDEF) >= 0;
}

// btf_trace_rss_stat is `void (*)(void *, struct mm_struct *, int[, long])`
std::optional<bool> rss_stat_has_count(const struct btf* btf) {
    if (!btf) return std::nullopt;
    int id = btf__find_by_name_kind(btf, "btf_trace_rss_stat", BTF_KIND_TYPEDEF);
    if (id < 0) return std::nullopt;
    const struct btf_type* t = btf__type_by_id(btf, id);
    while (t && (btf_is_typedef(t) || btf_is_ptr(t))) t = btf__type_by_id(btf, t->type);
    if (!t || !btf_is_func_proto(t)) return std::nullopt;
    return btf_vlen(t) >= 4;
}
#endif

}  // namespace

KernelFeatures probe_kernel(const std::string& btf_file, const FsRoot& root) {
    KernelFeatures f;
    struct utsname u {};
    if (uname(&u) == 0) {
        f.release = u.release;
        f.machine = u.machine;
    }
    f.kernel_btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
    f.host = find_host_features(root);
    Tracefs t = find_tracefs(true);
    f.tracefs = t.dir;
    f.tracefs_error = t.error;
    if (!t.dir.empty())
        for (const std::string& tp : tracepoint_names()) {
            auto slash = tp.find('/');
            if (auto text = read_tp_format(t.dir, tp.substr(0, slash), tp.substr(slash + 1))) f.tp_formats[tp] = *text;
        }

#ifdef SWAMP_WITH_BPF
    libbpf_print_fn_t old = libbpf_set_print(nullptr);
    int rb = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr);
    f.ringbuf = rb == 1;
    if (rb < 0) f.ringbuf_probe_failed = true;

    struct btf* btf = nullptr;
    if (!btf_file.empty()) {
        btf = btf__parse(btf_file.c_str(), nullptr);
        if (!btf) {
            f.btf_error = btf_file + " is not a BTF file (or an ELF with a .BTF section)";
        } else {
            f.btf_source = btf_file;
        }
    } else if (f.kernel_btf) {
        btf = btf__load_vmlinux_btf();
        if (btf) f.btf_source = "/sys/kernel/btf/vmlinux";
    }
    if (btf) {
        f.tp_fork = has_typedef(btf, "btf_trace_sched_process_fork");
        f.tp_exec = has_typedef(btf, "btf_trace_sched_process_exec");
        f.tp_exit = has_typedef(btf, "btf_trace_sched_process_exit");
        f.tp_rss_stat = has_typedef(btf, "btf_trace_rss_stat");
        f.tp_page_fault_user = has_typedef(btf, "btf_trace_page_fault_user");
        f.rss_stat_has_count = rss_stat_has_count(btf);
        // a reduced BTF (bpftool gen min_core_btf) holds no tracepoint typedefs
        if (f.tp_fork == false && f.tp_rss_stat == false) {
            f.tp_fork = f.tp_exec = f.tp_exit = f.tp_rss_stat = f.tp_page_fault_user = std::nullopt;
        }
        btf__free(btf);
    }
    // no BTF to ask: tracefs knows which tracepoints exist
    if (!btf && !f.tracefs.empty()) {
        auto has = [&](const char* sys, const char* name) {
            return access((f.tracefs + "/events/" + sys + "/" + name).c_str(), F_OK) == 0;
        };
        f.tp_fork = has("sched", "sched_process_fork");
        f.tp_exec = has("sched", "sched_process_exec");
        f.tp_exit = has("sched", "sched_process_exit");
        f.tp_rss_stat = has("kmem", "rss_stat");
        f.tp_page_fault_user = has("exceptions", "page_fault_user");
    }
    libbpf_set_print(old);
#else
    (void)btf_file;
#endif
    return f;
}

namespace {

// What the tracepoint variant cannot see, against the CO-RE one.
std::vector<std::string> tracepoint_losses(const KernelFeatures& f, const swamp_tp_layout& l) {
    std::vector<std::string> out{
        std::string("fault counts per process (no fault samples, 0 in exit events): a major-fault storm is seen "
                    "through PSI only") +
            (f.host.psi ? "" : ", and PSI is off (boot with psi=1)"),
        "exit status (shown as unknown; the launched command's own status is unaffected)",
        "command lines: read from /proc at each exec, so a process gone by then shows none",
        "RSS freed by another task (reclaim) counts only after the owner touched its memory itself "
        "(rss_stat's mm_id, not mm->owner)",
        "peak RSS is swamp-bpf's own (at rss_stat updates), not the kernel's high-water mark",
    };
    if (!l.exit_group_dead.size)
        out.push_back("a process ends with its main thread (sched_process_exit has no group_dead before 6.16)");
    return out;
}

}  // namespace

AttachPlan plan_attach(const KernelFeatures& f, const AttachRequest& req) {
    AttachPlan p;
    if (!req.btf_file.empty() && f.btf_source != req.btf_file) {
        p.error = f.btf_error.empty() ? "cannot read BTF from " + req.btf_file : f.btf_error;
        p.error_is_btf_file = true;
        return p;
    }
    // no BTF at all (or asked for): the classic tracepoints, with their layout from tracefs
    bool tracepoint = req.force ? *req.force == AttachKind::Tracepoint : f.btf_source.empty();
    if (!tracepoint && f.btf_source.empty()) {
        p.error = std::string("attach variant ") + attach_kind_name(*req.force) +
                  " needs BTF: this kernel has none (/sys/kernel/btf/vmlinux is missing) and no --btf FILE was "
                  "given; use --attach auto (docs/kernels.md)";
        return p;
    }
    if (!f.ringbuf) {
        p.error = f.ringbuf_probe_failed ? "cannot probe BPF features: run swamp-bpf as root"
                                         : "this kernel has no BPF ring buffer (needs Linux 5.8 or newer)";
        return p;
    }
    for (auto [tp, name] : {std::pair{f.tp_fork, "sched:sched_process_fork"}, {f.tp_exec, "sched:sched_process_exec"},
                            {f.tp_exit, "sched:sched_process_exit"}, {f.tp_rss_stat, "kmem:rss_stat (Linux 5.5+)"}}) {
        if (tp == false) {
            p.error = std::string("this kernel lacks the tracepoint ") + name;
            return p;
        }
    }

    if (tracepoint) {
        p.kind = AttachKind::Tracepoint;
        if (req.force) p.notes.push_back("attach variant forced: tracepoint");
        if (f.tracefs.empty()) {
            p.error = "this kernel has no BTF and tracefs cannot be used (" + f.tracefs_error +
                      "); the tracepoint variant reads its record layouts there";
            return p;
        }
        std::string why;
        auto layout = tracepoint_layout(f.tp_formats, why);
        if (!layout) {
            p.error = "the tracepoint variant cannot work: " + why;
            return p;
        }
        p.tp_layout = *layout;
        p.losses = tracepoint_losses(f, *layout);
        auto [major, minor] = kernel_version(f.release);
        p.rss_old_signature = major < 6 || (major == 6 && minor < 2);  // only how often rss_stat fires
        return p;
    }

    // tp_btf needs the kernel's own BTF; a --btf file only fixes up CO-RE.
    bool custom = !req.btf_file.empty();
    if (custom) p.custom_btf = req.btf_file;
    if (req.force) {
        p.kind = *req.force;
        p.notes.push_back(std::string("attach variant forced: ") + attach_kind_name(p.kind));
    } else {
        p.kind = f.kernel_btf ? AttachKind::TpBtf : AttachKind::RawTp;
    }
    if (p.kind == AttachKind::TpBtf && !f.kernel_btf) {
        p.error = "tp_btf needs the kernel's own BTF (/sys/kernel/btf/vmlinux); use --attach raw_tp";
        return p;
    }

    if (f.rss_stat_has_count) {
        p.rss_old_signature = *f.rss_stat_has_count;
    } else {
        auto [major, minor] = kernel_version(f.release);
        p.rss_old_signature = major < 6 || (major == 6 && minor < 2);
        p.notes.push_back("rss_stat signature guessed from the kernel version");
    }
    return p;
}

}  // namespace swamp
