/*
 * Stage 2, last: the thread's kernel-side state, then rt_sigreturn on a
 * frame built from the saved registers.  The frame and the trampoline
 * live in a small region left behind (marked with Pmagic so a later
 * freeze skips it); the rest of the restorer unmaps itself on the way out.
 */
#include "rst.h"

enum {
	SYS_rt_sigaction_ = 13, SYS_setitimer_ = 38,
	Ttramp = 1024,		/* in the page left behind: the other threads' trampoline */
	Tflags = 2048,		/* and their flags, one int each */
	UC_FP_XSTATE = 1, UC_SIGCONTEXT_SS = 2, UC_STRICT_RESTORE_SS = 4,
	Magic1 = 0x46505853, Magic2 = 0x46505845,
	Swbytes = 464,		/* software-reserved bytes of the fxsave area */
	Xstatebv = 512,		/* xsave header */
};

/* user_regs_struct indices */
enum {
	R15, R14, R13, R12, RBP, RBX, R11, R10, R9, R8, RAX, RCX, RDX, RSI, RDI,
	ORIGRAX, RIP, CS, EFLAGS, RSP, SS, FSBASE, GSBASE,
};

typedef struct Sigctx Sigctx;
struct Sigctx {		/* struct sigcontext, x86_64 */
	uint64_t	r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t	rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t	cs, gs, fs, ss;
	uint64_t	err, trapno, oldmask, cr2, fpstate, reserved[8];
};

typedef struct Frame Frame;
struct Frame {		/* struct rt_sigframe, x86_64 */
	uint64_t	pretcode;
	uint64_t	ucflags;
	uint64_t	uclink;
	uint64_t	sssp;
	int32_t	ssflags;
	int32_t	pad;
	uint64_t	sssize;
	Sigctx	mc;
	uint64_t	sigmask;
	char	info[128];
};

_Static_assert(sizeof(Sigctx) == 256, "sigcontext");
_Static_assert(sizeof(Frame) == 8 + 304 + 128, "rt_sigframe");

static void
setsignals(void)
{
	Isigact *sa = sect(Ssig, 0);
	Iproc *p = sect(Sproc, 0);
	int i;

	for(i = 1; i <= Nsig; i++)
		if(i != 9 && i != 19)
			sys4(SYS_rt_sigaction_, i, &sa[i-1], 0, 8);
	for(i = 0; i < 3; i++)
		if(p->itimer[i][2] != 0 || p->itimer[i][3] != 0)
			sys3(SYS_setitimer_, i, p->itimer[i], 0);
}

/* the saved limits, as far as the runner's hard limits allow */
static void
setlimits(Iproc *p)
{
	uint64_t cur[2], lim[2];
	uint32_t i;

	for(i = 0; i < p->nrlim; i++){
		if(sys4(SYS_prlimit64, 0, i, 0, cur) < 0)
			continue;
		lim[1] = p->rlim[i][1] < cur[1] ? p->rlim[i][1] : cur[1];
		lim[0] = p->rlim[i][0] < lim[1] ? p->rlim[i][0] : lim[1];
		sys4(SYS_prlimit64, 0, i, lim, 0);
	}
}

/*
 * The capability sets, as far as dropping goes: the runner's, less
 * what the process had given up.  The bounding set first, while
 * CAP_SETPCAP may still be there.
 */
static void
setcaps(Iproc *p)
{
	struct {
		uint32_t	version;
		int32_t	pid;
	} hdr = {0x20080522, 0};	/* _LINUX_CAPABILITY_VERSION_3 */
	uint32_t d[6];			/* effective, permitted, inheritable; low words, then high */
	uint64_t e, pm, in;
	int i;

	for(i = 0; i < 64; i++)
		if(!(p->cap[Cbnd] >> i & 1))
			sys2(SYS_prctl, PR_CAPBSET_DROP, i);
	if(sys2(SYS_capget, &hdr, d) < 0)
		return;
	e = (d[0] | (uint64_t)d[3] << 32) & p->cap[Ceff];
	pm = (d[1] | (uint64_t)d[4] << 32) & p->cap[Cprm];
	in = d[2] | (uint64_t)d[5] << 32;
	d[0] = e; d[3] = e >> 32;
	d[1] = pm; d[4] = pm >> 32;
	/* the inheritable set may grow within the permitted one: try the saved one whole */
	d[2] = p->cap[Cinh]; d[5] = p->cap[Cinh] >> 32;
	if(sys2(SYS_capset, &hdr, d) < 0){
		in &= p->cap[Cinh];
		d[2] = in; d[5] = in >> 32;
		sys2(SYS_capset, &hdr, d);
	}
	for(i = 0; i < 64; i++)
		if(p->cap[Camb] >> i & 1)
			sys5(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0);
}

