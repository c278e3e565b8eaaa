#include "source/bpf_source.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <vector>

#include "events.h"
#include "source/decode.hpp"
#include "swamp_bpf.skel.h"
#include "swamp_nobtf.skel.h"
#include "sys/clock.hpp"
#include "sys/proc.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace swamp {

namespace {

bool g_verbose = false;

// libbpf's log is long; by default our own one-line errors summarise it.
int libbpf_log(enum libbpf_print_level, const char* fmt, va_list args) {
    return g_verbose ? vfprintf(stderr, fmt, args) : 0;
}

uint64_t round_up_pow2(uint64_t v) {
    uint64_t p = 1;
    while (p < v) p <<= 1;
    return p;
}

// An exec event with the command line from /proc, whole (up to kMaxArgv
// bytes): what does not fit argv[] goes after the struct, and hdr.size covers
// it (decode() reads it back). The no-BTF variant sends none (FROM_PROC; an
// adopted root has no parent either); the BPF side cuts long ones at
// SWAMP_ARGV_LEN bytes, which on CMake builds ends inside the -I list, before
// the source and -o: their /proc one is used only if it begins with what the
// kernel saw (the process may have exec'd again since). Empty: keep `e`.
constexpr size_t kMaxArgv = 16 << 10;
std::vector<std::byte> exec_with_proc_argv(swamp_ev_exec e) {
    const bool from_proc = e.flags & SWAMP_EXEC_FROM_PROC;
    std::string whole;
    for (const std::string& a : read_cmdline(pid_t(e.pid))) whole.append(a).push_back('\0');
    const bool cut = whole.size() > kMaxArgv;
    if (cut) whole.resize(kMaxArgv);
    if (!from_proc) {
        std::string_view seen(e.argv, std::min<size_t>(e.argv_len, sizeof(e.argv)));
        if (whole.size() <= seen.size() || std::string_view(whole).substr(0, seen.size()) != seen) return {};
    }
    if (from_proc && !e.ppid)
        if (auto st = read_proc_stat(pid_t(e.pid))) e.ppid = uint32_t(st->ppid);
    e.flags &= ~(SWAMP_EXEC_FROM_PROC | SWAMP_EXEC_ARGV_TRUNCATED);
    if (cut) e.flags |= SWAMP_EXEC_ARGV_TRUNCATED;
    std::memset(e.argv, 0, sizeof(e.argv));
    std::memcpy(e.argv, whole.data(), std::min(whole.size(), sizeof(e.argv)));
    e.argv_len = uint32_t(whole.size());
    size_t tail = whole.size() > sizeof(e.argv) ? whole.size() - sizeof(e.argv) : 0;
    e.hdr.size = uint32_t(sizeof e + tail);
    std::vector<std::byte> out(sizeof e + tail);
    std::memcpy(out.data(), &e, sizeof e);
    if (tail) std::memcpy(out.data() + sizeof e, whole.data() + sizeof(e.argv), tail);
    return out;
}

}  // namespace

// What both BPF objects have, by the same names: the maps and globals userspace uses.
struct BpfSource::Impl {
    swamp_bpf* skel = nullptr;     // tp_btf, raw_tp
    swamp_nobtf* nobtf = nullptr;  // tracepoint
    bpf_map* tasks = nullptr;
    bpf_map* stats = nullptr;
    bpf_map* events = nullptr;
    __u64* track_gen = nullptr;
    __u64* ntasks = nullptr;
    // attached for the whole run (fork, exec, exit); RSS's only while ntasks > 0
    std::vector<bpf_program*> links_for_run;
    std::vector<bpf_link*> links, rss_links;
    bpf_program* perf_prog = nullptr;    // sampling: a cpu-clock perf event per CPU ...
    bpf_program* switch_prog = nullptr;  // ... and sched_switch
    bpf_program* rss_prog = nullptr;     // else (no BTF, or no perf event): rss_stat
    uint64_t sample_period_ns = 0;
    bool rss_on = false, rss_failed = false;
    __u64* dropped = nullptr;
    __u64* reader_seen_ns = nullptr;
    ring_buffer* rb = nullptr;
    const Sink* sink = nullptr;
    // the ring's consumer and producer positions (read-only view), to see
    // records reserved but not yet committed
    void* pos_map = MAP_FAILED;
    long page = sysconf(_SC_PAGESIZE);
    uint64_t wake_gap_ns = 0;
    uint64_t linger_until = 0;  // drain again by then; 0: nothing promised
    int soon_events = 0;        // exec and exit events (WAKE_SOON) in this drain

