//go:build ignore

// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * trace.c: what the kernel holds about a process's namespaces.
 *
 * Two users share this object:
 *  - `rawns run --trace` loads one exec program with target_tgid set: it
 *    reports the execs of that process's descendants only, filtered here so a
 *    busy host's other execs cost a few loads and a compare;
 *  - `rawns trace` loads the exec program with target_tgid == 0 (report execs
 *    in any non-initial PID namespace) plus the syscall and task_newtask
 *    programs that see namespaces being created, joined and renamed.
 *
 * Everything is read with CO-RE (headers/core.h), so one object serves every
 * kernel with BTF; fields that appeared late (ns_common.ns_id in 6.18,
 * nsproxy->time_ns in 5.6) are guarded with bpf_core_field_exists().
 */
#include "headers/core.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char __license[] SEC("license") = "Dual MIT/GPL";

/* Namespace kinds, in the order of trace.Kind in Go. */
enum {
	K_UTS,
	K_IPC,
	K_MNT,
	K_NET,
	K_PID,
	K_PID_FOR_CHILDREN,
	K_CGROUP,
	K_USER,
	K_TIME,
	K_TIME_FOR_CHILDREN,
	NKINDS,
};

/* Event types, in the order of trace.EventType in Go. */
enum {
	EV_EXEC = 1,
	EV_CLONE,
	EV_UNSHARE,
	EV_SETNS,
	EV_SETHOSTNAME,
};

#define CLONE_NEWTIME   0x00000080ULL
#define CLONE_NEWNS     0x00020000ULL
#define CLONE_NEWCGROUP 0x02000000ULL
#define CLONE_NEWUTS    0x04000000ULL
#define CLONE_NEWIPC    0x08000000ULL
#define CLONE_NEWUSER   0x10000000ULL
#define CLONE_NEWPID    0x20000000ULL
#define CLONE_NEWNET    0x40000000ULL
#define CLONE_NS_MASK (CLONE_NEWTIME | CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | \
		       CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

/* How far up real_parent the tree filter looks. */
#define MAX_DEPTH 8

struct nsid {
	u64 inum; /* ns_common.inum: what stat(2) of /proc/PID/ns/KIND shows */
	u64 id;   /* ns_common.ns_id: never reused; 0 where the kernel lacks it */
};

struct event {
	u32 type;      /* EV_* */
	u32 tgid;      /* host pid */
	u32 tid;       /* host tid */
	u32 nspid;     /* tgid in the task's active PID namespace */
	u32 level;     /* nesting level of that PID namespace, 0 = initial */
	u32 child_tid; /* EV_CLONE: the new task, host tid */
	s64 ret;       /* syscall return value (EV_UNSHARE, EV_SETNS, EV_SETHOSTNAME) */
	u64 flags;     /* clone/unshare flags, setns nstype */
	s64 arg;       /* setns: fd */
	char comm[16];
	char nodename[65];
	char filename[256]; /* EV_EXEC */
	struct nsid before[NKINDS]; /* caller before the syscall; EV_CLONE: the parent */
	struct nsid ns[NKINDS];     /* at exec; after the syscall; EV_CLONE: the child */
};

/*
 * What the kernel holds for the rest of the container at exec, besides the
 * namespaces: the root, the cgroups, the credentials, the capability sets,
 * seccomp and no_new_privs, the rlimits, and the file executed. `have` says
 * which groups this kernel let the program read (P_*); a group whose bit is
 * clear is "not readable on this kernel", and its fields are zero, never a
 * guess. Only exec events carry it (struct exec_event), so that the
 * watcher's syscall events stay as small as they were.
 */
enum {
	P_ROOT = 1 << 0,      /* root_* */
	P_CGROUP = 1 << 1,    /* cgroup_v2 */
	P_CRED = 1 << 2,      /* uid..fsgid, securebits */
	P_GROUPS = 1 << 3,    /* ngroups, groups */
	P_CAPS = 1 << 4,      /* cap_* */
	P_SECCOMP = 1 << 5,   /* seccomp_mode */
	P_SECCOMP_N = 1 << 6, /* seccomp_filters (5.9+) */
	P_NNP = 1 << 7,       /* nnp */
	P_RLIMITS = 1 << 8,   /* rlim */
	P_FILE = 1 << 9,      /* file_* */
	/* P_CGROUP_V1 << i: cgroup_v1[i], a v1 controller's cgroup (V1_*) */
	P_CGROUP_V1 = 1 << 10,
};

