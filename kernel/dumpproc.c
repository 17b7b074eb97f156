/*
 * What the process keeps in the kernel: thread registers and masks,
 * signal handlers, timers, brk and friends.  Some of it only the
 * process itself can be asked for: those calls are injected, with
 * answers written to a scratch page mapped in the target for the while.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <signal.h>
#include <linux/filter.h>
#include "engine.h"

#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION	0x420f
#endif

struct rseqconf {
	uint64_t	addr;
	uint32_t	size;
	uint32_t	sig;
	uint32_t	flags;
	uint32_t	pad;
};

enum {
	Xmax	= 64*1024,	/* largest xsave area we take */
};

/* /proc/pid/status names of Iproc.cap[] */
static const char *capnames[Ncap] = {
	[Cinh] = "CapInh", [Cprm] = "CapPrm", [Ceff] = "CapEff", [Cbnd] = "CapBnd", [Camb] = "CapAmb",
};

/* inject a call whose answer lands in scratch, and copy it out */
static int
ask(Tracee *t, uint64_t scratch, void *out, size_t n, long nr, long a, long b, long c, long d)
{
	long r;

	r = tinject(t, nr, a, b, c, d, 0, 0);
	if(r == -ESRCH)
		return -1;	/* tinject said why */
	if(r < 0){
		werrstr("syscall %ld in target: %s", nr, strerror(-r));
		return -1;
	}
	if(out != NULL && tread(t->pid, scratch, out, n) < 0){
		werrstr("read target memory: %s", strerror(errno));
		return -1;
	}
	return 0;
}

enum {
	Maxpend	= 1024,		/* pending signals we carry per queue */
};

/* pending signals, with their siginfo, of a thread or (shared) the process */
static int
pending(Tracee *t, Img *m, int shared, uint32_t *off, uint32_t *n)
{
	struct { uint64_t off; uint32_t flags; int32_t nr; } a;
	char *si;
	long r;

	si = malloc(Maxpend * 128);
	if(si == NULL){
		werrstr("out of memory");
		return -1;
	}
	a.off = 0;
	a.flags = shared ? 1 : 0;	/* PTRACE_PEEKSIGINFO_SHARED */
	a.nr = Maxpend;
	r = ptrace(PTRACE_PEEKSIGINFO, t->tid, &a, si);
	*n = r > 0 ? r : 0;
	*off = m->blob.n;
	r = *n ? bufadd(&m->blob, si, *n * 128) : 0;
	free(si);
	return r;
}

static int
dumpthread(Tracee *t, Img *m, uint64_t scratch)
{
	Ithread th;
	struct rseqconf rc;
	struct iovec iov;
	char x0[64];
	uint64_t ss[3], tidaddr, head;
	size_t len;
	char *x;

	memset(&th, 0, sizeof th);
	th.tid = t->tid;
	snprintf(x0, sizeof x0, "task/%d/comm", t->tid);
	if(procstr(t->pid, x0, th.comm, sizeof th.comm) < 0)
		goto gone;
	memcpy(th.regs, &t->image, sizeof th.regs);
	if(ptrace(PTRACE_GETSIGMASK, t->tid, sizeof th.sigmask, &th.sigmask) < 0)
		goto gone;
	x = malloc(Xmax);
	if(x == NULL){
		werrstr("out of memory");
		return -1;
	}
	iov.iov_base = x;
	iov.iov_len = Xmax;
	if(ptrace(PTRACE_GETREGSET, t->tid, NT_X86_XSTATE, &iov) == 0){
		th.xsize = iov.iov_len;
		while(m->blob.n % 64)
			bufadd(&m->blob, "", 1);
		th.xsave = m->blob.n;
		if(bufadd(&m->blob, x, iov.iov_len) < 0){
			free(x);
			return -1;
		}
	}
	free(x);
	if(ptrace(PTRACE_GET_RSEQ_CONFIGURATION, t->tid, sizeof rc, &rc) == sizeof rc){
		th.rseq = rc.addr;
		th.rseqlen = rc.size;
		th.rseqsig = rc.sig;
	}
	if(syscall(SYS_get_robust_list, t->tid, &head, &len) == 0){
		th.robust = head;
		th.robustlen = len;
	}
	if(ask(t, scratch, &tidaddr, 8, SYS_prctl, PR_GET_TID_ADDRESS, scratch, 0, 0) < 0)
		return -1;
	th.tidaddr = tidaddr;
	if(ask(t, scratch, ss, sizeof ss, SYS_sigaltstack, 0, scratch, 0, 0) < 0)
		return -1;
	th.sssp = ss[0];
	th.ssflags = ss[1];
	th.sssize = ss[2];
	if(pending(t, m, 0, &th.sig, &th.nsig) < 0)
		return -1;
	return bufadd(&m->thr, &th, sizeof th);
gone:
	werrstr("process exited");
	return -1;
}

