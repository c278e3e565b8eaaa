// SPDX-License-Identifier: GPL-2.0
/* swamp-bpf kernel side: follow every descendant of a build root and report
 * exec/fork/exit, RSS step crossings and fault-rate samples.
 *
 * Each hook has a tp_btf variant (kernels with BTF) and a raw_tp variant
 * (kernels without, with CO-RE fixed up from a --btf file); userspace turns
 * on exactly one per hook (bpf/swamp_nobtf.bpf.c serves kernels with no BTF at
 * all). rss_stat also comes in two signatures: (mm, member)
 * from 6.2 and (mm, member, count) before. RSS comes from sampling (a timer
 * and sched_switch, below) or, where the perf event cannot be had, rss_stat;
 * userspace attaches either only while something is tracked. All state lives
 * in `tasks`, keyed by tgid; a task is tracked when its parent is. Nothing is
 * sent per fault. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "compat.bpf.h"
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Per thread of a tracked process: its fault counters when last looked at. */
struct thread_faults {
	__u64 min_flt;
	__u64 maj_flt;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct thread_faults);
} threads SEC(".maps");

/* The rss_stat fast path, per CPU: the last mm seen here and the RSS band
 * (lo, hi) inside which nothing needs reporting. An array lookup is inlined
 * by the verifier; it spares most calls the hash lookup in `tasks`. */
struct rss_cache {
	__u64 mm;
	__u64 gen;
	__u32 pid; /* the mm's owner, 0 when not tracked */
	__u32 calls;
	__u64 lo, hi; /* pages */
	__u64 counters[SWAMP_NR_MM_COUNTERS]; /* pages */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rss_cache);
} rss_caches SEC(".maps");

/* ---- fork ---------------------------------------------------------------- */

static __always_inline int on_fork(struct task_struct *parent, struct task_struct *child)
{
	if (nothing_tracked())
		return 0;
	__u32 ppid = BPF_CORE_READ(parent, tgid);
	struct swamp_task_state *ps = bpf_map_lookup_elem(&tasks, &ppid);
	if (!ps)
		return 0;

	__u32 pid = BPF_CORE_READ(child, tgid);
	__u32 tid = BPF_CORE_READ(child, pid);
	struct swamp_ev_fork *e = on_new_task(pid, tid, ppid);
	if (!e)
		return 0;
	BPF_CORE_READ_STR_INTO(&e->comm, child, comm);
	submit(e, WAKE_LAZY);
	return 0;
}

/* ---- exec ---------------------------------------------------------------- */

/* An untracked task that just exec'd: does it start a build we watch? */
static __always_inline bool is_watched(struct task_struct *p)
{
	__u32 uid = BPF_CORE_READ(p, cred, uid.val);
	if (bpf_map_lookup_elem(&watch_uids, &uid))
		return true;
	char comm[SWAMP_COMM_LEN] = {};
	BPF_CORE_READ_STR_INTO(&comm, p, comm);
	return bpf_map_lookup_elem(&root_comms, comm) != NULL;
}