/* The v1 controllers whose cgroup is reported, in cgroup_v1[] order. */
enum { V1_CPUSET, V1_CPU, V1_MEMORY, V1_PIDS, NV1 };

/* root_flags */
#define ROOT_MOUNT_ROOT 1 /* the root dentry is its mount's root */

/* How many supplementary groups are copied; ngroups is always the count. */
#define NGROUPS 16
#define NRLIMITS 16

struct rlim {
	u64 cur;
	u64 max;
};

struct proof {
	u32 have; /* P_* */
	/* root: task->fs->root, its mount and superblock */
	s32 root_mnt_id;  /* struct mount.mnt_id: /proc/PID/mountinfo's first field */
	u64 root_ino;     /* root.dentry->d_inode->i_ino */
	u32 root_dev;     /* root.dentry->d_sb->s_dev: major<<20 | minor */
	u32 root_flags;   /* ROOT_* */
	struct nsid root_mntns; /* the mount's namespace */
	char root_fstype[16];   /* the superblock's file_system_type name */
	/* cgroups: kernfs node ids (the directories' inode numbers) */
	u64 cgroup_v2;         /* cgroups->dfl_cgrp */
	u64 cgroup_v1[NV1];    /* cgroups->subsys[X_cgrp_id]->cgroup */
	/* credentials, global ids (the initial user namespace's view) */
	u32 uid, euid, suid, fsuid;
	u32 gid, egid, sgid, fsgid;
	u32 securebits;
	s32 ngroups;
	u32 groups[NGROUPS]; /* the first NGROUPS, sorted as the kernel keeps them */
	u64 cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	/* seccomp and no_new_privs */
	s32 seccomp_mode;    /* 0 off, 1 strict, 2 filter */
	s32 seccomp_filters; /* filters attached, inherited ones included */
	u32 nnp;             /* atomic_flags bit PFA_NO_NEW_PRIVS */
	u32 pad;
	struct rlim rlim[NRLIMITS]; /* signal->rlim[], by RLIMIT_* */
	/* the file executed: bprm->file */
	u32 file_mode;
	u32 file_uid;
	u32 file_gid;
	u32 file_mnt_flags; /* its mount's mnt_flags (MNT_NOSUID = 1) */
};

struct exec_event {
	struct event ev;
	struct proof proof;
};

/*
 * Pending syscall, from sys_enter to sys_exit, keyed by host tid. A thread
 * killed inside the call never reaches the exit hook and leaves its entry
 * behind, so the table is an LRU hash: such leftovers are evicted instead of
 * filling it up for the rest of a long watch.
 */
struct pending {
	u32 type;
	u32 pad;
	u64 flags;
	s64 arg;
	struct nsid before[NKINDS];
};

/*
 * Set by the loader before load (.rodata is frozen, the verifier prunes the
 * dead branches). target_tgid: 0 = watcher mode.
 */
volatile const u32 target_tgid = 0;
volatile const s64 nr_unshare = -1;
volatile const s64 nr_setns = -1;
volatile const s64 nr_sethostname = -1;
volatile const u32 arch_arm64 = 0;
/*
 * Watcher filters (rawns trace --pid, --cgroup), 0 = none: the events of
 * filter_tgid and its descendants; of the tasks in the cgroup whose kernfs
 * id is filter_cgroup, or below it, in cgroup2 (filter_cgroup_v1 < 0) or
 * in the hierarchy of the v1 controller V1_X = filter_cgroup_v1.
 */
volatile const u32 filter_tgid = 0;
volatile const u64 filter_cgroup = 0;
volatile const s32 filter_cgroup_v1 = -1;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	/*
	 * Records are a struct event, or a struct exec_event for EV_EXEC;
	 * the type is for bpf2go (-type), the ring buffer ignores it.
	 */
	__type(value, struct exec_event);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, struct pending);
} pending SEC(".maps");

/*
 * Events lost, per CPU: a full ring buffer (bpf_ringbuf_reserve failed) or a
 * syscall whose entry could not be recorded in pending. The
 * reader sums the CPUs' counters and reports the growth (rawns trace: a
 * "dropped" line). Per CPU, so that counting costs no shared cache line.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} drops SEC(".maps");

static __always_inline void count_drop(void)
{
	u32 zero = 0;
	u64 *n = bpf_map_lookup_elem(&drops, &zero);

	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline void put(struct nsid *out, const struct ns_common *ns)
{
	out->inum = BPF_CORE_READ(ns, inum);
	if (bpf_core_field_exists(ns->ns_id))
		out->id = BPF_CORE_READ(ns, ns_id);
	else
		out->id = 0;
}

/*
 * The active PID namespace and the pid in it:
 * task->thread_pid->numbers[thread_pid->level]. nsproxy->pid_ns_for_children
 * is where the task's *children* go, which differs after unshare(CLONE_NEWPID)
 * or setns(CLONE_NEWPID). The index is variable, so the address is computed
 * from relocated offsets rather than through the typed array.
 */