static void
setthread(Ithread *t)
{
	int tid = sys0(SYS_gettid), pid;
	uint32_t i;
	char *si;

	sys2(SYS_prctl, PR_SET_NAME, t->comm);
	if(t->tidaddr != 0){
		sys1(SYS_set_tid_address, t->tidaddr);
		*(int *)t->tidaddr = tid;	/* glibc's cached tid */
	}
	if(t->robust != 0)
		sys2(SYS_set_robust_list, t->robust, t->robustlen);
	if(t->rseq != 0 && sys4(SYS_rseq, t->rseq, t->rseqlen, 0, t->rseqsig) < 0)
		((int32_t *)t->rseq)[1] = -2;	/* cpu_id: registration failed */
	/* signals pending for the thread; every signal is blocked here */
	pid = sys0(SYS_getpid);
	si = (char *)sect(Sblob, 0) + t->sig;
	for(i = 0; i < t->nsig; i++)
		sys4(SYS_rt_tgsigqueueinfo, pid, tid, *(int *)(si + i*128), si + i*128);
	sys2(SYS_arch_prctl, ARCH_SET_FS, t->regs[FSBASE]);
	if(t->regs[GSBASE] != 0)
		sys2(SYS_arch_prctl, ARCH_SET_GS, t->regs[GSBASE]);
}

/* the saved xsave area, cut to what this cpu enables */
static uint64_t
putxsave(Ithread *t, char *at)
{
	Ihdr *h = (Ihdr *)ctx.meta;
	char *fp = (char *)(((uint64_t)at + 63) & ~63UL);
	uint32_t size = t->xsize, w;
	uint64_t feat, bv;

	if(size == 0 || ctx.xsize == 0)
		return 0;
	if(size > ctx.xsize)
		size = ctx.xsize;
	memcpy(fp, (char *)sect(Sblob, 0) + t->xsave, size);
	feat = h->xcr0 & ctx.xcr0;
	memcpy(&bv, fp + Xstatebv, 8);
	bv &= feat;
	memcpy(fp + Xstatebv, &bv, 8);
	w = Magic1;
	memcpy(fp + Swbytes, &w, 4);
	w = size + 4;
	memcpy(fp + Swbytes + 4, &w, 4);
	memcpy(fp + Swbytes + 8, &feat, 8);
	memcpy(fp + Swbytes + 16, &size, 4);
	memset(fp + Swbytes + 20, 0, 28);
	w = Magic2;
	memcpy(fp + size, &w, 4);
	return (uint64_t)fp;
}

static uint64_t
putframe(Ithread *t, char *at)
{
	Frame *f = (Frame *)(((uint64_t)at + 15) & ~15UL);
	uint64_t *r = t->regs;

	memset(f, 0, sizeof *f);
	f->ucflags = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	f->sssp = t->sssp;
	f->ssflags = t->ssflags;
	f->sssize = t->sssize;
	f->mc.r8 = r[R8]; f->mc.r9 = r[R9]; f->mc.r10 = r[R10]; f->mc.r11 = r[R11];
	f->mc.r12 = r[R12]; f->mc.r13 = r[R13]; f->mc.r14 = r[R14]; f->mc.r15 = r[R15];
	f->mc.rdi = r[RDI]; f->mc.rsi = r[RSI]; f->mc.rbp = r[RBP]; f->mc.rbx = r[RBX];
	f->mc.rdx = r[RDX]; f->mc.rax = r[RAX]; f->mc.rcx = r[RCX]; f->mc.rsp = r[RSP];
	f->mc.rip = r[RIP]; f->mc.eflags = r[EFLAGS];
	f->mc.cs = 0x33;
	f->mc.ss = 0x2b;
	f->mc.fpstate = putxsave(t, (char *)(f + 1));
	if(f->mc.fpstate == 0)
		f->ucflags &= ~UC_FP_XSTATE;
	f->sigmask = t->sigmask;
	return (uint64_t)&f->ucflags;	/* the kernel finds the frame at sp - 8 */
}

