/* Kernel drift, kept in one file: layouts that changed between the kernels
 * swamp-bpf supports (5.8 .. 6.18+). Every field is read through CO-RE, so the
 * same object loads on all of them; the committed vmlinux.h only has to
 * compile, not match the running kernel. */
#ifndef SWAMP_COMPAT_BPF_H
#define SWAMP_COMPAT_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include "events.h"

/* Up to 6.1: mm->rss_stat is a struct of atomic_long_t counters. */
struct mm_rss_stat___old {
	atomic_long_t count[SWAMP_NR_MM_COUNTERS];
} __attribute__((preserve_access_index));

struct mm_struct___old {
	struct mm_rss_stat___old rss_stat;
} __attribute__((preserve_access_index));

/* From 6.2: mm->rss_stat is an array of percpu_counter; .count is the global
 * part, off by at most nr_cpus * batch pages, far below our 16 MiB step. */
struct percpu_counter___new {
	s64 count;
} __attribute__((preserve_access_index));

struct mm_struct___new {
	struct percpu_counter___new rss_stat[SWAMP_NR_MM_COUNTERS];
} __attribute__((preserve_access_index));

/* mm->owner exists only with CONFIG_MEMCG. */
struct mm_struct___owner {
	struct task_struct *owner;
} __attribute__((preserve_access_index));

/* Reading kernel memory: tp_btf programs get BTF-typed pointers and may load
 * through them directly (a plain load, a few ns); raw_tp programs must use
 * bpf_probe_read_kernel (a helper call each). `direct` is a compile-time
 * constant in every caller, so each program holds one kind only. */
#define KREAD(direct, ptr, field) ((direct) ? (ptr)->field : BPF_CORE_READ(ptr, field))

/* One mm counter, in pages, never negative. The layout changed in the same
 * 6.2 commit that dropped rss_stat's `count` argument, so each rss_stat
 * program variant is compiled for exactly one layout (a runtime branch lets
 * clang hoist the other layout's CO-RE relocation, which then fails to load).
 * Constant indices: CO-RE relocates them with the running kernel's element
 * size (a variable index would use our local struct's size). */
/* The old layout is always read with a helper: up to 6.1 the verifier cannot
 * walk a direct load through an array of a typedef'd struct ("Type
 * 'atomic_long_t' is not a struct", seen on Debian's arm64 6.1 with tp_btf). */
#define MM_COUNTER(direct, percpu, mm, i)                                                \
	((percpu) ? KREAD(direct, (struct mm_struct___new *)(mm), rss_stat[i].count)        \
		  : BPF_CORE_READ((struct mm_struct___old *)(mm), rss_stat.count[i].counter))

static __always_inline __u64 mm_counter_pages(struct mm_struct *mm, int member, bool percpu, bool direct)
{
	long v;

	switch (member) {
	case 0: v = MM_COUNTER(direct, percpu, mm, 0); break;
	case 1: v = MM_COUNTER(direct, percpu, mm, 1); break;
	case 2: v = MM_COUNTER(direct, percpu, mm, 2); break;
	case 3: v = MM_COUNTER(direct, percpu, mm, 3); break;
	default: v = 0;
	}
	return v > 0 ? v : 0;
}

/* The task an mm belongs to: rss_stat also fires from reclaim, in the context
 * of whichever task is reclaiming, so `current` is not the owner. */
static __always_inline struct task_struct *mm_owner(struct mm_struct *mm, bool direct)
{
	if (bpf_core_field_exists(((struct mm_struct___owner *)0)->owner))
		return KREAD(direct, (struct mm_struct___owner *)mm, owner);
	/* no memcg: only attribute the current task's own mm */
	struct task_struct *cur = (void *)bpf_get_current_task();
	return BPF_CORE_READ(cur, mm) == mm ? cur : NULL;
}

#endif