static __always_inline struct pid_namespace *active_pidns(struct task_struct *task, u32 *nr, u32 *level)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	struct pid_namespace *pns = 0;
	unsigned int lvl = 0;
	int n = 0;

	if (!pid)
		return 0;
	lvl = BPF_CORE_READ(pid, level);
	const void *up = (const void *)pid + bpf_core_field_offset(struct pid, numbers) +
			 (u64)lvl * bpf_core_type_size(struct upid);
	bpf_probe_read_kernel(&n, sizeof(n), up + bpf_core_field_offset(struct upid, nr));
	bpf_probe_read_kernel(&pns, sizeof(pns), up + bpf_core_field_offset(struct upid, ns));
	*nr = n;
	*level = lvl;
	return pns;
}

/* Fill every kind for task; returns the UTS namespace for the nodename. */
static __always_inline struct uts_namespace *read_ns(struct task_struct *task, struct nsid *out,
						     u32 *nspid, u32 *level)
{
	struct nsproxy *nsp = BPF_CORE_READ(task, nsproxy);
	struct pid_namespace *pns;
	struct uts_namespace *uts = 0;
	u32 nr = 0, lvl = 0;

	pns = active_pidns(task, &nr, &lvl);
	if (pns)
		put(&out[K_PID], &pns->ns);
	if (nspid)
		*nspid = nr;
	if (level)
		*level = lvl;
	put(&out[K_USER], &BPF_CORE_READ(task, cred, user_ns)->ns);
	/* nsproxy is NULL for a task that is exiting. */
	if (!nsp)
		return 0;
	uts = BPF_CORE_READ(nsp, uts_ns);
	put(&out[K_UTS], &uts->ns);
	put(&out[K_IPC], &BPF_CORE_READ(nsp, ipc_ns)->ns);
	put(&out[K_MNT], &BPF_CORE_READ(nsp, mnt_ns)->ns);
	put(&out[K_NET], &BPF_CORE_READ(nsp, net_ns)->ns);
	put(&out[K_PID_FOR_CHILDREN], &BPF_CORE_READ(nsp, pid_ns_for_children)->ns);
	put(&out[K_CGROUP], &BPF_CORE_READ(nsp, cgroup_ns)->ns);
	if (bpf_core_field_exists(nsp->time_ns)) {
		put(&out[K_TIME], &BPF_CORE_READ(nsp, time_ns)->ns);
		put(&out[K_TIME_FOR_CHILDREN], &BPF_CORE_READ(nsp, time_ns_for_children)->ns);
	}
	return uts;
}

static __always_inline void fill(struct event *e, struct task_struct *task, struct nsid *out)
{
	struct uts_namespace *uts;

	e->tgid = BPF_CORE_READ(task, tgid);
	e->tid = BPF_CORE_READ(task, pid);
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	uts = read_ns(task, out, &e->nspid, &e->level);
	if (uts)
		bpf_probe_read_kernel_str(&e->nodename, sizeof(e->nodename), &uts->name.nodename);
}

/*
 * In the target's tree? A bounded walk up real_parent (the forker, not a
 * ptracer). The target itself does not count: rawns never execs, and its own
 * helpers should not look like the command.
 */
static __always_inline bool in_tree(struct task_struct *task)
{
	struct task_struct *p = task;

#pragma unroll
	for (int i = 0; i < MAX_DEPTH; i++) {
		p = BPF_CORE_READ(p, real_parent);
		if (!p)
			return false;
		u32 tgid = BPF_CORE_READ(p, tgid);
		if (tgid == target_tgid)
			return true;
		if (tgid <= 1)
			return false;
	}
	return false;
}

static __always_inline int v1_index(int which);
static __always_inline struct cgroup_subsys_state *css_of(struct css_set *cs, int idx);

/* How far up real_parent and up the cgroup tree the watcher's filters look. */
#define FILTER_DEPTH 32

