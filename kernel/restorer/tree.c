/*
 * An image of a process tree: the root (the process the image was
 * exec'd as) makes its children, each child its own, and each takes
 * its place: its session, its group, then its own part of the image.
 * Nobody destroys anything until all have checked and opened what
 * they need (settle): one that fails takes the whole tree with it
 * while the runner is still whole.  A zombie is made and let die.
 */
#include "rst.h"

enum {
	P_PID = 1, WEXITED = 4, WNOWAIT = 0x01000000, SIGCHLD = 17, RLIMIT_CORE = 4,
};

typedef struct Shared Shared;
struct Shared {			/* one page all the processes see while they are made */
	int32_t	pid[Nmember];		/* new pids */
	int32_t	grouped[Nmember];	/* a group leader's group exists */
	int32_t	rootpgid;		/* the group the runner gave the root */
};

static Shared *sh;
static int ready[2], go[2];	/* the others tell the root they are ready; it says go */

static int
leader(Imember *m)
{
	return m->pgid == m->pid || m->sid == m->pid;
}

static int
bypid(uint32_t pid)
{
	uint32_t k;

	for(k = 0; k < ctx.nmb; k++)
		if(ctx.mb[k].pid == pid)
			return k;
	return -1;
}

/* right after the fork (for the root: at once) */
static void
become(uint32_t k)
{
	Imember *m = &ctx.mb[k];
	long s;

	sh->pid[k] = sys0(SYS_getpid);
	/* the root may lead a group of the runner's making: setsid fails, it stays there */
	if(m->sid == m->pid && sys0(SYS_setsid) >= 0 && m->ctty != 0){
		/* its terminal is a pty of the image's own: take it again */
		s = ptyslave(m->ctty - 1, 02);
		if(s < 0 || sys3(SYS_ioctl, s, TIOCSCTTY, 0) < 0)
			fail("cannot take a pty as controlling terminal", 0);
		sys1(SYS_close, s);
	}else if(m->sid != m->pid && m->pgid == m->pid)
		sys2(SYS_setpgid, 0, 0);
	if(k == 0)
		sh->rootpgid = sys1(SYS_getpgid, 0);
	if(leader(m))
		__atomic_store_n(&sh->grouped[k], 1, __ATOMIC_RELEASE);
}

/* the new pid of leader l, once it has made its group */
static int
leaderpid(int l)
{
	while(!__atomic_load_n(&sh->grouped[l], __ATOMIC_ACQUIRE))
		sys0(SYS_sched_yield);
	return sh->pid[l];
}

/* a group led by another process: once its leader has made it */
static void
joingroup(uint32_t k)
{
	Imember *m = &ctx.mb[k];
	long want;
	int l;

	if(k == 0 || leader(m))
		return;
	l = bypid(m->pgid);
	if(l >= 0 && leader(&ctx.mb[l]))
		want = leaderpid(l);
	else
		want = sh->rootpgid;	/* the root's group, wherever the runner put it */
	if(sys1(SYS_getpgid, 0) != want && sys2(SYS_setpgid, 0, want) < 0)
		fail("cannot restore process group", 0);
}

/* a session leader on one of the image's ptys: its foreground group again */
static void
foreground(uint32_t k)
{
	Imember *m = &ctx.mb[k];
	int l, pg;
	long s;

	if(m->sid != m->pid || m->ctty == 0 || (l = bypid(m->tpgid)) < 0 || !leader(&ctx.mb[l]))
		return;
	pg = leaderpid(l);
	s = ptyslave(m->ctty - 1, 02);
	if(s >= 0){
		sys3(SYS_ioctl, s, TIOCSPGRP, &pg);
		sys1(SYS_close, s);
	}
}

/* a zombie: dies as it died */
static void __attribute__((noreturn))
die(Imember *m)
{
	int sig = m->status & 0x7f;
	uint64_t dfl[4] = {0, 0, 0, 0}, mask, nocore[2] = {0, 0};

	if(sig == 0)
		sys1(SYS_exit_group, (m->status >> 8) & 0xff);
	sys4(SYS_prlimit64, 0, RLIMIT_CORE, nocore, 0);
	sys4(SYS_rt_sigaction, sig, dfl, 0, 8);
	mask = 1ULL << (sig - 1);
	sys4(SYS_rt_sigprocmask, 1, &mask, 0, 8);	/* SIG_UNBLOCK */
	sys2(SYS_kill, sys0(SYS_getpid), sig);
	sys1(SYS_exit_group, 128 + sig);
	for(;;)
		;
}

/* its death is old news: the SIGCHLD it sends now is not passed on */
static void
reaped(long pid)
{
	char info[128];
	uint64_t mask = 1ULL << (SIGCHLD - 1), ts[2] = {0, 0};

	sys5(SYS_waitid, P_PID, pid, info, WEXITED|WNOWAIT, 0);
	sys4(SYS_rt_sigtimedwait, &mask, info, ts, 8);
}