/*
 * The actions of the signals caught or ignored, and SIGCHLD's; each is
 * one injected call, and a stop should be short.  The rest are SIG_DFL,
 * whose flags and mask do nothing, and are saved as zero: SIG_DFL too.
 */
static int
dumpsignals(Tracee *t, Img *m, uint64_t scratch)
{
	char cgt[32], ign[32];
	uint64_t set;
	int sig;

	if(statusline(t->pid, "SigCgt", cgt, sizeof cgt) < 0 ||
	   statusline(t->pid, "SigIgn", ign, sizeof ign) < 0){
		werrstr("process exited");
		return -1;
	}
	set = strtoull(cgt, NULL, 16) | strtoull(ign, NULL, 16) | 1ULL << (SIGCHLD - 1);
	for(sig = 1; sig <= Nsig; sig++){
		if(sig == 9 || sig == 19 || !(set & 1ULL << (sig - 1)))
			continue;
		if(ask(t, scratch, &m->sig[sig-1], sizeof m->sig[0], SYS_rt_sigaction, sig, 0, scratch, 8) < 0)
			return -1;
	}
	return 0;
}

/* fields of /proc/pid/stat, counted from 1 as proc(5) does */
enum {
	Fstartcode = 26, Fendcode = 27, Fstartstack = 28, Fstartdata = 45,
	Fenddata, Fstartbrk, Fargstart, Fargend, Fenvstart, Fenvend, Nfield = Fenvend,
};

static int
dumpmm(Tracee *t, Img *m)
{
	Iproc *p = &m->proc;
	uint64_t f[Nfield];
	char path[64], *s;
	size_t n;
	long brk;

#define F(x)	f[(x) - 4]
	if(statfields(t->pid, f, Nfield - 3) < 0)
		goto gone;
	p->startcode = F(Fstartcode);
	p->endcode = F(Fendcode);
	p->startstack = F(Fstartstack);
	p->startdata = F(Fstartdata);
	p->enddata = F(Fenddata);
	p->startbrk = F(Fstartbrk);
	p->argstart = F(Fargstart);
	p->argend = F(Fargend);
	p->envstart = F(Fenvstart);
	p->envend = F(Fenvend);
#undef F
	brk = tinject(t, SYS_brk, 0, 0, 0, 0, 0, 0);
	if(brk == -ESRCH)
		return -1;
	p->brk = brk;
	snprintf(path, sizeof path, "/proc/%d/auxv", t->pid);
	s = readfile(path, &n);
	if(s == NULL)
		goto gone;
	if(n > sizeof p->auxv)
		n = sizeof p->auxv;
	memcpy(p->auxv, s, n);
	p->nauxv = n / 8;
	free(s);
	return 0;
gone:
	werrstr("process exited");
	return -1;
}

/*
 * Resource limits, from /proc/pid/limits: prlimit(2) on another user's
 * process needs CAP_SYS_RESOURCE, which root may lack.  The rows come
 * in RLIMIT_* order, the soft and hard columns at fixed places.
 */
static int
dumplimits(pid_t pid, Iproc *p)
{
	char path[64], *s, *l, *v;
	int i, j;

	snprintf(path, sizeof path, "/proc/%d/limits", pid);
	s = readfile(path, NULL);
	if(s == NULL)
		return -1;
	l = strchr(s, '\n');
	for(i = 0; l != NULL && i < Nrlim; i++){
		l++;
		if(strlen(l) < 48)
			break;
		for(j = 0; j < 2; j++){
			v = l + (j == 0 ? 26 : 47);
			p->rlim[i][j] = strncmp(v, "unlimited", 9) == 0 ? RLIM_INFINITY : strtoull(v, NULL, 10);
		}
		l = strchr(l, '\n');
	}
	p->nrlim = i;
	free(s);
	return 0;
}

static int
bytimerid(const void *a, const void *b)
{
	return ((const Itimer *)a)->id - ((const Itimer *)b)->id;
}