static __always_inline int on_exec(struct task_struct *p, struct linux_binprm *bprm)
{
	__u32 pid = BPF_CORE_READ(p, tgid);
	struct swamp_task_state *st = bpf_map_lookup_elem(&tasks, &pid);
	__u32 flags = 0;
	if (!st && watching && is_watched(p)) {
		struct swamp_task_state fresh = {};
		fresh.ppid = BPF_CORE_READ(p, real_parent, tgid);
		if (bpf_map_update_elem(&tasks, &pid, &fresh, BPF_NOEXIST))
			count_stat(SWAMP_STAT_MAP_FULL);
		else
			__sync_fetch_and_add(&ntasks, 1);
		st = bpf_map_lookup_elem(&tasks, &pid);
		/* the task map is full: still tell userspace, which repairs later */
		if (!st)
			flags = SWAMP_EXEC_UNTRACKED;
	}
	if (!st && !flags)
		return 0;

	if (st) {
		/* a new mm: forget the old image's counters and peak */
		__builtin_memset(st->counters, 0, sizeof(st->counters));
		st->reported_rss = 0;
		st->peak_rss = 0;
		__sync_fetch_and_add(&track_gen, 1);
	}

	struct swamp_ev_exec *e = reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, SWAMP_EV_EXEC, sizeof(*e));
	e->pid = pid;
	e->ppid = BPF_CORE_READ(p, real_parent, tgid);
	BPF_CORE_READ_STR_INTO(&e->comm, p, comm);
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));

	unsigned long start = BPF_CORE_READ(p, mm, arg_start);
	unsigned long end = BPF_CORE_READ(p, mm, arg_end);
	unsigned long len = end > start ? end - start : 0;
	e->flags = flags | (len > sizeof(e->argv) ? SWAMP_EXEC_ARGV_TRUNCATED : 0);
	if (len > sizeof(e->argv))
		len = sizeof(e->argv);
	e->argv_len = 0;
	if (len > 0 && bpf_probe_read_user(e->argv, len & (SWAMP_ARGV_LEN - 1) ?: SWAMP_ARGV_LEN,
					   (void *)start) == 0)
		e->argv_len = len;
	submit(e, WAKE_SOON);
	return 0;
}

/* ---- exit ---------------------------------------------------------------- */

static __always_inline int on_exit(struct task_struct *task)
{
	if (nothing_tracked())
		return 0;
	__u32 pid = BPF_CORE_READ(task, tgid);
	struct swamp_task_state *st = bpf_map_lookup_elem(&tasks, &pid);
	if (!st)
		return 0;

	__u32 tid = BPF_CORE_READ(task, pid);
	bpf_map_delete_elem(&threads, &tid);
	__sync_fetch_and_add(&track_gen, 1); /* mm->owner may move to another thread */

	/* signal->live drops to 0 when the last thread is on its way out */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;

	/* our own peak is updated at step crossings; the kernel's high-water
	 * marks are exact: signal->maxrss (pages, set just before this
	 * tracepoint once the group is dead) and, where mm still exists, its
	 * hiwater_rss */
	__u64 peak = st->peak_rss;
	__u64 maxrss = BPF_CORE_READ(task, signal, maxrss) << page_shift;
	if (maxrss > peak)
		peak = maxrss;
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	if (mm) {
		__u64 hiwater = BPF_CORE_READ(mm, hiwater_rss) << page_shift;
		if (hiwater > peak)
			peak = hiwater;
	}

	struct swamp_ev_exit *e = reserve(sizeof(*e));
	if (e) {
		fill_hdr(&e->hdr, SWAMP_EV_EXIT, sizeof(*e));
		e->pid = pid;
		e->ppid = st->ppid;
		e->exit_code = BPF_CORE_READ(task, exit_code);
		e->flags = 0;
		e->peak_rss = peak;
		/* threads that already died were folded into signal->*_flt */
		e->min_flt = BPF_CORE_READ(task, signal, min_flt) + BPF_CORE_READ(task, min_flt);
		e->maj_flt = BPF_CORE_READ(task, signal, maj_flt) + BPF_CORE_READ(task, maj_flt);
		BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
		submit(e, WAKE_SOON);
	}
	untrack_task(pid);
	return 0;
}

/* ---- rss_stat: RSS steps and fault samples ------------------------------- */

/* Fold the current thread's new faults into its process, and send a sample
 * once per fault_interval_ns while the process keeps faulting. */
