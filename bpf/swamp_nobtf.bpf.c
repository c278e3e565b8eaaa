// SPDX-License-Identifier: GPL-2.0
/* swamp-bpf kernel side for kernels without BTF (Raspberry Pi OS) and no --btf:
 * the same events as swamp_bpf.bpf.c, from what the kernel describes itself.
 *
 * Classic tracepoints only, whose record fields are read at the offsets that
 * userspace found in tracefs' events/<sys>/<name>/format (`layout`, .rodata),
 * plus the bpf_get_current_* helpers. No kernel structure is read, so there is
 * no CO-RE relocation and libbpf needs no kernel BTF to load this object
 * (vmlinux.h only gives type names; never access a kernel struct's member here).
 *
 * What this costs against the CO-RE variant (`swamp-bpf probe` says it too):
 * no fault counts (no FAULTS events, 0 in exit events), no exit status, no
 * command line (userspace reads /proc/PID/cmdline at the exec event), RSS
 * attributed to the mm's owner only once that owner updated its own mm (rss_stat's
 * mm_id and curr, not mm->owner), and the peak is our own (to the page at our
 * updates, not the kernel's high-water mark). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "common.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define CLONE_THREAD 0x00010000

/* the record layouts, from tracefs: see struct swamp_tp_layout */
const volatile struct swamp_tp_layout layout = {};

/* rss_stat's mm_id (a hash of the mm's address) -> the tgid that owns that mm,
 * learned from the owner's own updates (curr = 1): it attributes the updates
 * made by another task (reclaim, curr = 0). Sized like `tasks` by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u32);
} mm_owners SEC(".maps");

/* As in swamp_bpf.bpf.c, keyed by mm_id. The fast path only updates this
 * copy: `dirty` marks the counters it changed and `peak` the highest RSS it
 * saw, both folded into the task's state when the cache moves on. */
struct rss_cache {
	__u32 mm_id;
	__u32 pid; /* the mm's owner, 0 when not tracked */
	__u64 gen;
	__u32 calls;
	__u16 valid;
	__u16 dirty; /* bit k: counters[k] is newer than the task's */
	__u64 lo, hi, peak; /* pages */
	__u64 counters[SWAMP_NR_MM_COUNTERS]; /* pages */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rss_cache);
} rss_caches SEC(".maps");

/* A record field of up to 8 bytes, zero-extended (the kernels we run on are
 * little-endian); 0 when the record has no such field. */
static __always_inline __u64 field(void *ctx, __u32 offset, __u32 size)
{
	__u64 v = 0;
	if (size == 0 || size > 8)
		return 0;
	bpf_probe_read_kernel(&v, size, (char *)ctx + offset);
	return v;
}

#define FIELD(ctx, name) field(ctx, layout.name.offset, layout.name.size)

static __always_inline __u32 current_tgid(void)
{
	return bpf_get_current_pid_tgid() >> 32;
}

static __always_inline void forget_mm(__u32 pid, struct swamp_task_state *st)
{
	__u32 id = st->mm_id;
	__u32 *owner = id ? bpf_map_lookup_elem(&mm_owners, &id) : NULL;
	if (owner && *owner == pid)
		bpf_map_delete_elem(&mm_owners, &id);
	st->mm_id = 0;
}

/* ---- fork: task:task_newtask, in the parent's context ---------------------- */

/* sched_process_fork does not say whether the child is a thread; task_newtask
 * has the clone flags. */
SEC("tracepoint/task/task_newtask")
int tp_fork(void *ctx)
{
	if (nothing_tracked())
		return 0;
	__u32 ppid = current_tgid();
	struct swamp_task_state *ps = bpf_map_lookup_elem(&tasks, &ppid);
	if (!ps)
		return 0;

	__u32 tid = FIELD(ctx, newtask_pid);
	bool thread = FIELD(ctx, newtask_clone_flags) & CLONE_THREAD;
	__u32 pid = thread ? ppid : tid;
	struct swamp_ev_fork *e = on_new_task(pid, tid, ppid);
	if (!e)
		return 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm)); /* the child's comm is a copy of it */
	submit(e, WAKE_LAZY);
	return 0;
}