/* task is filter_tgid or one of its descendants (real_parent chain). */
static __always_inline bool descends(struct task_struct *task)
{
	struct task_struct *p = task;

	for (int i = 0; i < FILTER_DEPTH; i++) {
		u32 tgid = BPF_CORE_READ(p, tgid);
		if (tgid == filter_tgid)
			return true;
		if (tgid <= 1)
			return false;
		p = BPF_CORE_READ(p, real_parent);
		if (!p)
			return false;
	}
	return false;
}

/* task's cgroup is filter_cgroup or below it (walking css->parent). */
static __always_inline bool in_cgroup(struct task_struct *task)
{
	struct css_set *cs = BPF_CORE_READ(task, cgroups);
	struct cgroup_subsys_state *css;

	if (!cs)
		return false;
	if (filter_cgroup_v1 < 0) {
		struct cgroup *cg = BPF_CORE_READ(cs, dfl_cgrp);
		if (!cg)
			return false;
		css = (void *)cg + bpf_core_field_offset(struct cgroup, self);
	} else {
		css = css_of(cs, v1_index(filter_cgroup_v1));
	}
	for (int i = 0; i < FILTER_DEPTH && css; i++) {
		if (BPF_CORE_READ(css, cgroup, kn, id) == filter_cgroup)
			return true;
		css = BPF_CORE_READ(css, parent);
	}
	return false;
}

/* The watcher's filters, in the kernel: everything passes without any. */
static __always_inline bool watched(struct task_struct *task)
{
	if (filter_tgid && !descends(task))
		return false;
	if (filter_cgroup && !in_cgroup(task))
		return false;
	return true;
}

static __always_inline bool wanted_exec(struct task_struct *task)
{
	if (target_tgid)
		return in_tree(task);
	/* Watcher: execs inside a non-initial PID namespace, then the filters. */
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	return pid && BPF_CORE_READ(pid, level) > 0 && watched(task);
}

/*
 * ---- the proof: the rest of what the kernel holds at exec ----
 *
 * Each group is read with BPF_CORE_READ_INTO, whose result is the last
 * read's error: a NULL or bad pointer on the way makes the final read fail.
 * A group's P_* bit is set only when every read of it succeeded and every
 * field it needs exists in this kernel (bpf_core_field_exists), so a bit
 * left clear means "not readable on this kernel", never a zero taken for a
 * value.
 */

/* One capability set, whichever kernel_cap_t this kernel has. */
static __always_inline int read_cap(u64 *out, const struct cred *c, int which)
{
	int err = 0;

	if (bpf_core_field_exists(c->cap_effective.val)) {
		switch (which) {
		case 0: err = BPF_CORE_READ_INTO(out, c, cap_inheritable.val); break;
		case 1: err = BPF_CORE_READ_INTO(out, c, cap_permitted.val); break;
		case 2: err = BPF_CORE_READ_INTO(out, c, cap_effective.val); break;
		case 3: err = BPF_CORE_READ_INTO(out, c, cap_bset.val); break;
		default: err = BPF_CORE_READ_INTO(out, c, cap_ambient.val); break;
		}
		return err;
	}
	const struct cred___old *o = (const void *)c;
	u32 w[2] = {};
	if (!bpf_core_field_exists(o->cap_effective.cap))
		return -1;
	switch (which) {
	case 0: err = BPF_CORE_READ_INTO(&w, o, cap_inheritable.cap); break;
	case 1: err = BPF_CORE_READ_INTO(&w, o, cap_permitted.cap); break;
	case 2: err = BPF_CORE_READ_INTO(&w, o, cap_effective.cap); break;
	case 3: err = BPF_CORE_READ_INTO(&w, o, cap_bset.cap); break;
	default: err = BPF_CORE_READ_INTO(&w, o, cap_ambient.cap); break;
	}
	*out = (u64)w[0] | (u64)w[1] << 32;
	return err;
}

/*
 * The v1 controller's cgroup id of task, for V1_X. The index into
 * css_set.subsys[] is the kernel's enum cgroup_subsys_id value, relocated
 * (it differs between kernels, and a controller built out has none).
 */