static __always_inline void account_faults(__u32 pid, struct swamp_task_state *st)
{
	struct task_struct *cur = (void *)bpf_get_current_task();
	__u32 tid = BPF_CORE_READ(cur, pid);
	struct thread_faults now = {
		.min_flt = BPF_CORE_READ(cur, min_flt),
		.maj_flt = BPF_CORE_READ(cur, maj_flt),
	};
	struct thread_faults *last = bpf_map_lookup_elem(&threads, &tid);
	if (last) {
		st->flt_min += now.min_flt - last->min_flt;
		st->flt_maj += now.maj_flt - last->maj_flt;
		*last = now;
	} else {
		/* first look at this thread: its earlier faults are in no sample */
		bpf_map_update_elem(&threads, &tid, &now, BPF_ANY);
	}

	__u64 ts = bpf_ktime_get_ns();
	if (!st->sample_ts) {
		st->sample_ts = ts;
		return;
	}
	if (ts - st->sample_ts < cfg.fault_interval_ns || (!st->flt_min && !st->flt_maj))
		return;

	struct swamp_ev_faults *e = reserve(sizeof(*e));
	if (!e)
		return;
	e->hdr.type = SWAMP_EV_FAULTS;
	e->hdr.size = sizeof(*e);
	e->hdr.ts_ns = ts;
	e->pid = pid;
	e->_pad = 0;
	e->interval_ns = ts - st->sample_ts;
	e->min_flt = st->flt_min;
	e->maj_flt = st->flt_maj;
	submit(e, st->flt_maj > 0 ? WAKE_NOW : WAKE_LAZY);
	st->flt_min = 0;
	st->flt_maj = 0;
	st->sample_ts = ts;
}

/* percpu: the 6.2+ layout and signature, which has no count: read it from mm.
 * direct: a tp_btf program, which may load through kernel pointers.
 * This runs on nearly every page fault of every process (6.2+): keep it lean. */
static __always_inline int on_rss_stat(struct mm_struct *mm, int member, long count, bool percpu, bool direct)
{
	if (member < 0 || member >= SWAMP_NR_MM_COUNTERS)
		return 0;
	__u32 i = member;
	barrier_var(i); /* keep the mask: it is the bound the verifier sees */
	i &= SWAMP_NR_MM_COUNTERS - 1;
	__u64 value = percpu ? mm_counter_pages(mm, i, true, direct) : (count > 0 ? count : 0);
	__u32 zero = 0;
	__u64 step_pages = cfg.rss_step >> page_shift;

	/* Fast path: same mm as last time on this CPU, nothing tracked changed,
	 * RSS still inside its band. Every 64th call goes the slow way anyway,
	 * for the fault samples. */
	struct rss_cache *c = bpf_map_lookup_elem(&rss_caches, &zero);
	if (!c)
		return 0;
	if (c->mm == (__u64)mm && c->gen == track_gen && (++c->calls & 63)) {
		if (!c->pid)
			return 0;
		c->counters[i] = value;
		__u64 pages = c->counters[SWAMP_MM_FILEPAGES] + c->counters[SWAMP_MM_ANONPAGES] +
			      c->counters[SWAMP_MM_SHMEMPAGES];
		if (pages > c->lo && pages < c->hi)
			return 0;
	}
	c->mm = (__u64)mm;
	c->gen = track_gen;
	c->pid = 0;

	struct task_struct *owner = mm_owner(mm, direct);
	if (!owner)
		return 0;
	__u32 pid = KREAD(direct, owner, tgid);
	struct swamp_task_state *st = bpf_map_lookup_elem(&tasks, &pid);
	if (!st)
		return 0;

	/* the fast path kept only this CPU's view: re-read all four */
	for (int k = 0; k < SWAMP_NR_MM_COUNTERS; k++)
		st->counters[k] = mm_counter_pages(mm, k, percpu, direct);
	if (!percpu)
		st->counters[i] = value; /* before 6.2 `count` is fresher than the mm's atomic */
	note_rss(pid, st);

	/* fault bookkeeping only for the owner's own faults */
	if (KREAD(direct, owner, mm) == mm && (__u32)(bpf_get_current_pid_tgid() >> 32) == pid)
		account_faults(pid, st);

	/* refill the fast path: quiet until RSS leaves (reported - step, reported + step) */
	__u64 reported = st->reported_rss >> page_shift;
	c->pid = pid;
	c->lo = reported > step_pages ? reported - step_pages : 0;
	c->hi = reported + step_pages;
	for (int k = 0; k < SWAMP_NR_MM_COUNTERS; k++)
		c->counters[k] = st->counters[k];
	return 0;
}