/* ---- exec ------------------------------------------------------------------ */

static __always_inline bool is_watched(void)
{
	__u32 uid = bpf_get_current_uid_gid();
	if (bpf_map_lookup_elem(&watch_uids, &uid))
		return true;
	char comm[SWAMP_COMM_LEN] = {};
	bpf_get_current_comm(comm, sizeof(comm));
	return bpf_map_lookup_elem(&root_comms, comm) != NULL;
}

SEC("tracepoint/sched/sched_process_exec")
int tp_exec(void *ctx)
{
	__u32 pid = current_tgid();
	struct swamp_task_state *st = bpf_map_lookup_elem(&tasks, &pid);
	__u32 flags = SWAMP_EXEC_FROM_PROC;
	if (!st && watching && is_watched()) {
		struct swamp_task_state fresh = {}; /* ppid unknown here: userspace fills it */
		if (bpf_map_update_elem(&tasks, &pid, &fresh, BPF_NOEXIST))
			count_stat(SWAMP_STAT_MAP_FULL);
		else
			__sync_fetch_and_add(&ntasks, 1);
		st = bpf_map_lookup_elem(&tasks, &pid);
		if (!st)
			flags |= SWAMP_EXEC_UNTRACKED;
	}
	if (!st && !(flags & SWAMP_EXEC_UNTRACKED))
		return 0;

	__u32 ppid = 0;
	if (st) {
		/* a new mm: forget the old image's counters, peak and mm_id */
		__builtin_memset(st->counters, 0, sizeof(st->counters));
		st->reported_rss = 0;
		st->peak_rss = 0;
		forget_mm(pid, st);
		ppid = st->ppid;
		__sync_fetch_and_add(&track_gen, 1);
	}

	struct swamp_ev_exec *e = reserve(sizeof(*e));
	if (!e)
		return 0;
	fill_hdr(&e->hdr, SWAMP_EV_EXEC, sizeof(*e));
	e->pid = pid;
	e->ppid = ppid;
	e->flags = flags;
	e->argv_len = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	/* __data_loc: the low 16 bits are the string's offset in the record */
	__u32 loc = FIELD(ctx, exec_filename);
	e->filename[0] = 0;
	if (layout.exec_filename.size)
		bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), (char *)ctx + (loc & 0xffff));
	submit(e, WAKE_SOON);
	return 0;
}

/* ---- exit ------------------------------------------------------------------ */

SEC("tracepoint/sched/sched_process_exit")
int tp_exit(void *ctx)
{
	if (nothing_tracked())
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	struct swamp_task_state *st = bpf_map_lookup_elem(&tasks, &pid);
	if (!st)
		return 0;
	__sync_fetch_and_add(&track_gen, 1);

	/* The process ends with its last thread: group_dead says so from 6.16.
	 * Before, take the group leader's exit (a leader that leaves before its
	 * threads, or an exec from a thread, ends it early). */
	bool last = layout.exit_group_dead.size ? FIELD(ctx, exit_group_dead) != 0 : pid == tid;
	if (!last)
		return 0;

	/* the fast path's peak on this CPU, if it was this process's */
	__u32 zero = 0;
	struct rss_cache *c = bpf_map_lookup_elem(&rss_caches, &zero);
	__u64 peak = st->peak_rss;
	if (c && c->valid && c->pid == pid && c->mm_id == st->mm_id && (c->peak << page_shift) > peak)
		peak = c->peak << page_shift;

	struct swamp_ev_exit *e = reserve(sizeof(*e));
	if (e) {
		fill_hdr(&e->hdr, SWAMP_EV_EXIT, sizeof(*e));
		e->pid = pid;
		e->ppid = st->ppid;
		e->exit_code = 0;
		e->flags = SWAMP_EXIT_STATUS_UNKNOWN;
		e->peak_rss = peak;
		e->min_flt = 0;
		e->maj_flt = 0;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		submit(e, WAKE_SOON);
	}
	forget_mm(pid, st);
	untrack_task(pid);
	return 0;
}

