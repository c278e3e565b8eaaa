#include "source/probe.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#ifdef SWAMP_WITH_BPF
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#endif

namespace swamp {

const char* attach_kind_name(AttachKind k) { return k == AttachKind::TpBtf ? "tp_btf" : "raw_tp"; }

std::pair<int, int> kernel_version(const std::string& release) {
    int major = 0, minor = 0;
    if (sscanf(release.c_str(), "%d.%d", &major, &minor) != 2) return {0, 0};
    return {major, minor};
}

namespace {

void find_cgroup_mounts(KernelFeatures& f) {
    std::ifstream in("/proc/self/mounts");
    std::string dev, dir, type, opts, rest;
    while (in >> dev >> dir >> type >> opts && std::getline(in, rest)) {
        if (type == "cgroup2" && !f.cgroup2) {
            f.cgroup2 = true;
            f.cgroup2_mount = dir;
        }
        if (type == "cgroup" && ("," + opts + ",").find(",memory,") != std::string::npos) f.cgroup1_memory = true;
    }
}

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

KernelFeatures probe_kernel(const std::string& btf_file) {
    KernelFeatures f;
    struct utsname u {};
    if (uname(&u) == 0) {
        f.release = u.release;
        f.machine = u.machine;
    }
    f.kernel_btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
    f.psi = access("/proc/pressure/memory", R_OK) == 0;
    find_cgroup_mounts(f);

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
    libbpf_set_print(old);
#else
    (void)btf_file;
#endif
    return f;
}

AttachPlan plan_attach(const KernelFeatures& f, const AttachRequest& req) {
    AttachPlan p;
    if (!req.btf_file.empty() && f.btf_source != req.btf_file) {
        p.error = f.btf_error.empty() ? "cannot read BTF from " + req.btf_file : f.btf_error;
        p.error_is_btf_file = true;
        return p;
    }
    if (f.btf_source.empty()) {
        p.error = "this kernel has no BTF (/sys/kernel/btf/vmlinux is missing) and no --btf FILE was given; "
                  "build one with `bpftool gen min_core_btf` or pahole (docs/kernels.md, \"Kernels without BTF\")";
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
