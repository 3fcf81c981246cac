/*
 * spawn-c: the C reference of rawns bench, the floor every ratio is read
 * against.
 *
 * It does the job rawns does, with nothing around it: clone3(2) with the
 * namespace flags (vfork-style CLONE_VM|CLONE_VFORK, or fork-style),
 * sethostname(2) in the child, execve(2), and waitpid(2) in the parent. No
 * error pipe, no pidfd, no signal-mask or fd hygiene: the cheapest correct
 * spawn a program can do, so that what rawns adds on top shows as a ratio.
 *
 *   spawn-c [--ns LIST] [--hostname NAME] [--clone vfork|fork]
 *           [--loop N [--parallel P] [--report-fd FD]] [--rss BYTES]
 *           [--] CMD [ARG...]
 *   spawn-c --noop
 *
 * --noop exits at once: the start-up and exit of this static binary alone
 * (the c-empty row of the whole-process view). c-ref minus c-empty is what
 * the spawn itself costs from C, which, added to an empty Go program's
 * start-up and exit, gives the floor of any Go tool (docs/benchmarks.md).
 *
 * Without --loop it spawns CMD once and exits with its status (128+N for a
 * signal), which is what the whole-process view times. With --loop N it
 * spawns N times and writes each spawn's time in nanoseconds, one per line,
 * to FD (default 1) after the last one; that is the in-process view, which
 * must not include this program's own start-up. With --parallel P, P worker
 * processes share the N spawns and one line gives the wall time of all of
 * them. --rss touches that many bytes of private memory first, to show how a
 * large parent changes the cost.
 *
 * Build: cc -O2 -static -o spawn-c spawn.c (a dynamic build works too; static
 * keeps the dynamic loader out of the whole-process figure).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

extern char **environ;

/* struct clone_args of linux/sched.h, CLONE_ARGS_SIZE_VER0 (64 bytes). */
struct clone_args_v0 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

struct job {
	const char *path;
	char **argv;
	const char *host;
	size_t hostlen;
};

static struct job job;

/* The child's stack. A vfork-style child shares our memory, so it needs its
 * own stack; the parent sleeps until exec, so one stack serves every spawn. */
static char child_stack[64 * 1024] __attribute__((aligned(16)));

static void die(const char *what)
{
	fprintf(stderr, "spawn-c: %s: %s\n", what, strerror(errno));
	exit(125);
}

/* child runs between clone and exec: only async-signal-safe calls. */
static int child(void *arg)
{
	struct job *j = arg;
	static const char msg1[] = "spawn-c: child: sethostname failed\n";
	static const char msg2[] = "spawn-c: child: execve failed\n";

	if (j->host && sethostname(j->host, j->hostlen) < 0) {
		write(2, msg1, sizeof msg1 - 1);
		_exit(126);
	}
	execve(j->path, j->argv, environ);
	write(2, msg2, sizeof msg2 - 1);
	_exit(127);
}

/*
 * clone3_run makes the clone3 system call; in the child it calls fn(arg) on
 * the new stack and exits with its result. glibc has no clone3 wrapper, and
 * syscall(2) cannot be used for a CLONE_VM child: it would return into a
 * stack frame the two processes share. The child keeps fn and arg in
 * callee-saved registers, which the kernel copies.
 */
