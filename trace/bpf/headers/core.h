/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * core.h: the few kernel types the rawns tracer reads, written by hand.
 *
 * Every struct carries preserve_access_index, so clang emits a CO-RE
 * relocation for each field access and the loader (cilium/ebpf) rewrites the
 * offsets against the running kernel's BTF. Only the fields used are
 * declared; their order and the padding here do not matter. This replaces a
 * 2.8 MB generated vmlinux.h and keeps the object independent of the kernel
 * it was compiled on (offsets differ between 5.10, 6.1 and 6.18).
 */
#ifndef RAWNS_CORE_H
#define RAWNS_CORE_H

typedef unsigned char __u8;
typedef signed char __s8;
typedef unsigned short __u16;
typedef short __s16;
typedef unsigned int __u32;
typedef int __s32;
typedef unsigned long long __u64;
typedef long long __s64;
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
typedef __s64 s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef _Bool bool;
enum { false = 0, true = 1 };

/* uapi/linux/bpf.h values needed by bpf_helpers.h users. */
enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_RINGBUF = 27,
};
enum { BPF_ANY = 0 };

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

/*
 * Since 6.18 ns_id sits in an anonymous struct inside an anonymous union;
 * CO-RE matches members by name through anonymous members, so a flat local
 * declaration is enough. Older kernels lack it: guard with
 * bpf_core_field_exists().
 */
struct ns_common {
	unsigned int inum;
	u64 ns_id;
};

struct new_utsname {
	char nodename[65];
};

struct uts_namespace {
	struct new_utsname name;
	struct ns_common ns;
};
struct ipc_namespace { struct ns_common ns; };
struct mnt_namespace { struct ns_common ns; };
struct net { struct ns_common ns; };
struct cgroup_namespace { struct ns_common ns; };
struct time_namespace { struct ns_common ns; };
struct user_namespace { struct ns_common ns; };
struct pid_namespace {
	unsigned int level;
	struct ns_common ns;
};

struct nsproxy {
	struct uts_namespace *uts_ns;
	struct ipc_namespace *ipc_ns;
	struct mnt_namespace *mnt_ns;
	struct pid_namespace *pid_ns_for_children;
	struct net *net_ns;
	struct time_namespace *time_ns;
	struct time_namespace *time_ns_for_children;
	struct cgroup_namespace *cgroup_ns;
};

struct upid {
	int nr;
	struct pid_namespace *ns;
};

struct pid {
	unsigned int level;
	struct upid numbers[1];
};

/*
 * Credentials (include/linux/cred.h). kuid_t and kgid_t wrap the global
 * id: the value in the initial user namespace.
 */
typedef struct { unsigned int val; } kuid_t;
typedef struct { unsigned int val; } kgid_t;

/*
 * A capability set: one u64 from Linux 6.3 (this declaration), two u32
 * before (struct kernel_cap_struct, read through struct cred___old). Both
 * are 8 bytes at the field's offset; which one the kernel has is asked with
 * bpf_core_field_exists on `val`.
 */
typedef struct { u64 val; } kernel_cap_t;
struct kernel_cap_struct { u32 cap[2]; };

struct group_info {
	int ngroups;
	kgid_t gid[0];
};

struct cred {
	kuid_t uid, euid, suid, fsuid;
	kgid_t gid, egid, sgid, fsgid;
	unsigned int securebits;
	kernel_cap_t cap_inheritable, cap_permitted, cap_effective, cap_bset, cap_ambient;
	struct user_namespace *user_ns;
	struct group_info *group_info;
};

/* struct cred before 6.3: the same sets as two u32 each. */
struct cred___old {
	struct kernel_cap_struct cap_inheritable, cap_permitted, cap_effective, cap_bset, cap_ambient;
};

/* The filesystem side: a root, a mount, a superblock, an inode. */
struct file_system_type { const char *name; };
struct super_block {
	unsigned int s_dev; /* dev_t: major<<20 | minor, not stat's st_dev */
	struct file_system_type *s_type;
};
struct inode {
	unsigned short i_mode;
	kuid_t i_uid;
	kgid_t i_gid;
	unsigned long i_ino;
	struct super_block *i_sb;
};
struct dentry {
	struct inode *d_inode;
	struct super_block *d_sb;
};
struct vfsmount {
	struct dentry *mnt_root;
	struct super_block *mnt_sb;
	int mnt_flags;
};
/* fs/mount.h: the vfsmount is embedded; container_of by its offset. */
struct mount {
	struct vfsmount mnt;
	struct mnt_namespace *mnt_ns;
	int mnt_id;
};
struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
};
struct fs_struct { struct path root; };
struct file {
	struct path f_path;
	struct inode *f_inode;
};

/*
 * cgroups: each css_set points at one css per v1 controller (subsys[],
 * indexed by enum cgroup_subsys_id, whose values differ between kernels:
 * read with bpf_core_enum_value) and at its cgroup2 cgroup (dfl_cgrp).
 * kernfs_node.id is what stat(2) of the cgroup's directory shows as inode.
 */
struct kernfs_node { u64 id; };
struct cgroup;
struct cgroup_subsys_state {
	struct cgroup *cgroup;
	struct cgroup_subsys_state *parent;
};
struct cgroup {
	struct cgroup_subsys_state self;
	struct kernfs_node *kn;
};
struct css_set {
	struct cgroup_subsys_state *subsys[1];
	struct cgroup *dfl_cgrp;
};
enum cgroup_subsys_id {
	cpuset_cgrp_id,
	cpu_cgrp_id,
	memory_cgrp_id,
	pids_cgrp_id,
	CGROUP_SUBSYS_COUNT,
};

struct rlimit {
	unsigned long rlim_cur;
	unsigned long rlim_max;
};
struct signal_struct { struct rlimit rlim[16]; };

typedef struct { int counter; } atomic_t;
struct seccomp {
	int mode;
	atomic_t filter_count; /* 5.9+ */
};

struct task_struct {
	int pid;
	int tgid;
	struct task_struct *real_parent;
	struct pid *thread_pid;
	const struct cred *cred;
	char comm[16];
	struct nsproxy *nsproxy;
	struct fs_struct *fs;
	struct css_set *cgroups;
	struct signal_struct *signal;
	struct seccomp seccomp;
	unsigned long atomic_flags;
};

struct linux_binprm {
	const char *filename;
	struct file *file;
};

/* Classic tracepoint sched/sched_process_exec: filename is a __data_loc. */
struct trace_event_raw_sched_process_exec {
	u32 __data_loc_filename;
	int pid;
	int old_pid;
};

/* Syscall argument registers, one flavour per architecture (see trace.c). */
struct pt_regs___x86 {
	unsigned long di;
	unsigned long si;
	unsigned long dx;
	unsigned long r10;
};
struct pt_regs___arm64 {
	u64 orig_x0;
	u64 regs[31];
};

#pragma clang attribute pop

/* Only used with bpf_probe_read_user, never relocated: a uapi struct. */
struct clone_args_head {
	u64 flags;
};

#endif /* RAWNS_CORE_H */