/*
 * Seccomp goes back last, from the trampoline, after the restorer is
 * gone: a plan it reads (mode, count, then a sock_fprog pointer per
 * filter, oldest first), kept at the end of the page left behind.
 */
typedef struct Fprog Fprog;
struct Fprog {
	uint16_t	len;
	uint16_t	pad[3];
	uint64_t	filter;
};

uint64_t
planlen(void)
{
	Iproc *p = sect(Sproc, 0);

	if(p->seccomp == 0)
		return 0;
	return 64 + p->nfilter * (8 + sizeof(Fprog)) + p->filterlen;
}

static uint64_t
putplan(Iproc *p, char *at)
{
	uint32_t *plan = (uint32_t *)(((uint64_t)at + 7) & ~7UL), i;
	uint64_t *prog = (uint64_t *)(plan + 2), w[2];
	Fprog *fp = (Fprog *)(prog + p->nfilter);
	char *f = (char *)sect(Sblob, 0) + p->filter, *body = (char *)(fp + p->nfilter);

	if(p->seccomp == 0)
		return 0;
	if(p->seccomp == 2 && !p->nonewprivs){
		/* installing a filter takes no_new_privs or CAP_SYS_ADMIN (21) */
		struct { uint32_t version; int32_t pid; } hdr = {0x20080522, 0};
		uint32_t d[6];

		if(sys2(SYS_capget, &hdr, d) < 0 || !(d[0] & 1U<<21))
			fail("cannot restore seccomp filter", "the process had no_new_privs unset and CAP_SYS_ADMIN");
	}
	plan[0] = p->seccomp;
	plan[1] = p->nfilter;
	for(i = 0; i < p->nfilter; i++){
		memcpy(w, f, 8);
		fp[i].len = w[0];
		memset(fp[i].pad, 0, sizeof fp[i].pad);
		fp[i].filter = (uint64_t)body;
		memcpy(body, f + 8, fp[i].len * 8);
		body += fp[i].len * 8;
		f += 8 + fp[i].len * 8;
		prog[i] = (uint64_t)&fp[i];
	}
	return (uint64_t)plan;
}

typedef struct Start Start;
struct Start {
	Ithread	*t;
	int	tid;	/* its new tid */
	uint64_t	sp;	/* its frame */
	int	*done;	/* its flag */
};

/* each other thread, on its own stack in the hole */
static void
threadmain(void *arg)
{
	Start *s = arg;
	void (*out)(int *, uint64_t, uint64_t);

	s->tid = sys0(SYS_gettid);
	setthread(s->t);
	out = (void (*)(int *, uint64_t, uint64_t))(ctx.tramp + Ttramp);
	out(s->done, 0, s->sp);
}

/*
 * POSIX timers, under their old ids: a new process hands ids out in
 * order from 0, so the ids in between are taken and given back.  A
 * timer aimed at a thread is aimed at that thread's new tid.
 */
static void
settimers(Iproc *p, Ithread *t, Start *st, uint32_t n)
{
	Itimer *tm = (Itimer *)((char *)sect(Sblob, 0) + p->timer);
	struct {
		uint64_t	value;
		int32_t	signo;
		int32_t	notify;
		int32_t	tid;
		char	pad[44];
	} ev;
	uint64_t its[4];
	int32_t id, burn[64];
	uint32_t i, j, nburn = 0;

	for(i = 0; i < p->ntimer; i++){
		memset(&ev, 0, sizeof ev);
		ev.value = tm[i].value;
		ev.signo = tm[i].signo;
		ev.notify = tm[i].notify;
		ev.tid = sys0(SYS_gettid);
		for(j = 0; j < n; j++)
			if(t[j].tid == (uint32_t)tm[i].tid)
				ev.tid = j == 0 ? sys0(SYS_gettid) : st[j].tid;
		for(;;){
			if(sys3(SYS_timer_create, tm[i].clock, &ev, &id) < 0)
				fail("cannot make timer again", 0);
			if(id == tm[i].id)
				break;
			if(id > tm[i].id || nburn == sizeof burn/sizeof burn[0])
				fail("cannot make timer again under its id", 0);
			burn[nburn++] = id;
		}
		if(tm[i].left != 0){
			its[0] = tm[i].interval / 1000000000;
			its[1] = tm[i].interval % 1000000000;
			its[2] = tm[i].left / 1000000000;
			its[3] = tm[i].left % 1000000000;
			sys4(SYS_timer_settime, id, 0, its, 0);
		}
	}
	for(i = 0; i < nburn; i++)
		sys1(SYS_timer_delete, burn[i]);
}