static long clone3_run(struct clone_args_v0 *ca, int (*fn)(void *), void *arg)
{
#if defined(__x86_64__)
	register long rax __asm__("rax") = SYS_clone3;
	register void *rdi __asm__("rdi") = ca;
	register long rsi __asm__("rsi") = sizeof *ca;
	register void *r12 __asm__("r12") = (void *)fn;
	register void *r13 __asm__("r13") = arg;
	__asm__ volatile(
		"syscall\n\t"
		"test %%rax, %%rax\n\t"
		"jnz 1f\n\t"
		"xor %%ebp, %%ebp\n\t"
		"mov %%r13, %%rdi\n\t"
		"call *%%r12\n\t"
		"mov %%eax, %%edi\n\t"
		"mov $60, %%eax\n\t" /* SYS_exit */
		"syscall\n\t"
		"1:\n\t"
		: "+r"(rax)
		: "r"(rdi), "r"(rsi), "r"(r12), "r"(r13)
		: "rcx", "r11", "memory");
	return rax;
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = SYS_clone3;
	register long x0 __asm__("x0") = (long)ca;
	register long x1 __asm__("x1") = sizeof *ca;
	register void *x19 __asm__("x19") = (void *)fn;
	register void *x20 __asm__("x20") = arg;
	__asm__ volatile(
		"svc #0\n\t"
		"cbnz x0, 1f\n\t"
		"mov x29, xzr\n\t"
		"mov x0, x20\n\t"
		"blr x19\n\t"
		"mov x8, #93\n\t" /* SYS_exit */
		"svc #0\n\t"
		"1:\n\t"
		: "+r"(x0)
		: "r"(x8), "r"(x1), "r"(x19), "r"(x20)
		: "x30", "memory");
	return x0;
#else
	(void)ca, (void)fn, (void)arg;
	return -ENOSYS;
#endif
}

/* spawn starts the job and returns its pid. */
static pid_t spawn(uint64_t flags)
{
	struct clone_args_v0 ca = {
		.flags = flags,
		.exit_signal = SIGCHLD,
		.stack = (uint64_t)(uintptr_t)child_stack,
		.stack_size = sizeof child_stack,
	};
	long pid = clone3_run(&ca, child, &job);
	if (pid == -ENOSYS && !(flags & CLONE_NEWTIME)) {
		/* No clone3 (or another architecture): glibc's clone(), which
		 * cannot make a time namespace. */
		pid = clone(child, child_stack + sizeof child_stack, (int)flags | SIGCHLD, &job);
		if (pid < 0)
			pid = -errno;
	}
	if (pid < 0) {
		errno = (int)-pid;
		die("clone3");
	}
	return (pid_t)pid;
}