    bool pending() const {
        if (pos_map == MAP_FAILED) return true;  // cannot tell: assume so
        auto* base = static_cast<const char*>(pos_map);
        uint64_t cons = __atomic_load_n(reinterpret_cast<const uint64_t*>(base), __ATOMIC_ACQUIRE);
        uint64_t prod = __atomic_load_n(reinterpret_cast<const uint64_t*>(base + page), __ATOMIC_ACQUIRE);
        return prod != cons;
    }

    static int on_sample(void* ctx, void* data, size_t size) {
        auto* self = static_cast<Impl*>(ctx);
        uint32_t type = 0;
        if (size >= sizeof type) memcpy(&type, data, sizeof type);
        if (type == SWAMP_EV_EXEC || type == SWAMP_EV_EXIT) self->soon_events++;
        if (!self->sink) return 0;
        swamp_ev_exec exec;
        if (type == SWAMP_EV_EXEC && size == sizeof exec) {
            memcpy(&exec, data, sizeof exec);
            if (exec.flags & (SWAMP_EXEC_FROM_PROC | SWAMP_EXEC_ARGV_TRUNCATED))
                if (std::vector<std::byte> whole = exec_with_proc_argv(exec); !whole.empty()) {
                    (*self->sink)(std::span<const std::byte>(whole));
                    return 0;
                }
        }
        (*self->sink)(std::span<const std::byte>(static_cast<const std::byte*>(data), size));
        return 0;
    }

    // Settings both objects share, and the handles userspace keeps.
    template <typename Skel>
    bpf_object* configure(Skel* sk, const BpfOptions& opts) {
        sk->rodata->cfg.rss_step = opts.rss_step;
        sk->rodata->cfg.fault_interval_ns = opts.fault_interval_ns;
        sk->rodata->cfg.wakeup_bytes = std::max<uint64_t>(opts.ringbuf_bytes / 8, 4096);
        sk->rodata->cfg.wake_gap_ns = opts.wake_gap_ns;
        sk->rodata->page_shift = __builtin_ctzl(sysconf(_SC_PAGESIZE));
        sk->rodata->watching = !opts.watch_uids.empty() || !opts.root_comms.empty();
        uint64_t rb_size = round_up_pow2(std::max<uint64_t>(opts.ringbuf_bytes, sysconf(_SC_PAGESIZE)));
        bpf_map__set_max_entries(sk->maps.events, rb_size);
        bpf_map__set_max_entries(sk->maps.tasks, opts.max_tasks);
        tasks = sk->maps.tasks;
        stats = sk->maps.stats;
        events = sk->maps.events;
        track_gen = &sk->bss->track_gen;
        ntasks = &sk->bss->ntasks;
        dropped = &sk->bss->dropped;
        reader_seen_ns = &sk->bss->reader_seen_ns;
        return sk->obj;
    }