void
resumetask(void)
{
	Iproc *p = sect(Sproc, 0);
	Ithread *t;
	char *tr = (char *)ctx.tramp, *at;
	uint64_t sp, len, plan, all = ~0UL;
	uint32_t i, n;
	int *done;
	Start st[256];
	void (*out)(uint64_t, uint64_t, uint64_t, uint64_t);

	t = sect(Sthread, &n);
	if(n > sizeof st/sizeof st[0])
		fail("too many threads", 0);
	/* stopped by job control when frozen: stopped again, before any thread runs; SIGCONT goes on */
	if(ctx.stopped)
		sys2(SYS_kill, sys0(SYS_getpid), 19);
	setsignals();
	setlimits(p);
	sys1(SYS_umask, p->umask);
	sys1(SYS_personality, p->personality);
	sys2(SYS_prctl, PR_SET_NAME, p->comm);
	sys3(SYS_setpriority, 0, 0, p->nice);	/* may not go below the runner's */
	sys3(SYS_sched_setaffinity, 0, sizeof p->cpus, p->cpus);
	sys2(SYS_prctl, PR_SET_DUMPABLE, p->dumpable);
	sys2(SYS_prctl, PR_SET_CHILD_SUBREAPER, p->subreaper);
	if(p->nonewprivs)
		sys5(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	sys2(SYS_prctl, PR_SET_PDEATHSIG, p->pdeathsig);
	sys2(SYS_prctl, PR_SET_TIMERSLACK, p->timerslack);
	sys2(SYS_prctl, PR_SET_KEEPCAPS, p->keepcaps);
	sys5(SYS_prctl, PR_SET_THP_DISABLE, p->thpdisable, 0, 0, 0);
	/* the supplementary groups, where the runner may set them (CAP_SETGID) */
	if(p->ngroups <= 65536)
		sys2(SYS_setgroups, p->ngroups, (char *)sect(Sblob, 0) + p->groups);
	/* last of what privilege may be needed for; the threads inherit it */
	setcaps(p);
	/* no signal until each thread has its own mask from its frame */
	sys4(SYS_rt_sigprocmask, 2, &all, 0, 8);

	memcpy(tr, Pmagic, sizeof Pmagic);
	len = ctx.tramplen;
	memcpy(tr + 16, &len, 8);
	memcpy(tr + 64, tramp, tramp_end - tramp);
	memcpy(tr + Ttramp, ttramp, ttramp_end - ttramp);
	done = (int *)(tr + Tflags);
	at = tr + Ipage;
	sp = putframe(&t[0], at);
	for(i = 1; i < n; i++){
		at += 1024 + 64 + (t[i-1].xsize > ctx.xsize ? t[i-1].xsize : ctx.xsize);
		st[i].t = &t[i];
		st[i].sp = putframe(&t[i], at);
		st[i].done = &done[i];
		done[i] = 0;
		if(rclone(0x50f00, (char *)ctx.tstacks + i * Tstack, threadmain, &st[i]) < 0)
			fail("cannot start thread", 0);
	}
	setthread(&t[0]);
	at = (char *)sect(Sblob, 0) + p->sig;
	for(i = 0; i < p->nsig; i++)
		sys3(SYS_rt_sigqueueinfo, sys0(SYS_getpid), *(int *)(at + i*128), at + i*128);
	for(i = 1; i < n; i++)
		while(*(volatile int *)&done[i] == 0)
			sys0(SYS_sched_yield);
	settimers(p, t, st, n);
	plan = putplan(p, tr + ctx.tramplen - planlen());
	sys3(SYS_mprotect, tr, ctx.tramplen, PROT_READ|PROT_EXEC);
	if(ctx.readyfd >= 0){
		/* the root speaks for the tree: the others passed settle() */
		if(ctx.me == 0)
			sys3(SYS_write, ctx.readyfd, "ok\n", 3);
		sys1(SYS_close, ctx.readyfd);
	}
	out = (void (*)(uint64_t, uint64_t, uint64_t, uint64_t))(tr + 64);
	/* all of the hole but the trampoline; and but our vdso where it calls through */
	len = (ctx.redirect ? ctx.park : ctx.hole + ctx.holelen) - (ctx.hole + ctx.tramplen);
	out(ctx.hole + ctx.tramplen, len, sp, plan);
	for(;;)
		;
}