/* reap waits for pid and returns its status as a shell would. */
static int reap(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t parse_ns(const char *list)
{
	static const struct {
		const char *name;
		uint64_t flag;
	} kinds[] = {
		{"pid", CLONE_NEWPID}, {"uts", CLONE_NEWUTS}, {"mnt", CLONE_NEWNS},
		{"mount", CLONE_NEWNS}, {"ipc", CLONE_NEWIPC}, {"net", CLONE_NEWNET},
		{"user", CLONE_NEWUSER}, {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
	};
	uint64_t set = 0;
	char *copy = strdup(list), *save = NULL;
	for (char *t = strtok_r(copy, ",+", &save); t; t = strtok_r(NULL, ",+", &save)) {
		size_t i;
		if (!strcmp(t, "none"))
			continue;
		if (!strcmp(t, "all")) {
			for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
				set |= kinds[i].flag;
			continue;
		}
		for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
			if (!strcmp(t, kinds[i].name))
				break;
		if (i == sizeof kinds / sizeof kinds[0]) {
			fprintf(stderr, "spawn-c: unknown namespace %s\n", t);
			exit(2);
		}
		set |= kinds[i].flag;
	}
	free(copy);
	return set;
}

static long long parse_size(const char *s)
{
	char *end;
	long long n = strtoll(s, &end, 10);
	switch (*end) {
	case 'k': case 'K': n <<= 10; end++; break;
	case 'm': case 'M': n <<= 20; end++; break;
	case 'g': case 'G': n <<= 30; end++; break;
	}
	if (*end || n < 0) {
		fprintf(stderr, "spawn-c: bad size %s\n", s);
		exit(2);
	}
	return n;
}

static void usage(void)
{
	fprintf(stderr, "usage: spawn-c [--ns LIST] [--hostname NAME] [--clone vfork|fork] "
			"[--loop N [--parallel P] [--report-fd FD]] [--rss BYTES] [--] CMD [ARG...]\n"
			"       spawn-c --noop\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t ns = CLONE_NEWPID | CLONE_NEWUTS, flags;
	int vfork_style = 1, parallel = 1, report_fd = 1;
	long loop = 0;
	long long rss = 0;
	int i;

	if (argc == 2 && !strcmp(argv[1], "--noop"))
		return 0;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (i + 1 >= argc)
			usage();
		if (!strcmp(a, "--ns"))
			ns = parse_ns(argv[++i]);
		else if (!strcmp(a, "--hostname"))
			job.host = argv[++i];
		else if (!strcmp(a, "--clone"))
			vfork_style = !strcmp(argv[++i], "vfork");
		else if (!strcmp(a, "--loop"))
			loop = atol(argv[++i]);
		else if (!strcmp(a, "--parallel"))
			parallel = atoi(argv[++i]);
		else if (!strcmp(a, "--report-fd"))
			report_fd = atoi(argv[++i]);
		else if (!strcmp(a, "--rss"))
			rss = parse_size(argv[++i]);
		else
			usage();
	}
	if (i >= argc)
		usage();
	job.path = argv[i];
	job.argv = argv + i;
	if (job.host) {
		if (!(ns & CLONE_NEWUTS)) {
			fprintf(stderr, "spawn-c: --hostname needs the uts namespace\n");
			return 2;
		}
		job.hostlen = strlen(job.host);
	}
	flags = ns | (vfork_style ? CLONE_VM | CLONE_VFORK : 0);
	if (report_fd > 2)
		fcntl(report_fd, F_SETFD, FD_CLOEXEC);

	if (rss > 0) {
		/* MAP_POPULATE write-faults every page in now, as touching would. */
		void *m = mmap(NULL, (size_t)rss, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (m == MAP_FAILED)
			die("mmap");
	}

	if (loop <= 0)
		return reap(spawn(flags));

	if (parallel <= 1) {
		int64_t *t = calloc((size_t)loop, sizeof *t);
		FILE *out;
		if (!t)
			die("calloc");
		for (long k = 0; k < loop; k++) {
			int64_t t0 = now_ns();
			int st = reap(spawn(flags));
			t[k] = now_ns() - t0;
			if (st != 0) {
				fprintf(stderr, "spawn-c: %s exited with status %d\n", job.path, st);
				return 1;
			}
		}
		out = fdopen(report_fd, "w");
		if (!out)
			die("fdopen");
		for (long k = 0; k < loop; k++)
			fprintf(out, "%lld\n", (long long)t[k]);
		return fclose(out) ? 1 : 0;
	}

	/* Parallel: P workers, each with its own share, released together by
	 * closing a pipe; one line gives the wall time of all spawns. */
	{
		int go[2], bad = 0;
		pid_t *w = calloc((size_t)parallel, sizeof *w);
		int64_t t0;
		char buf[32];
		if (!w || pipe(go) < 0)
			die("pipe");
		for (int p = 0; p < parallel; p++) {
			long share = loop / parallel + (p < loop % parallel);
			w[p] = fork();
			if (w[p] < 0)
				die("fork");
			if (w[p] == 0) {
				char c;
				close(go[1]);
				while (read(go[0], &c, 1) < 0 && errno == EINTR)
					;
				for (long k = 0; k < share; k++)
					if (reap(spawn(flags)) != 0)
						_exit(1);
				_exit(0);
			}
		}
		close(go[0]);
		t0 = now_ns();
		close(go[1]);
		for (int p = 0; p < parallel; p++)
			bad |= reap(w[p]);
		snprintf(buf, sizeof buf, "%lld\n", (long long)(now_ns() - t0));
		if (bad) {
			fprintf(stderr, "spawn-c: a worker failed\n");
			return 1;
		}
		return write(report_fd, buf, strlen(buf)) < 0;
	}
}
