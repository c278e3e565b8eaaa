/* What both BPF objects share (swamp_bpf.bpf.c, CO-RE; swamp_nobtf.bpf.c, no
 * BTF): the settings userspace writes, the maps and globals it reads, and
 * sending events over the ring buffer. Include after vmlinux.h and bpf_helpers.h. */
#ifndef SWAMP_COMMON_BPF_H
#define SWAMP_COMMON_BPF_H

#include "events.h"

const volatile struct swamp_config cfg = {
	.rss_step = 16ull << 20,
	.fault_interval_ns = 250000000ull,
	.wakeup_bytes = 64 * 1024,
	.wake_gap_ns = 5000000ull,
};
const volatile __u32 page_shift = 12;
/* --user and service mode: an exec by a watched uid, or of a root name (make,
 * emerge, distccd …), by a task not yet tracked adopts that task. Off unless
 * `watching`: then each untracked exec costs two hash lookups. */
const volatile bool watching = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SWAMP_MAX_WATCHED);
	__type(key, __u32);
	__type(value, __u8);
} watch_uids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SWAMP_MAX_WATCHED);
	__type(key, char[SWAMP_COMM_LEN]);
	__type(value, __u8);
} root_comms SEC(".maps");

/* Entries in `tasks`, kept by every insert and delete (here and in userspace,
 * through the mmap-ed .bss). 0: nothing is tracked, so fork and exit return at
 * once, and userspace detaches the RSS programs. */
__u64 ntasks = 0;

/* Bumped whenever the set of tracked processes or their mms change (fork,
 * exec, exit, userspace seeding): invalidates every CPU's rss_cache. */
__u64 track_gen = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384); /* resized by userspace (--max-tasks) */
	__type(key, __u32);
	__type(value, struct swamp_task_state);
} tasks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22); /* resized by userspace (--ringbuf-size) */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SWAMP_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

static __always_inline bool nothing_tracked(void)
{
	return *(volatile __u64 *)&ntasks == 0;
}

/* Delete `pid` from `tasks`, keeping ntasks. */
static __always_inline void untrack_task(__u32 pid)
{
	if (bpf_map_delete_elem(&tasks, &pid) == 0)
		__sync_fetch_and_sub(&ntasks, 1);
}

static __always_inline void count_stat(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &which);
	if (v)
		*v += 1;
}

/* Events lost because the ring buffer was full. A global, not a `stats`
 * entry: userspace checks it after every drain through the mmap-ed .bss,
 * without a syscall. Rare, so the atomic add costs nothing in practice. */
__u64 dropped = 0;

static __always_inline void *reserve(__u32 size)
{
	void *e = bpf_ringbuf_reserve(&events, size, 0);
	if (!e)
		__sync_fetch_and_add(&dropped, 1);
	return e;
}

/* When the reader last drained the ring buffer, or was last woken (ktime ns).
 * Userspace writes it after every drain that found exec/exit events, and promises to
 * drain again cfg.wake_gap_ns later (it lingers); so an event sent within that
 * gap needs no wakeup of its own. */
__u64 reader_seen_ns = 0;

enum wake {
	WAKE_LAZY, /* wait until enough data has piled up or the reader comes by */
	WAKE_SOON, /* wake the reader, unless it drained or was woken in the last wake_gap_ns */
	WAKE_NOW, /* wake the reader at once */
};

/* A wakeup (irq_work, then the reader's wakeup, often a context switch in the
 * middle of the program) costs ~10 us where the rest of a program costs ~1 us:
 * storms of exec and exit share one wakeup per wake_gap_ns. */
static __always_inline void submit(void *e, enum wake wake)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (wake == WAKE_SOON) {
		__u64 now = ((struct swamp_event_hdr *)e)->ts_ns;
		if (now - reader_seen_ns >= cfg.wake_gap_ns) {
			reader_seen_ns = now;
			flags = BPF_RB_FORCE_WAKEUP;
		}
	}
	if (wake == WAKE_NOW || bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= cfg.wakeup_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(e, flags);
	count_stat(SWAMP_STAT_EVENTS);
}

static __always_inline void fill_hdr(struct swamp_event_hdr *h, __u32 type, __u32 size)
{
	h->type = type;
	h->size = size;
	h->ts_ns = bpf_ktime_get_ns();
}

static __always_inline void send_rss(__u32 pid, struct swamp_task_state *st, __u64 rss, bool up)
{
	struct swamp_ev_rss *e = reserve(sizeof(*e));
	if (!e)
		return;
	fill_hdr(&e->hdr, SWAMP_EV_RSS, sizeof(*e));
	e->pid = pid;
	e->_pad = 0;
	e->rss = rss;
	e->anon = st->counters[SWAMP_MM_ANONPAGES] << page_shift;
	e->file = st->counters[SWAMP_MM_FILEPAGES] << page_shift;
	e->shmem = st->counters[SWAMP_MM_SHMEMPAGES] << page_shift;
	e->swap = st->counters[SWAMP_MM_SWAPENTS] << page_shift;
	e->peak_rss = st->peak_rss;
	submit(e, up ? WAKE_NOW : WAKE_LAZY);
}

/* st->counters were just refreshed: keep the peak, and send an RSS event if
 * RSS moved a step since the last one. Returns RSS in pages. */
static __always_inline __u64 note_rss(__u32 pid, struct swamp_task_state *st)
{
	__u64 pages = st->counters[SWAMP_MM_FILEPAGES] + st->counters[SWAMP_MM_ANONPAGES] +
		      st->counters[SWAMP_MM_SHMEMPAGES];
	__u64 rss = pages << page_shift;
	if (rss > st->peak_rss)
		st->peak_rss = rss;
	if (rss >= st->reported_rss + cfg.rss_step || rss + cfg.rss_step <= st->reported_rss) {
		bool up = rss > st->reported_rss;
		st->reported_rss = rss;
		send_rss(pid, st, rss, up);
	}
	return pages;
}

/* A tracked task created a process or a thread: start tracking a new process,
 * and reserve its fork event with everything but the comm, which the caller
 * fills before submit(e, WAKE_LAZY). NULL if the ring buffer is full. */
static __always_inline struct swamp_ev_fork *on_new_task(__u32 pid, __u32 tid, __u32 ppid)
{
	bool thread = pid != tid;
	__u32 flags = thread ? SWAMP_FORK_THREAD : 0;

	if (!thread) {
		struct swamp_task_state st = {};
		st.ppid = ppid;
		/* a stale entry of a reused pid is overwritten, not counted again */
		if (bpf_map_update_elem(&tasks, &pid, &st, BPF_NOEXIST) == 0)
			__sync_fetch_and_add(&ntasks, 1);
		else if (bpf_map_update_elem(&tasks, &pid, &st, BPF_EXIST)) {
			count_stat(SWAMP_STAT_MAP_FULL);
			flags |= SWAMP_FORK_UNTRACKED; /* userspace must not count on it */
		}
		__sync_fetch_and_add(&track_gen, 1);
	}

	struct swamp_ev_fork *e = reserve(sizeof(*e));
	if (!e)
		return NULL;
	fill_hdr(&e->hdr, SWAMP_EV_FORK, sizeof(*e));
	e->pid = pid;
	e->tid = tid;
	e->ppid = ppid;
	e->flags = flags;
	return e;
}

#endif