/* ---- RSS sampling: a CPU-time timer and the switch away ------------------ */

/* What kernels with BTF run instead of rss_stat (userspace attaches it only
 * while something is tracked): no program call per page fault, but one per
 * sample period of each CPU's time (a perf cpu-clock event, sample_perf) and
 * one each time a task stops running (sched_switch). A process's own faults
 * grow its RSS only while it runs, so a step is seen within one period of
 * its running, and exactly when it blocks or is preempted. Not seen until it
 * runs again: what another task frees of its memory (reclaim, a page-out). */
static __always_inline void sample_task(struct task_struct *task, bool percpu)
{
	if (nothing_tracked())
		return;
	__u32 pid = BPF_CORE_READ(task, tgid);
	struct swamp_task_state *st = bpf_map_lookup_elem(&tasks, &pid);
	if (!st)
		return;
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	if (!mm)
		return; /* exiting */
	/* a vfork child runs on its parent's mm until it execs: not its RSS */
	if (bpf_core_field_exists(((struct mm_struct___owner *)0)->owner)) {
		struct task_struct *owner = BPF_CORE_READ((struct mm_struct___owner *)mm, owner);
		if (owner && BPF_CORE_READ(owner, tgid) != pid)
			return;
	}

	for (int k = 0; k < SWAMP_NR_MM_COUNTERS; k++)
		st->counters[k] = mm_counter_pages(mm, k, percpu, false);
	note_rss(pid, st);
	account_faults(pid, st); /* task is current in both callers */
}

/* ---- attach variants ----------------------------------------------------- */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(fork_btf, struct task_struct *parent, struct task_struct *child)
{
	return on_fork(parent, child);
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(fork_raw, struct task_struct *parent, struct task_struct *child)
{
	return on_fork(parent, child);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_btf, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return on_exec(p, bprm);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(exec_raw, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return on_exec(p, bprm);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(exit_btf, struct task_struct *task)
{
	return on_exit(task);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(exit_raw, struct task_struct *task)
{
	return on_exit(task);
}

/* 6.2+: rss_stat(mm, member) */
SEC("tp_btf/rss_stat")
int BPF_PROG(rss_btf, struct mm_struct *mm, int member)
{
	return on_rss_stat(mm, member, 0, true, true);
}

SEC("raw_tp/rss_stat")
int BPF_PROG(rss_raw, struct mm_struct *mm, int member)
{
	return on_rss_stat(mm, member, 0, true, false);
}

/* 5.5 .. 6.1: rss_stat(mm, member, count) */
SEC("tp_btf/rss_stat")
int BPF_PROG(rss_old_btf, struct mm_struct *mm, int member, long count)
{
	return on_rss_stat(mm, member, count < 0 ? 0 : count, false, true);
}

SEC("raw_tp/rss_stat")
int BPF_PROG(rss_old_raw, struct mm_struct *mm, int member, long count)
{
	return on_rss_stat(mm, member, count < 0 ? 0 : count, false, false);
}

/* RSS sampling: the perf event's program (6.2+ mm layout, and before) */
SEC("perf_event")
int sample_perf(void *ctx)
{
	sample_task((void *)bpf_get_current_task(), true);
	return 0;
}

SEC("perf_event")
int sample_perf_old(void *ctx)
{
	sample_task((void *)bpf_get_current_task(), false);
	return 0;
}

/* sched_switch(preempt, prev, next[, prev_state]): prev is still current */
#define SWITCH_PROG(sec, name, percpu)                                         \
	SEC(sec)                                                               \
	int BPF_PROG(name, bool preempt, struct task_struct *prev)             \
	{                                                                      \
		sample_task(prev, percpu);                                     \
		return 0;                                                      \
	}
SWITCH_PROG("tp_btf/sched_switch", switch_btf, true)
SWITCH_PROG("tp_btf/sched_switch", switch_old_btf, false)
SWITCH_PROG("raw_tp/sched_switch", switch_raw, true)
SWITCH_PROG("raw_tp/sched_switch", switch_old_raw, false)