    // The CO-RE object, with exactly one program per hook.
    bpf_object* open_core(const BpfOptions& opts, const AttachPlan& plan) {
        LIBBPF_OPTS(bpf_object_open_opts, open_opts);
        if (!plan.custom_btf.empty()) open_opts.btf_custom_path = plan.custom_btf.c_str();
        skel = swamp_bpf__open_opts(&open_opts);
        if (!skel) throw UserError(ExitCode::Failure, std::string("cannot open the BPF object: ") + strerror(errno));
        bpf_map__set_max_entries(skel->maps.threads, opts.max_tasks * 2);
        bool btf = plan.kind == AttachKind::TpBtf;
        struct {
            bpf_program* prog;
            bool on;
        } variants[] = {
            {skel->progs.fork_btf, btf},
            {skel->progs.fork_raw, !btf},
            {skel->progs.exec_btf, btf},
            {skel->progs.exec_raw, !btf},
            {skel->progs.exit_btf, btf},
            {skel->progs.exit_raw, !btf},
            {skel->progs.rss_btf, btf && !plan.rss_old_signature},
            {skel->progs.rss_raw, !btf && !plan.rss_old_signature},
            {skel->progs.rss_old_btf, btf && plan.rss_old_signature},
            {skel->progs.rss_old_raw, !btf && plan.rss_old_signature},
            {skel->progs.sample_perf, !plan.rss_old_signature},
            {skel->progs.sample_perf_old, plan.rss_old_signature},
            {skel->progs.switch_btf, btf && !plan.rss_old_signature},
            {skel->progs.switch_raw, !btf && !plan.rss_old_signature},
            {skel->progs.switch_old_btf, btf && plan.rss_old_signature},
            {skel->progs.switch_old_raw, !btf && plan.rss_old_signature},
        };
        for (auto& v : variants) bpf_program__set_autoload(v.prog, v.on);
        auto& p = skel->progs;
        links_for_run = {btf ? p.fork_btf : p.fork_raw, btf ? p.exec_btf : p.exec_raw, btf ? p.exit_btf : p.exit_raw};
        bool old = plan.rss_old_signature;
        rss_prog = btf ? (old ? p.rss_old_btf : p.rss_btf) : (old ? p.rss_old_raw : p.rss_raw);
        perf_prog = old ? p.sample_perf_old : p.sample_perf;
        switch_prog = btf ? (old ? p.switch_old_btf : p.switch_btf) : (old ? p.switch_old_raw : p.switch_raw);
        return configure(skel, opts);
    }

    // The no-BTF object: the record layouts found in tracefs go to .rodata.
    bpf_object* open_nobtf(const BpfOptions& opts, const AttachPlan& plan) {
        nobtf = swamp_nobtf__open();
        if (!nobtf) throw UserError(ExitCode::Failure, std::string("cannot open the BPF object: ") + strerror(errno));
        const_cast<swamp_tp_layout&>(nobtf->rodata->layout) = plan.tp_layout;
        bpf_map__set_max_entries(nobtf->maps.mm_owners, opts.max_tasks);
        links_for_run = {nobtf->progs.tp_fork, nobtf->progs.tp_exec, nobtf->progs.tp_exit};
        rss_prog = nobtf->progs.tp_rss;
        return configure(nobtf, opts);
    }

    // The RSS programs: sampling where it can be had, else rss_stat. Empty, or why not.
    std::string attach_rss() {
        std::string why;
        if (perf_prog) {
            why = attach_sampling();
            if (why.empty()) return why;
            detach_rss();
            perf_prog = switch_prog = nullptr;  // for good: rss_stat from now on
        }
        bpf_link* l = bpf_program__attach(rss_prog);
        if (long err = libbpf_get_error(l))
            return "rss_stat: " + std::string(strerror(int(-err))) + (why.empty() ? "" : "; sampling: " + why);
        rss_links.push_back(l);
        return {};
    }

    // A cpu-clock perf event on every CPU whose program runs once per period
    // (skipping offline CPUs), and sched_switch.
    std::string attach_sampling() {
        perf_event_attr a{};
        a.size = sizeof a;
        a.type = PERF_TYPE_SOFTWARE;
        a.config = PERF_COUNT_SW_CPU_CLOCK;
        a.sample_period = sample_period_ns;  // cpu-clock counts nanoseconds
        int ncpu = libbpf_num_possible_cpus(), opened = 0;
        for (int cpu = 0; cpu < ncpu; cpu++) {
            int fd = int(syscall(__NR_perf_event_open, &a, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC));
            if (fd < 0 && errno == ENODEV) continue;
            if (fd < 0) return std::string("perf_event_open: ") + strerror(errno);
            bpf_link* l = bpf_program__attach_perf_event(perf_prog, fd);  // owns fd from here
            if (long err = libbpf_get_error(l)) {
                close(fd);
                return std::string("perf event: ") + strerror(int(-err));
            }
            rss_links.push_back(l);
            opened++;
        }
        if (!opened) return "no CPU to sample";
        bpf_link* l = bpf_program__attach(switch_prog);
        if (long err = libbpf_get_error(l)) return std::string("sched_switch: ") + strerror(int(-err));
        rss_links.push_back(l);
        return {};
    }

