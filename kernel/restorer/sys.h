/*
 * Raw system calls and the few helpers the restorer needs.
 * The restorer runs without libc: nothing here may need relocation.
 */
#include <stdint.h>
#include <stddef.h>

typedef long ssize_t;

enum {
	SYS_read = 0, SYS_write = 1, SYS_open = 2, SYS_close = 3, SYS_fstat = 5,
	SYS_lseek = 8, SYS_mmap = 9, SYS_mprotect = 10, SYS_munmap = 11,
	SYS_rt_sigaction = 13, SYS_rt_sigprocmask = 14, SYS_rt_sigreturn = 15,
	SYS_ioctl = 16, SYS_pread64 = 17, SYS_mremap = 25, SYS_dup = 32,
	SYS_dup2 = 33, SYS_setitimer = 38, SYS_getpid = 39, SYS_fcntl = 72,
	SYS_fchdir = 81, SYS_umask = 95, SYS_gettid = 186, SYS_personality = 135,
	SYS_prctl = 157, SYS_arch_prctl = 158, SYS_set_tid_address = 218,
	SYS_exit_group = 231, SYS_openat = 257, SYS_set_robust_list = 273,
	SYS_dup3 = 292, SYS_prlimit64 = 302, SYS_rseq = 334, SYS_close_range = 436,
	SYS_epoll_ctl = 233, SYS_timerfd_create = 283, SYS_timerfd_settime = 286,
	SYS_pwrite64 = 18, SYS_socket = 41, SYS_bind = 49, SYS_listen = 50, SYS_setsockopt = 54, SYS_socketpair = 53,
	SYS_unlink = 87, SYS_newfstatat = 262, SYS_timer_create = 222, SYS_timer_settime = 223, SYS_timer_delete = 226, SYS_setpriority = 141, SYS_sched_setaffinity = 203, SYS_rt_sigqueueinfo = 129, SYS_rt_tgsigqueueinfo = 297, SYS_memfd_create = 319, SYS_signalfd4 = 289, SYS_eventfd2 = 290, SYS_epoll_create1 = 291, SYS_pipe2 = 293,
	SYS_ftruncate = 77, SYS_fork = 57, SYS_kill = 62, SYS_setpgid = 109, SYS_setsid = 112,
	SYS_getpgid = 121, SYS_rt_sigtimedwait = 128, SYS_waitid = 247, SYS_sched_yield = 24, SYS_clone3 = 435,
	SYS_capget = 125, SYS_capset = 126, SYS_chroot = 161, SYS_nanosleep = 35, SYS_setgroups = 116, SYS_madvise = 28,
	SYS_mlock = 149, SYS_mseal = 462, SYS_mkdir = 83, SYS_rmdir = 84,
};

enum {
	O_RDONLY = 0, O_DIRECTORY = 0200000, O_CLOEXEC = 02000000, O_PATH = 010000000,
	O_CREAT = 0100, O_EXCL = 0200, O_NOCTTY = 0400, O_TRUNC = 01000, O_TMPFILE = 020200000,
	PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4,
	MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20,
	MAP_GROWSDOWN = 0x100, MAP_FIXED_NOREPLACE = 0x100000,
	MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2, MADV_POPULATE_WRITE = 23,
	F_DUPFD = 0, F_SETFL = 4, F_DUPFD_CLOEXEC = 1030, F_SETPIPE_SZ = 1031, O_NONBLOCK = 04000,
	ARCH_SET_GS = 0x1001, ARCH_SET_FS = 0x1002,
	PR_SET_NAME = 15, PR_SET_MM = 35, PR_SET_MM_MAP = 14, PR_SET_DUMPABLE = 4,
	PR_SET_CHILD_SUBREAPER = 36, PR_SET_NO_NEW_PRIVS = 38, PR_SET_PDEATHSIG = 1,
	PR_SET_KEEPCAPS = 8, PR_SET_TIMERSLACK = 29, PR_SET_THP_DISABLE = 41, PR_CAPBSET_DROP = 24,
	PR_CAP_AMBIENT = 47, PR_CAP_AMBIENT_RAISE = 2,
	TCGETS = 0x5401, TCSETS = 0x5402, TIOCSCTTY = 0x540e, TIOCSPGRP = 0x5410, TIOCSWINSZ = 0x5414,
	TIOCGPTPEER = 0x5441, TIOCSPTLCK = 0x40045431,
	SEEK_SET = 0,
	EINTR = 4, EEXIST = 17,
};

static inline long
sys6(long n, long a, long b, long c, long d, long e, long f)
{
	long r;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;

	__asm__ volatile("syscall"
		: "=a"(r)
		: "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
		: "rcx", "r11", "memory");
	return r;
}

#define sys0(n)			sys6(n, 0, 0, 0, 0, 0, 0)
#define sys1(n, a)		sys6(n, (long)(a), 0, 0, 0, 0, 0)
#define sys2(n, a, b)		sys6(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define sys3(n, a, b, c)	sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(n, a, b, c, d)	sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define sys5(n, a, b, c, d, e)	sys6(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

static inline void *
rmmap(void *a, size_t n, int prot, int flags, int fd, long off)
{
	return (void *)sys6(SYS_mmap, (long)a, n, prot, flags, fd, off);
}

static inline int
mmapfailed(void *p)
{
	return (unsigned long)p > -4096UL;
}

/* lib.c */
void	*memcpy(void *d, const void *s, size_t n);
void	*memset(void *d, int c, size_t n);
int	memcmp(const void *a, const void *b, size_t n);
size_t	strlen(const char *s);
int	strncmp(const char *a, const char *b, size_t n);
long	preadall(int fd, void *buf, size_t n, long off);
int	writestr(int fd, const char *s);
char	*fmtnum(char *p, char *e, uint64_t v, int base);
char	*seprint(char *p, char *e, const char *s);
uint64_t	hexnum(const char **sp);