static __always_inline int v1_index(int which)
{
	switch (which) {
	case V1_CPUSET:
		return bpf_core_enum_value_exists(enum cgroup_subsys_id, cpuset_cgrp_id) ?
			bpf_core_enum_value(enum cgroup_subsys_id, cpuset_cgrp_id) : -1;
	case V1_CPU:
		return bpf_core_enum_value_exists(enum cgroup_subsys_id, cpu_cgrp_id) ?
			bpf_core_enum_value(enum cgroup_subsys_id, cpu_cgrp_id) : -1;
	case V1_MEMORY:
		return bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id) ?
			bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id) : -1;
	default:
		return bpf_core_enum_value_exists(enum cgroup_subsys_id, pids_cgrp_id) ?
			bpf_core_enum_value(enum cgroup_subsys_id, pids_cgrp_id) : -1;
	}
}

/* css_set.subsys[idx], the address computed from relocated offsets. */
static __always_inline struct cgroup_subsys_state *css_of(struct css_set *cs, int idx)
{
	struct cgroup_subsys_state *css = 0;
	int n = bpf_core_enum_value(enum cgroup_subsys_id, CGROUP_SUBSYS_COUNT);

	if (idx < 0 || idx >= n || idx >= 32)
		return 0;
	bpf_probe_read_kernel(&css, sizeof(css), (const void *)cs + bpf_core_field_offset(struct css_set, subsys) +
						      (u64)idx * sizeof(css));
	return css;
}

static __always_inline void read_proof(struct task_struct *task, struct file *file, struct proof *p)
{
	const struct cred *c = BPF_CORE_READ(task, cred);
	int err;

	/* root */
	{
		struct fs_struct *fs = BPF_CORE_READ(task, fs);
		struct vfsmount *vm = BPF_CORE_READ(fs, root.mnt);
		struct dentry *d = BPF_CORE_READ(fs, root.dentry);
		struct mount *m = (void *)vm - bpf_core_field_offset(struct mount, mnt);
		struct dentry *mroot = 0;
		struct mnt_namespace *ns = 0;
		struct super_block *sb = 0;
		const char *fsname = 0;

		err = !fs || !vm || !d;
		err |= BPF_CORE_READ_INTO(&p->root_ino, d, d_inode, i_ino);
		err |= BPF_CORE_READ_INTO(&sb, d, d_sb);
		err |= BPF_CORE_READ_INTO(&p->root_dev, sb, s_dev);
		err |= BPF_CORE_READ_INTO(&fsname, sb, s_type, name);
		err |= BPF_CORE_READ_INTO(&mroot, vm, mnt_root);
		err |= BPF_CORE_READ_INTO(&p->root_mnt_id, m, mnt_id);
		err |= BPF_CORE_READ_INTO(&ns, m, mnt_ns);
		if (fsname)
			bpf_probe_read_kernel_str(&p->root_fstype, sizeof(p->root_fstype), fsname);
		if (ns)
			put(&p->root_mntns, &ns->ns);
		if (mroot == d)
			p->root_flags |= ROOT_MOUNT_ROOT;
		if (!err)
			p->have |= P_ROOT;
	}

	/* cgroups */
	{
		struct css_set *cs = BPF_CORE_READ(task, cgroups);

		if (cs && !BPF_CORE_READ_INTO(&p->cgroup_v2, cs, dfl_cgrp, kn, id))
			p->have |= P_CGROUP;
#pragma unroll
		for (int i = 0; i < NV1; i++) {
			struct cgroup_subsys_state *css = cs ? css_of(cs, v1_index(i)) : 0;
			if (css && !BPF_CORE_READ_INTO(&p->cgroup_v1[i], css, cgroup, kn, id))
				p->have |= P_CGROUP_V1 << i;
		}
	}

	/* credentials */
	if (c) {
		err = BPF_CORE_READ_INTO(&p->uid, c, uid.val);
		err |= BPF_CORE_READ_INTO(&p->euid, c, euid.val);
		err |= BPF_CORE_READ_INTO(&p->suid, c, suid.val);
		err |= BPF_CORE_READ_INTO(&p->fsuid, c, fsuid.val);
		err |= BPF_CORE_READ_INTO(&p->gid, c, gid.val);
		err |= BPF_CORE_READ_INTO(&p->egid, c, egid.val);
		err |= BPF_CORE_READ_INTO(&p->sgid, c, sgid.val);
		err |= BPF_CORE_READ_INTO(&p->fsgid, c, fsgid.val);
		err |= BPF_CORE_READ_INTO(&p->securebits, c, securebits);
		if (!err)
			p->have |= P_CRED;

		struct group_info *gi = BPF_CORE_READ(c, group_info);
		int n = 0;
		if (gi && !BPF_CORE_READ_INTO(&n, gi, ngroups)) {
			const void *gids = (const void *)gi + bpf_core_field_offset(struct group_info, gid);
			p->ngroups = n;
			err = 0;
#pragma unroll
			for (int i = 0; i < NGROUPS; i++) {
				if (i < n)
					err |= bpf_probe_read_kernel(&p->groups[i], sizeof(u32), gids + i * sizeof(u32));
			}
			if (!err)
				p->have |= P_GROUPS;
		}

		err = read_cap(&p->cap_inh, c, 0);
		err |= read_cap(&p->cap_prm, c, 1);
		err |= read_cap(&p->cap_eff, c, 2);
		err |= read_cap(&p->cap_bnd, c, 3);
		err |= read_cap(&p->cap_amb, c, 4);
		if (!err)
			p->have |= P_CAPS;
	}

	/* seccomp and no_new_privs */
	if (!BPF_CORE_READ_INTO(&p->seccomp_mode, task, seccomp.mode))
		p->have |= P_SECCOMP;
	if (bpf_core_field_exists(task->seccomp.filter_count) &&
	    !BPF_CORE_READ_INTO(&p->seccomp_filters, task, seccomp.filter_count.counter))
		p->have |= P_SECCOMP_N;
	{
		unsigned long fl = 0;
		if (!BPF_CORE_READ_INTO(&fl, task, atomic_flags)) {
			p->nnp = fl & 1; /* PFA_NO_NEW_PRIVS is bit 0 */
			p->have |= P_NNP;
		}
	}

	/* rlimits: the whole array, one read */
	{
		struct signal_struct *sig = BPF_CORE_READ(task, signal);
		if (sig && bpf_core_field_size(sig->rlim) == sizeof(p->rlim) &&
		    !bpf_probe_read_kernel(&p->rlim, sizeof(p->rlim),
					   (const void *)sig + bpf_core_field_offset(struct signal_struct, rlim)))
			p->have |= P_RLIMITS;
	}

	/* the file executed */
	if (file) {
		struct vfsmount *fm = BPF_CORE_READ(file, f_path.mnt);
		u16 mode = 0;
		err = BPF_CORE_READ_INTO(&mode, file, f_inode, i_mode);
		err |= BPF_CORE_READ_INTO(&p->file_uid, file, f_inode, i_uid.val);
		err |= BPF_CORE_READ_INTO(&p->file_gid, file, f_inode, i_gid.val);
		err |= BPF_CORE_READ_INTO(&p->file_mnt_flags, fm, mnt_flags);
		p->file_mode = mode;
		if (!err)
			p->have |= P_FILE;
	}
}