    void detach_rss() {
        for (bpf_link* l : rss_links) bpf_link__destroy(l);
        rss_links.clear();
    }

    // Attach RSS's programs while the task map holds something, detach them when it is empty.
    void follow_ntasks() {
        bool want = __atomic_load_n(ntasks, __ATOMIC_ACQUIRE) != 0;
        if (want == rss_on) return;
        if (!want) {
            detach_rss();
            rss_on = false;
            return;
        }
        if (std::string why = attach_rss(); !why.empty()) {
            detach_rss();
            if (!rss_failed) log(Level::Error) << "cannot attach the RSS programs (" << why << "): no RSS is seen\n";
            rss_failed = true;  // said once; tried again at the next drain
            return;
        }
        rss_on = true;
    }

    ~Impl() {
        detach_rss();
        for (bpf_link* l : links) bpf_link__destroy(l);
        if (pos_map != MAP_FAILED) munmap(pos_map, 2 * page);
        ring_buffer__free(rb);
        swamp_bpf__destroy(skel);
        swamp_nobtf__destroy(nobtf);
    }
};

BpfSource::BpfSource(const BpfOptions& opts, const AttachPlan& plan) : impl_(std::make_unique<Impl>()) {
    g_verbose = opts.verbose;
    libbpf_set_print(libbpf_log);
    const char* hint = opts.verbose ? "" : " (run with -v for libbpf's log)";

    if (opts.watch_uids.size() > SWAMP_MAX_WATCHED || opts.root_comms.size() > SWAMP_MAX_WATCHED)
        throw UserError(ExitCode::Usage, "at most " + std::to_string(SWAMP_MAX_WATCHED) + " users and " +
                                             std::to_string(SWAMP_MAX_WATCHED) + " root names can be watched");
    impl_->wake_gap_ns = opts.wake_gap_ns;
    bpf_object* obj =
        plan.kind == AttachKind::Tracepoint ? impl_->open_nobtf(opts, plan) : impl_->open_core(opts, plan);
    // the skeleton's load, not bpf_object__load: it also maps .bss, which track_gen, dropped and
    // reader_seen_ns are read and written through
    int err = impl_->skel ? swamp_bpf__load(impl_->skel) : swamp_nobtf__load(impl_->nobtf);
    if (err) {
        if (err == -EPERM)
            throw UserError(ExitCode::Permission,
                            "the kernel refused to load BPF programs: run swamp-bpf as root (CAP_BPF + CAP_PERFMON)");
        throw UserError(ExitCode::KernelFeature, std::string("cannot load the BPF programs (") + strerror(-err) +
                                                     "): this kernel may lack a feature swamp-bpf needs" + hint);
    }
    const uint8_t yes = 1;
    for (uint32_t uid : opts.watch_uids)
        bpf_map__update_elem(bpf_object__find_map_by_name(obj, "watch_uids"), &uid, sizeof uid, &yes, sizeof yes, BPF_ANY);
    for (const std::string& name : opts.root_comms) {
        char comm[SWAMP_COMM_LEN] = {};  // the kernel's comm: at most 15 characters, zero-padded
        name.copy(comm, SWAMP_COMM_LEN - 1);
        bpf_map__update_elem(bpf_object__find_map_by_name(obj, "root_comms"), comm, sizeof comm, &yes, sizeof yes, BPF_ANY);
    }

    impl_->sample_period_ns = opts.sample_period_ns;
    auto attach_failed = [&](const std::string& why) {
        return UserError(ExitCode::KernelFeature, "cannot attach the BPF programs (" + why + "), variant " +
                                                      attach_kind_name(plan.kind) + hint);
    };
    for (bpf_program* p : impl_->links_for_run) {
        bpf_link* l = bpf_program__attach(p);
        if (long e = libbpf_get_error(l)) throw attach_failed(strerror(int(-e)));
        impl_->links.push_back(l);
    }
    // RSS's programs are attached once now, so that what cannot work fails here (and
    // sampling falls back to rss_stat for good), then only while something is tracked
    if (std::string why = impl_->attach_rss(); !why.empty()) throw attach_failed(why);
    impl_->detach_rss();

    impl_->rb = ring_buffer__new(bpf_map__fd(impl_->events), &Impl::on_sample, impl_.get(), nullptr);
    if (!impl_->rb) throw UserError(ExitCode::Failure, std::string("cannot open the ring buffer: ") + strerror(errno));
    impl_->pos_map = mmap(nullptr, 2 * impl_->page, PROT_READ, MAP_SHARED, bpf_map__fd(impl_->events), 0);
}