/* ---- kmem:rss_stat: RSS steps ---------------------------------------------- */

/* Attached by userspace only while something is tracked: it runs on nearly
 * every page fault of every process. Without BTF no kernel structure can be
 * read, so the CO-RE variant's sampling (a timer, sched_switch) cannot be had. */
/* Both layouts (before and after 6.2) carry (mm_id, curr, member, size), size
 * being that counter in bytes: the only difference that matters here is how
 * often it fires (about once per 64 faults before 6.2, on every update after). */
SEC("tracepoint/kmem/rss_stat")
int tp_rss(void *ctx)
{
	int member = (int)FIELD(ctx, rss_member);
	if (member < 0 || member >= SWAMP_NR_MM_COUNTERS)
		return 0;
	__u32 i = member;
	barrier_var(i);
	i &= SWAMP_NR_MM_COUNTERS - 1;
	long size = (long)FIELD(ctx, rss_size);
	__u64 value = size > 0 ? (__u64)size >> page_shift : 0;
	__u32 mm_id = FIELD(ctx, rss_mm_id);
	bool curr = FIELD(ctx, rss_curr) != 0;
	__u32 zero = 0;
	__u64 step_pages = cfg.rss_step >> page_shift;

	struct rss_cache *c = bpf_map_lookup_elem(&rss_caches, &zero);
	if (!c)
		return 0;
	if (c->valid && c->mm_id == mm_id && c->gen == track_gen && (++c->calls & 63)) {
		if (!c->pid)
			return 0;
		c->counters[i] = value;
		c->dirty |= 1u << i;
		__u64 pages = c->counters[SWAMP_MM_FILEPAGES] + c->counters[SWAMP_MM_ANONPAGES] + c->counters[SWAMP_MM_SHMEMPAGES];
		if (pages > c->peak)
			c->peak = pages;
		if (pages > c->lo && pages < c->hi)
			return 0;
	}
	/* leaving the cached mm (or its band): fold what its fast path saw */
	if (c->valid && c->pid) {
		__u32 old = c->pid;
		struct swamp_task_state *ost = bpf_map_lookup_elem(&tasks, &old);
		if (ost && ost->mm_id == c->mm_id) { /* not since replaced by an exec */
			for (int k = 0; k < SWAMP_NR_MM_COUNTERS; k++)
				if (c->dirty & (1u << k))
					ost->counters[k] = c->counters[k];
			if ((c->peak << page_shift) > ost->peak_rss)
				ost->peak_rss = c->peak << page_shift;
		}
	}
	c->valid = 1;
	c->dirty = 0;
	c->mm_id = mm_id;
	c->gen = track_gen;
	c->pid = 0;
	c->peak = 0;

	__u32 pid = 0;
	if (curr) {
		pid = current_tgid();
	} else {
		__u32 *owner = bpf_map_lookup_elem(&mm_owners, &mm_id);
		if (!owner)
			return 0;
		pid = *owner;
	}
	struct swamp_task_state *st = bpf_map_lookup_elem(&tasks, &pid);
	if (!st)
		return 0;
	if (curr && st->mm_id != mm_id) {
		forget_mm(pid, st);
		st->mm_id = mm_id;
		bpf_map_update_elem(&mm_owners, &mm_id, &pid, BPF_ANY);
	}

	st->counters[i] = value;
	__u64 pages = note_rss(pid, st);

	__u64 reported = st->reported_rss >> page_shift;
	c->pid = pid;
	c->lo = reported > step_pages ? reported - step_pages : 0;
	c->hi = reported + step_pages;
	c->peak = pages;
#pragma unroll
	for (int k = 0; k < SWAMP_NR_MM_COUNTERS; k++)
		c->counters[k] = st->counters[k];
	return 0;
}