/* POSIX timers: which, from /proc/pid/timers; when, asked of the process */
static int
dumptimers(Tracee *t, Img *m, uint64_t scratch)
{
	char path[64], *s, *p, how[16], whom[8];
	Itimer tm;
	uint64_t its[4];
	unsigned long long v;
	int who;

	snprintf(path, sizeof path, "/proc/%d/timers", t->pid);
	s = readfile(path, NULL);
	if(s == NULL)
		return 0;	/* a kernel without it */
	while(m->blob.n % 8)
		bufadd(&m->blob, "", 1);
	m->proc.timer = m->blob.n;
	/* entries start "ID:" at the start of a line (and "ClockID:" is not one) */
	for(p = s; p != NULL && *p != 0; p = strchr(p, '\n'), p = p ? p + 1 : NULL){
		if(strncmp(p, "ID:", 3) != 0)
			continue;
		memset(&tm, 0, sizeof tm);
		if(sscanf(p, "ID: %d signal: %d/%llx notify: %15[a-z]/%7[a-z].%d ClockID: %d",
		    &tm.id, &tm.signo, &v, how, whom, &who, &tm.clock) != 7){
			werrstr("cannot parse %s", path);
			goto fail;
		}
		tm.value = v;
		tm.notify = strcmp(how, "none") == 0 ? SIGEV_NONE : strcmp(how, "thread") == 0 ? SIGEV_THREAD : SIGEV_SIGNAL;
		if(strcmp(whom, "tid") == 0){
			tm.notify |= SIGEV_THREAD_ID;
			tm.tid = who;
		}
		if(ask(t, scratch, its, sizeof its, SYS_timer_gettime, tm.id, scratch, 0, 0) < 0)
			goto fail;
		tm.interval = its[0] * 1000000000ULL + its[1];
		tm.left = its[2] * 1000000000ULL + its[3];
		if(bufadd(&m->blob, &tm, sizeof tm) < 0)
			goto fail;
		m->proc.ntimer++;
	}
	free(s);
	/* in order of id: the restorer makes them again in that order */
	qsort(m->blob.p + m->proc.timer, m->proc.ntimer, sizeof tm, bytimerid);
	return 0;
fail:
	free(s);
	return -1;
}

/*
 * Seccomp: the mode, and a filter's programs, oldest first, to be
 * installed again last of all.  Every thread must be as the main one.
 */
static int
dumpseccomp(Group *g, Img *m)
{
	Iproc *p = &m->proc;
	struct sock_filter *f = NULL;
	char n0[16], n1[16];
	uint32_t hdr[2];
	long i, k, n;
	int r = -1;

	p->seccomp = seccompmode(g->t[0].tid);
	statusline(g->t[0].tid, "Seccomp_filters", n0, sizeof n0);
	for(i = 1; i < g->n; i++){
		statusline(g->t[i].tid, "Seccomp_filters", n1, sizeof n1);
		if(seccompmode(g->t[i].tid) != (int)p->seccomp || strcmp(n0, n1) != 0){
			werrstr("unsupported: threads under different seccomp filters");
			return -1;
		}
	}
	if(p->seccomp == 1 && g->n > 1){
		werrstr("unsupported: seccomp strict mode with threads");	/* it is one thread's */
		return -1;
	}
	if(p->seccomp != 2)
		return 0;
	/* index 0 is the newest */
	for(k = 0; ptrace(PTRACE_SECCOMP_GET_FILTER, g->t[0].tid, k, NULL) > 0; k++)
		;
	p->filter = m->blob.n;
	for(i = k - 1; i >= 0; i--){
		n = ptrace(PTRACE_SECCOMP_GET_FILTER, g->t[0].tid, i, NULL);
		free(f);
		f = n > 0 ? calloc(n, sizeof *f) : NULL;
		if(f == NULL || ptrace(PTRACE_SECCOMP_GET_FILTER, g->t[0].tid, i, f) != n){
			werrstr("cannot read seccomp filter: %s", strerror(errno));
			goto out;
		}
		hdr[0] = n;
		hdr[1] = 0;
		if(bufadd(&m->blob, hdr, sizeof hdr) < 0 || bufadd(&m->blob, f, n * sizeof *f) < 0)
			goto out;
		p->nfilter++;
	}
	p->filterlen = m->blob.n - p->filter;
	r = 0;
out:
	free(f);
	return r;
}

/* the supplementary groups, from status's Groups: line */
static int
dumpgroups(pid_t pid, Img *m)
{
	char buf[4096], *p, *e;
	uint32_t gid;

	if(statusline(pid, "Groups", buf, sizeof buf) < 0)
		return -1;
	m->proc.groups = m->blob.n;
	for(p = buf; ; p = e){
		gid = strtoul(p, &e, 10);
		if(e == p)
			break;
		if(bufadd(&m->blob, &gid, sizeof gid) < 0)
			return -1;
		m->proc.ngroups++;
	}
	return 0;
}