BpfSource::~BpfSource() = default;

bool BpfSource::track(uint32_t pid, uint32_t ppid) {
    swamp_task_state seed{};
    seed.ppid = ppid;
    if (bpf_map__update_elem(impl_->tasks, &pid, sizeof pid, &seed, sizeof seed, BPF_NOEXIST) == 0)
        __atomic_fetch_add(impl_->ntasks, 1, __ATOMIC_SEQ_CST);
    else if (errno != EEXIST)
        return false;
    __atomic_fetch_add(impl_->track_gen, 1, __ATOMIC_SEQ_CST);  // drop the per-CPU fast-path caches
    impl_->follow_ntasks();
    return true;
}

void BpfSource::untrack(uint32_t pid) {
    if (bpf_map__delete_elem(impl_->tasks, &pid, sizeof pid, 0) == 0)
        __atomic_fetch_sub(impl_->ntasks, 1, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(impl_->track_gen, 1, __ATOMIC_SEQ_CST);
    impl_->follow_ntasks();
}

bool BpfSource::tracked(uint32_t pid) const {
    swamp_task_state seed{};
    return bpf_map__lookup_elem(impl_->tasks, &pid, sizeof pid, &seed, sizeof seed, 0) == 0;
}

int BpfSource::fd() const { return ring_buffer__epoll_fd(impl_->rb); }

// The kernel side skips the wakeup of an exec or exit sent less than
// wake_gap_ns after reader_seen_ns. So whenever we set reader_seen_ns we
// linger: drain again at least wake_gap_ns later, and keep doing so while
// exec/exit events come (or a record is still being written). A storm of
// exec/exit then costs one wakeup per gap instead of one per event; other
// events (RSS steps, samples) do not keep us lingering.
int BpfSource::consume(const Sink& sink) {
    uint64_t start = monotonic_ns();
    impl_->sink = &sink;
    impl_->soon_events = 0;
    int n = ring_buffer__consume(impl_->rb);
    impl_->sink = nullptr;
    if (impl_->soon_events > 0 || impl_->pending()) {
        uint64_t seen = monotonic_ns();
        __atomic_store_n(impl_->reader_seen_ns, seen, __ATOMIC_RELEASE);
        impl_->linger_until = seen + impl_->wake_gap_ns;
    } else if (start >= impl_->linger_until) {
        impl_->linger_until = 0;
    }
    impl_->follow_ntasks();
    return n;
}

int BpfSource::poll_timeout_ms() const {
    if (!impl_->linger_until) return -1;
    uint64_t now = monotonic_ns();
    if (now >= impl_->linger_until) return 0;
    return int((impl_->linger_until - now + 999'999) / 1'000'000);
}

uint64_t BpfSource::dropped() const { return __atomic_load_n(impl_->dropped, __ATOMIC_RELAXED); }

BpfStats BpfSource::stats() const {
    BpfStats s;
    s.dropped = dropped();
    int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0) return s;
    std::vector<uint64_t> vals(ncpu);
    uint64_t* out[] = {nullptr, &s.map_full, &s.events};  // SWAMP_STAT_DROPPED: see dropped()
    for (uint32_t key = SWAMP_STAT_MAP_FULL; key < SWAMP_STAT_MAX; key++) {
        if (bpf_map__lookup_elem(impl_->stats, &key, sizeof key, vals.data(), vals.size() * sizeof(uint64_t), 0))
            continue;
        for (uint64_t v : vals) *out[key] += v;
    }
    return s;
}

int BpfSource::drain(const EventSink& sink) {
    return consume([&](std::span<const std::byte> raw) {
        if (Decoded d = decode(raw); d.event) sink(*d.event, raw);
    });
}

}  // namespace swamp
