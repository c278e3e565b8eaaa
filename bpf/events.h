/* The ABI between bpf/swamp.bpf.c and userspace: events sent over the ring
 * buffer. Fixed-width fields only; every event starts with swamp_event_hdr.
 * Userspace decodes these in userspace/source/decode.cpp and nowhere else.
 * Bump SWAMP_ABI_VERSION when a layout changes. */
#ifndef SWAMP_EVENTS_H
#define SWAMP_EVENTS_H

#ifdef __bpf__
/* vmlinux.h already provides __u8 .. __u64 */
#else
#include <linux/types.h>
#endif

#define SWAMP_ABI_VERSION 1

#define SWAMP_COMM_LEN 16
#define SWAMP_MAX_WATCHED 64 /* watched uids, and root names */
#define SWAMP_FILENAME_LEN 128
#define SWAMP_ARGV_LEN 256

/* mm counter indices (the kernel's enum of mm counters); stable since 4.x. */
#define SWAMP_MM_FILEPAGES 0
#define SWAMP_MM_ANONPAGES 1
#define SWAMP_MM_SWAPENTS 2
#define SWAMP_MM_SHMEMPAGES 3
#define SWAMP_NR_MM_COUNTERS 4

enum swamp_event_type {
	SWAMP_EV_EXEC = 1,
	SWAMP_EV_FORK = 2,
	SWAMP_EV_EXIT = 3,
	SWAMP_EV_RSS = 4,
	SWAMP_EV_FAULTS = 5,
};

struct swamp_event_hdr {
	__u32 type; /* enum swamp_event_type */
	__u32 size; /* bytes of the whole event, header included */
	__u64 ts_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
};

#define SWAMP_EXEC_ARGV_TRUNCATED 1u /* the command line was longer than argv[] */
/* A watched root's exec that could not be adopted: the task map was full, so
 * the kernel side follows neither it nor what it forks. */
#define SWAMP_EXEC_UNTRACKED 2u
/* The no-BTF variant cannot read the command line nor the parent of an adopted
 * root: argv[] is empty and ppid may be 0; userspace fills both from /proc. */
#define SWAMP_EXEC_FROM_PROC 4u

/* A tracked process called execve() (or a watched root did, flags say whether it was adopted). */
struct swamp_ev_exec {
	struct swamp_event_hdr hdr;
	__u32 pid; /* tgid */
	__u32 ppid; /* real parent's tgid */
	__u32 argv_len; /* valid bytes in argv[]; arguments are NUL-separated */
	__u32 flags; /* SWAMP_EXEC_* */
	char comm[SWAMP_COMM_LEN];
	char filename[SWAMP_FILENAME_LEN];
	char argv[SWAMP_ARGV_LEN];
};

#define SWAMP_FORK_THREAD 1u
/* The new process could not be tracked (the task map was full): no exec,
 * exit, RSS or fork of it will be reported. */
#define SWAMP_FORK_UNTRACKED 2u

/* A tracked task created a process (or a thread, flags & SWAMP_FORK_THREAD). */
struct swamp_ev_fork {
	struct swamp_event_hdr hdr;
	__u32 pid; /* child's tgid */
	__u32 tid; /* child's thread id (== pid for a new process) */
	__u32 ppid; /* parent's tgid */
	__u32 flags;
	char comm[SWAMP_COMM_LEN];
};

/* The no-BTF variant knows neither the exit status (exit_code is 0) nor the
 * fault counts (min_flt, maj_flt are 0) of a process. */
#define SWAMP_EXIT_STATUS_UNKNOWN 1u

/* The last thread of a tracked process exited. */
struct swamp_ev_exit {
	struct swamp_event_hdr hdr;
	__u32 pid;
	__u32 ppid;
	__u32 exit_code; /* wait status: (code << 8) | signal */
	__u32 flags; /* SWAMP_EXIT_* */
	__u64 peak_rss; /* bytes: the highest resident set this process reached */
	__u64 min_flt; /* minor faults over the process's life (all its threads) */
	__u64 maj_flt; /* major faults over the process's life */
	char comm[SWAMP_COMM_LEN];
};

/* A tracked process's RSS moved by at least one step since the last report. */
struct swamp_ev_rss {
	struct swamp_event_hdr hdr;
	__u32 pid; /* owner of the mm (the reporting task may be a reclaimer) */
	__u32 _pad;
	__u64 rss; /* bytes: anon + file + shmem */
	__u64 anon;
	__u64 file;
	__u64 shmem;
	__u64 swap; /* bytes of this mm in swap */
	__u64 peak_rss;
};

/* Faults of a tracked process since its previous sample; sent only while it faults. */
struct swamp_ev_faults {
	struct swamp_event_hdr hdr;
	__u32 pid;
	__u32 _pad;
	__u64 interval_ns; /* time covered by this sample */
	__u64 min_flt; /* minor faults in the interval */
	__u64 maj_flt; /* major faults in the interval */
};

/* Runtime settings, written by userspace into .rodata before load. */
struct swamp_config {
	__u64 rss_step; /* bytes; an RSS event is sent each time RSS moves this far */
	__u64 fault_interval_ns; /* minimum spacing of fault samples per process */
	__u64 wakeup_bytes; /* wake userspace once this much unread data waits */
	__u64 wake_gap_ns; /* exec/exit wake userspace only if it has not drained this recently */
};

/* Value of the `tasks` map, keyed by tgid: one per tracked process.
 * Userspace seeds the root and its existing descendants with ppid only. */
struct swamp_task_state {
	__u32 ppid;
	__u32 mm_id; /* no-BTF variant: rss_stat's mm_id of its mm, learned from its own updates */
	__u64 counters[4]; /* pages, indexed by the kernel's MM_* counters */
	__u64 reported_rss; /* bytes, at the last RSS event */
	__u64 peak_rss; /* bytes */
	__u64 flt_min; /* faults counted since the last sample */
	__u64 flt_maj;
	__u64 sample_ts;
};

/* The no-BTF variant (bpf/swamp_nobtf.bpf.c): where the fields it reads sit in
 * the classic tracepoints' records, from tracefs' events/<sys>/<name>/format,
 * written by userspace into .rodata before load. Offsets and sizes in bytes. */
struct swamp_tp_field {
	__u32 offset;
	__u32 size; /* 0: the kernel's record has no such field */
};

struct swamp_tp_layout {
	struct swamp_tp_field newtask_pid; /* task:task_newtask, the new task's id */
	struct swamp_tp_field newtask_clone_flags;
	struct swamp_tp_field exec_filename; /* sched:sched_process_exec, a __data_loc string */
	struct swamp_tp_field exit_group_dead; /* sched:sched_process_exit, 6.16+ only */
	struct swamp_tp_field rss_mm_id; /* kmem:rss_stat */
	struct swamp_tp_field rss_curr;
	struct swamp_tp_field rss_member;
	struct swamp_tp_field rss_size; /* bytes of that counter */
};

/* Per-CPU counters in the `stats` map, summed by userspace. */
enum swamp_stat {
	SWAMP_STAT_DROPPED = 0, /* unused: drops are counted in the global `dropped` */
	SWAMP_STAT_MAP_FULL = 1, /* tasks we could not track: the task map was full */
	SWAMP_STAT_EVENTS = 2, /* events sent */
	SWAMP_STAT_MAX = 3,
};

#endif