/* filename: kernel pointer (tp_btf, raw_tp) or NULL with tp_filename set. */
static __always_inline int on_exec(struct task_struct *task, const char *filename,
				   struct file *file, const void *tp_ctx)
{
	struct exec_event *x;
	struct event *e;

	if (!wanted_exec(task))
		return 0;
	x = bpf_ringbuf_reserve(&events, sizeof(*x), 0);
	if (!x) {
		count_drop();
		return 0;
	}
	/*
	 * A ring buffer record is not zeroed. clang expands a memset inline
	 * up to 128 stores and otherwise emits a call the BPF target lacks;
	 * it merges adjacent memsets, so the proof is zeroed with volatile
	 * stores, which it leaves alone.
	 */
	__builtin_memset(&x->ev, 0, sizeof(x->ev));
	{
		volatile u64 *q = (volatile u64 *)&x->proof;
		_Static_assert(sizeof(struct proof) % 8 == 0, "proof is whole u64s");
#pragma unroll
		for (int i = 0; i < (int)(sizeof(struct proof) / 8); i++)
			q[i] = 0;
	}
	e = &x->ev;
	e->type = EV_EXEC;
	fill(e, task, e->ns);
	read_proof(task, file, &x->proof);
	if (filename) {
		bpf_probe_read_kernel_str(&e->filename, sizeof(e->filename), filename);
	} else if (tp_ctx) {
		const struct trace_event_raw_sched_process_exec *tp = tp_ctx;
		u32 loc = BPF_CORE_READ(tp, __data_loc_filename);
		bpf_probe_read_kernel_str(&e->filename, sizeof(e->filename),
					  (const char *)tp_ctx + (loc & 0xffff));
	}
	bpf_ringbuf_submit(x, 0);
	return 0;
}

/* sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) */
SEC("tp_btf/sched_process_exec")
int exec_btf(u64 *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx[0];
	struct linux_binprm *bprm = (struct linux_binprm *)ctx[2];

	return on_exec(task, BPF_CORE_READ(bprm, filename), BPF_CORE_READ(bprm, file), 0);
}