/* is pid on its way out: dying, or a zombie orphan that init will reap? */
static int
dying(uint32_t pid)
{
	char path[32], buf[128], *p;
	long fd, n;

	p = seprint(path, path + sizeof path, "/proc/");
	p = fmtnum(p, path + sizeof path, pid, 10);
	seprint(p, path + sizeof path, "/stat");
	fd = sys3(SYS_open, path, O_RDONLY|O_CLOEXEC, 0);
	if(fd < 0)
		return 1;	/* gone already */
	n = sys3(SYS_read, fd, buf, sizeof buf - 1);
	sys1(SYS_close, fd);
	if(n <= 0)
		return 1;
	buf[n] = 0;
	for(p = buf + n - 1; p > buf && *p != ')'; p--)
		;
	/* ") S ppid ..." */
	return p[1] == ' ' && (p[2] == 'X' || (p[2] == 'Z' && p[3] == ' ' && p[4] == '1' && p[5] == ' '));
}

/*
 * A child under its old pid where the kernel lets us choose (clone3's
 * set_tid wants CAP_CHECKPOINT_RESTORE) and the pid is free; else a
 * plain fork and a new pid.
 */
static long
forkas(uint32_t pid)
{
	uint64_t a[11], tid = pid, ts[2] = {0, 10000000};
	long r;
	int i;

	memset(a, 0, sizeof a);
	a[4] = SIGCHLD;		/* exit_signal */
	a[8] = (uint64_t)&tid;	/* set_tid */
	a[9] = 1;		/* set_tid_size */
	/* the pid may still be a zombie of the frozen original, about to be reaped */
	for(i = 0; (r = sys2(SYS_clone3, a, sizeof a)) == -EEXIST && i < 300 && dying(pid); i++)
		sys2(SYS_nanosleep, ts, 0);
	if(r < 0)
		r = sys0(SYS_fork);
	return r;
}

/* the children of k, each going on as itself; returns which process we are */
static uint32_t
spawn(uint32_t k)
{
	uint32_t c;
	long pid;

	for(c = k + 1; c < ctx.nmb; c++){
		if(ctx.mb[c].parent != k)
			continue;
		pid = forkas(ctx.mb[c].pid);
		if(pid < 0)
			fail("cannot make a process", 0);
		if(pid == 0){
			sys1(SYS_close, ready[0]);
			sys1(SYS_close, go[1]);
			become(c);
			if(ctx.mb[c].state == Mzombie){
				joingroup(c);
				die(&ctx.mb[c]);
			}
			return spawn(c);
		}
		if(ctx.mb[c].state == Mzombie)
			reaped(pid);
	}
	return k;
}

void
growtree(void)
{
	ctx.me = 0;
	if(ctx.mb == 0 || ctx.nmb < 2)
		return;
	sh = rmmap(0, Ipage, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0);
	if(mmapfailed(sh))
		fail("out of memory", 0);
	if(sys2(SYS_pipe2, ready, O_CLOEXEC) < 0 || sys2(SYS_pipe2, go, O_CLOEXEC) < 0)
		fail("cannot make a pipe", 0);
	ready[0] = above(ready[0], ctx.maxfd + 2);
	ready[1] = above(ready[1], ctx.maxfd + 2);
	go[0] = above(go[0], ctx.maxfd + 2);
	go[1] = above(go[1], ctx.maxfd + 2);
	become(0);
	ctx.me = spawn(0);
	ctx.stopped = ctx.mb[ctx.me].stopped;
	usemeta(ctx.me);
}

/* the end of stage 1 in every process: all ready, or all gone */
void
settle(void)
{
	char buf[64];
	uint32_t k, want = 0;
	long n, got = 0;

	if(sh == 0)
		return;
	joingroup(ctx.me);
	foreground(ctx.me);
	if(ctx.me != 0){
		sys3(SYS_write, ready[1], "r", 1);
		sys1(SYS_close, ready[1]);
		if(sys3(SYS_read, go[0], buf, 1) != 1)
			sys1(SYS_exit_group, 1);	/* the root gave up and said why */
		sys1(SYS_close, go[0]);
		return;
	}
	for(k = 1; k < ctx.nmb; k++)
		want += ctx.mb[k].state == Mlive;
	sys1(SYS_close, ready[1]);
	while(got < (long)want && (n = sys3(SYS_read, ready[0], buf, want - got < 64 ? want - got : 64)) > 0)
		got += n;
	if(got < (long)want)
		fail("cannot restore the process tree", "a process could not be made");
	memset(buf, 'g', sizeof buf);
	for(got = 0; got < (long)want; got += n){
		n = sys3(SYS_write, go[1], buf, want - got < 64 ? want - got : 64);
		if(n <= 0)
			fail("cannot restore the process tree", 0);
	}
	sys1(SYS_close, go[1]);
	sys1(SYS_close, go[0]);
	sys1(SYS_close, ready[0]);
}