int
dumpproc(Group *g, Img *m)
{
	Tracee *t = &g->t[0];
	Iproc *p = &m->proc;
	char path[64], buf[4096];
	uint64_t scratch, it[4], f[16];
	int sub = 0;
	ssize_t n;
	long r;
	int i;

	if(tsysaddr(t) < 0 || dumpseccomp(g, m) < 0)
		return -1;
	r = tinject(t, SYS_mmap, 0, Ipage, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
	if(r < 0 && r > -4096){
		if(r != -ESRCH)
			werrstr("cannot map scratch page in target");
		return -1;
	}
	scratch = r;
	for(i = 0; i < g->n; i++){
		g->t[i].sysaddr = t->sysaddr;
		if(dumpthread(&g->t[i], m, scratch) < 0)
			goto fail;
	}
	if(dumpsignals(t, m, scratch) < 0 || pending(t, m, 1, &p->sig, &p->nsig) < 0 ||
	   dumptimers(t, m, scratch) < 0)
		goto fail;
	if(ask(t, scratch, &sub, sizeof sub, SYS_prctl, PR_GET_CHILD_SUBREAPER, scratch, 0, 0) < 0)
		goto fail;
	p->subreaper = sub != 0;
	r = tinject(t, SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0, 0);
	if(r < 0)
		goto fail;
	p->dumpable = r;
	if(ask(t, scratch, &sub, sizeof sub, SYS_prctl, PR_GET_PDEATHSIG, scratch, 0, 0) < 0)
		goto fail;
	p->pdeathsig = sub;
	if((r = tinject(t, SYS_prctl, PR_GET_TIMERSLACK, 0, 0, 0, 0, 0)) < 0 ||
	   (p->keepcaps = tinject(t, SYS_prctl, PR_GET_KEEPCAPS, 0, 0, 0, 0, 0)) > 1 ||
	   (p->thpdisable = tinject(t, SYS_prctl, PR_GET_THP_DISABLE, 0, 0, 0, 0, 0)) > 1){
		werrstr("process exited");
		goto fail;
	}
	p->timerslack = r;
	for(i = 0; i < 3; i++){
		if(ask(t, scratch, it, sizeof it, SYS_getitimer, i, scratch, 0, 0) < 0)
			goto fail;
		memcpy(p->itimer[i], it, sizeof it);
	}
	if(dumpmm(t, m) < 0)
		goto fail;
	if(tinject(t, SYS_munmap, scratch, Ipage, 0, 0, 0, 0) != 0){
		werrstr("process exited");
		return -1;
	}

	snprintf(path, sizeof path, "/proc/%d/cwd", t->pid);
	n = readlink(path, buf, sizeof buf - 1);
	if(n < 0)
		goto gone;
	buf[n] = 0;
	p->cwd = imgstr(m, buf);
	snprintf(path, sizeof path, "/proc/%d/root", t->pid);
	n = readlink(path, buf, sizeof buf - 1);
	if(n < 0)
		goto gone;
	buf[n] = 0;
	p->root = strcmp(buf, "/") == 0 ? Nil : imgstr(m, buf);
	if(statusline(t->pid, "Umask", buf, sizeof buf) < 0)
		goto gone;
	p->umask = strtoul(buf, NULL, 8);
	if(procstr(t->pid, "personality", buf, sizeof buf) < 0)
		goto gone;
	p->personality = strtoul(buf, NULL, 16);
	if(procstr(t->pid, "comm", p->comm, sizeof p->comm) < 0)
		goto gone;
	if(dumplimits(t->pid, p) < 0)
		goto gone;
	if(statusline(t->pid, "NoNewPrivs", buf, sizeof buf) == 0)
		p->nonewprivs = atoi(buf);
	if(dumpgroups(t->pid, m) < 0)
		goto gone;
	for(i = 0; i < Ncap; i++){
		if(statusline(t->pid, capnames[i], buf, sizeof buf) < 0)
			goto gone;
		p->cap[i] = strtoull(buf, NULL, 16);
	}
	if(statfields(t->pid, f, 16) < 0)
		goto gone;
	p->nice = (int64_t)f[15];	/* field 19: nice */
	syscall(SYS_sched_getaffinity, t->pid, sizeof p->cpus, p->cpus);
	return 0;
fail:
	tinject(t, SYS_munmap, scratch, Ipage, 0, 0, 0, 0);
	return -1;
gone:
	werrstr("process exited");
	return -1;
}