SEC("raw_tp/sched_process_exec")
int exec_raw(u64 *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx[0];
	struct linux_binprm *bprm = (struct linux_binprm *)ctx[2];

	return on_exec(task, BPF_CORE_READ(bprm, filename), BPF_CORE_READ(bprm, file), 0);
}

SEC("tracepoint/sched/sched_process_exec")
int exec_tp(void *ctx)
{
	return on_exec((struct task_struct *)bpf_get_current_task(), 0, 0, ctx);
}

/* ---- watcher ---- */

/* Syscall argument n (0-based, n < 4) from the user registers at sys_enter. */
static __always_inline u64 sys_arg(const void *regs, int n)
{
	u64 v = 0;

	if (arch_arm64) {
		const struct pt_regs___arm64 *r = regs;
		if (n == 0)
			v = BPF_CORE_READ(r, orig_x0);
		else
			v = BPF_CORE_READ(r, regs[n]);
	} else {
		const struct pt_regs___x86 *r = regs;
		switch (n) {
		case 0: v = BPF_CORE_READ(r, di); break;
		case 1: v = BPF_CORE_READ(r, si); break;
		case 2: v = BPF_CORE_READ(r, dx); break;
		default: v = BPF_CORE_READ(r, r10); break;
		}
	}
	return v;
}

/*
 * The syscall half of the watcher: enter() records the caller's namespaces
 * per thread when an unshare, setns or sethostname begins, leave() reports
 * them with the result and the namespaces after. Two sets of hooks call
 * them (trace/bpf/watch.go picks one):
 *  - fentry/fexit on __x64_sys_X: a program runs for these three calls only,
 *    and nothing else changes for any other system call;
 *  - the per-syscall tracepoints syscalls/sys_{enter,exit}_{unshare,setns,
 *    sethostname} (CONFIG_FTRACE_SYSCALLS): a program runs only for these
 *    three calls, and the kernel has decoded the arguments for any
 *    architecture; but they hang on the one sys_enter/sys_exit tracepoint,
 *    which sends every system call of every process through the slow
 *    syscall path (docs/trace.md, the cost section);
 *  - the fallback raw_tp/sys_enter and raw_tp/sys_exit: a program runs on
 *    every system call of every process and picks the three by number.
 */
static __always_inline int enter(u32 type, u64 flags, s64 arg)
{
	struct pending p = {};
	u32 tid;

	if (!watched((struct task_struct *)bpf_get_current_task()))
		return 0;
	p.type = type;
	p.flags = flags;
	p.arg = arg;
	read_ns((struct task_struct *)bpf_get_current_task(), p.before, 0, 0);
	tid = (u32)bpf_get_current_pid_tgid();
	if (bpf_map_update_elem(&pending, &tid, &p, BPF_ANY))
		count_drop();
	return 0;
}

static __always_inline int leave(s64 ret)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct pending *p;
	struct event *e;

	p = bpf_map_lookup_elem(&pending, &tid);
	if (!p)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		__builtin_memset(e, 0, sizeof(*e));
		e->type = p->type;
		e->flags = p->flags;
		e->arg = p->arg;
		e->ret = ret;
		__builtin_memcpy(e->before, p->before, sizeof(e->before));
		fill(e, (struct task_struct *)bpf_get_current_task(), e->ns);
		bpf_ringbuf_submit(e, 0);
	} else {
		count_drop();
	}
	bpf_map_delete_elem(&pending, &tid);
	return 0;
}

/*
 * The context of a per-syscall tracepoint program, as the kernel builds it
 * for BPF (perf_call_bpf_enter/exit in kernel/trace/trace_syscalls.c) and as
 * events/syscalls/sys_enter_unshare/format describes it: 8 bytes of header
 * (for BPF: the pt_regs pointer), int __syscall_nr at 8, then the arguments
 * at 16 as unsigned long each (sys_exit_*: long ret at 16).
 */
struct sys_enter_ctx {
	u64 regs;
	s32 nr;
	u32 pad;
	u64 args[6];
};

struct sys_exit_ctx {
	u64 regs;
	s32 nr;
	u32 pad;
	s64 ret;
};

/* unshare(unsigned long unshare_flags) */
SEC("tracepoint/syscalls/sys_enter_unshare")
int tp_enter_unshare(struct sys_enter_ctx *ctx)
{
	u64 flags = ctx->args[0];

	if (!(flags & CLONE_NS_MASK))
		return 0;
	return enter(EV_UNSHARE, flags, 0);
}

/* setns(int fd, int flags) */
SEC("tracepoint/syscalls/sys_enter_setns")
int tp_enter_setns(struct sys_enter_ctx *ctx)
{
	return enter(EV_SETNS, (u32)ctx->args[1], (s64)(int)ctx->args[0]);
}

/* sethostname(char *name, int len) */
SEC("tracepoint/syscalls/sys_enter_sethostname")
int tp_enter_sethostname(struct sys_enter_ctx *ctx)
{
	return enter(EV_SETHOSTNAME, 0, (s64)ctx->args[1]);
}

/* One program for sys_exit_unshare, sys_exit_setns and sys_exit_sethostname. */
SEC("tracepoint/syscalls/sys_exit")
int tp_exit(struct sys_exit_ctx *ctx)
{
	return leave(ctx->ret);
}

/*
 * fentry/fexit on the syscall entry points, __x64_sys_X(const struct pt_regs
 * *regs) (the loader renames them __arm64_sys_X on arm64): a BPF trampoline
 * patched into these three functions alone, so no other system call pays
 * anything. ctx[0] is regs; for fexit ctx[1] is the return value.
 */
SEC("fentry/__x64_sys_unshare")
int fe_unshare(u64 *ctx)
{
	u64 flags = sys_arg((const void *)ctx[0], 0);

	if (!(flags & CLONE_NS_MASK))
		return 0;
	return enter(EV_UNSHARE, flags, 0);
}

SEC("fentry/__x64_sys_setns")
int fe_setns(u64 *ctx)
{
	const void *regs = (const void *)ctx[0];

	return enter(EV_SETNS, (u32)sys_arg(regs, 1), (s64)(int)sys_arg(regs, 0));
}

SEC("fentry/__x64_sys_sethostname")
int fe_sethostname(u64 *ctx)
{
	return enter(EV_SETHOSTNAME, 0, (s64)sys_arg((const void *)ctx[0], 1));
}

SEC("fexit/__x64_sys_unshare")
int fx_unshare(u64 *ctx)
{
	return leave((s64)ctx[1]);
}

SEC("fexit/__x64_sys_setns")
int fx_setns(u64 *ctx)
{
	return leave((s64)ctx[1]);
}

SEC("fexit/__x64_sys_sethostname")
int fx_sethostname(u64 *ctx)
{
	return leave((s64)ctx[1]);
}

/* sys_enter(struct pt_regs *regs, long id): the fallback. */
SEC("raw_tp/sys_enter")
int watch_enter(u64 *ctx)
{
	const void *regs = (const void *)ctx[0];
	s64 id = (s64)ctx[1];
	u64 flags;

	if (id == nr_unshare) {
		flags = sys_arg(regs, 0);
		if (!(flags & CLONE_NS_MASK))
			return 0;
		return enter(EV_UNSHARE, flags, 0);
	}
	if (id == nr_setns)
		return enter(EV_SETNS, (u32)sys_arg(regs, 1), (s64)(int)sys_arg(regs, 0));
	if (id == nr_sethostname)
		return enter(EV_SETHOSTNAME, 0, (s64)sys_arg(regs, 1));
	return 0;
}

/* sys_exit(struct pt_regs *regs, long ret): the fallback. */
SEC("raw_tp/sys_exit")
int watch_exit(u64 *ctx)
{
	return leave((s64)ctx[1]);
}

/*
 * task_newtask(struct task_struct *task, u64 clone_flags): the end of
 * copy_process, the child's namespaces and struct pid exist, current is the
 * parent. Covers clone, clone3, fork and vfork alike, whatever the syscall
 * number on this architecture.
 */
SEC("raw_tp/task_newtask")
int watch_newtask(u64 *ctx)
{
	struct task_struct *child = (struct task_struct *)ctx[0];
	u64 flags = ctx[1];
	struct event *e;

	if (!(flags & CLONE_NS_MASK))
		return 0;
	/* The parent is watched: then so is the child, its descendant. */
	if (!watched((struct task_struct *)bpf_get_current_task()))
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_drop();
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = EV_CLONE;
	e->flags = flags;
	/* before: the parent (current); ns: the child. */
	fill(e, (struct task_struct *)bpf_get_current_task(), e->before);
	e->child_tid = BPF_CORE_READ(child, pid);
	read_ns(child, e->ns, 0, 0);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
