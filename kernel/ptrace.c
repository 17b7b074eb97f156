/*
 * Holding a thread: seize, interrupt, wait for the stop, inject system
 * calls, let go.  Registers are put back right after injecting, so if
 * persistfs dies at any later point the kernel detaches a thread that
 * is exactly as it was.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sys/auxv.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include "engine.h"

enum {
	Erestartsys	= 512,
	Erestartnointr	= 513,
	Erestartnohand	= 514,
	Erestartblock	= 516,
};

double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int
tseize(Tracee *t, pid_t pid, pid_t tid)
{
	int tr, opt;

	memset(t, 0, sizeof *t);
	t->pid = pid;
	t->tid = tid;
	tr = tracer(tid);
	if(tr > 0){
		werrstr("process is traced by pid %d", tr);
		return -1;
	}
	/* under seccomp the calls we inject must not meet the filter (needs CAP_SYS_ADMIN) */
	opt = PTRACE_O_TRACESYSGOOD | (seccompmode(tid) > 0 ? PTRACE_O_SUSPEND_SECCOMP : 0);
	if(ptrace(PTRACE_SEIZE, tid, 0, opt) < 0){
		werrstr(errno == ESRCH ? "process exited" : (opt & PTRACE_O_SUSPEND_SECCOMP) ?
			"unsupported: seccomp, and no CAP_SYS_ADMIN to suspend it" : "permission denied");
		return -1;
	}
	t->seized = 1;
	return 0;
}

int
tinterrupt(Tracee *t)
{
	if(ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) < 0){
		werrstr("process exited");
		return -1;
	}
	return 0;
}

/*
 * A thread interrupted inside a system call stops with a restart code
 * in rax.  regs gets what the kernel itself would do next (re-issue it);
 * image gets what a new process can do: re-issue the call from the
 * start, or, where the restart state lived in the kernel
 * (restart_syscall), return EINTR, which sleep and poll loops handle.
 */
static void
restart(Tracee *t)
{
	struct user_regs_struct *r = &t->regs, *m = &t->image;
	long nr = t->found.orig_rax, rax = t->found.rax;

	*r = t->found;
	*m = t->found;
	r->orig_rax = -1;
	m->orig_rax = -1;
	if(nr < 0)
		return;
	switch(-rax){
	case Erestartsys:
	case Erestartnointr:
	case Erestartnohand:
		r->rax = m->rax = nr;
		r->rip -= 2;
		m->rip -= 2;
		break;
	case Erestartblock:
		r->rax = SYS_restart_syscall;
		r->rip -= 2;
		if(nr == SYS_restart_syscall)
			m->rax = -EINTR;
		else{
			m->rax = nr;
			m->rip -= 2;
		}
		break;
	}
}

/*
 * Wait for a stop of tid.  Every ptrace stop sends us SIGCHLD: wait for
 * that (blocked meanwhile) rather than poll, but never long at a time,
 * since a SIGCHLD taken by another thread would otherwise be missed.
 */
int
waitstop(pid_t tid, int *status, int ms)
{
	double end = now() + ms, left;
	struct timespec ts;
	sigset_t chld, old;
	pid_t r;
	int rv = 0;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &chld, &old);
	for(;;){
		r = waitpid(tid, status, __WALL|WNOHANG);
		if(r == tid)
			break;
		if(r < 0 && errno != EINTR){
			werrstr("process exited");
			rv = -1;
			goto out;
		}
		left = end - now();
		if(left <= 0){
			werrstr("process did not stop");
			rv = -1;
			goto out;
		}
		ts.tv_sec = 0;
		ts.tv_nsec = left < 1 ? left * 1e6 : 1000000;
		sigtimedwait(&chld, NULL, &ts);
	}
	if(WIFEXITED(*status) || WIFSIGNALED(*status)){
		werrstr("process exited");
		rv = -1;
	}
out:
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rv;
}

int
twait(Tracee *t, int ms)
{
	int st, sig;

	for(;;){
		if(waitstop(t->tid, &st, ms) < 0)
			return -1;
		sig = WSTOPSIG(st);
		if(st>>16 == PTRACE_EVENT_STOP){
			t->stopsig = sig;	/* SIGTRAP: our interrupt; else a group stop */
			break;
		}
		/* a signal on its way in: let it go, the interrupt is still pending */
		if(ptrace(PTRACE_CONT, t->tid, 0, sig == (SIGTRAP|0x80) ? 0 : sig) < 0){
			werrstr("process exited");
			return -1;
		}
	}
	if(ptrace(PTRACE_GETREGS, t->tid, 0, &t->found) < 0){
		werrstr("process exited");
		return -1;
	}
	restart(t);
	return 0;
}

/* step the thread to its next syscall stop, holding back signals */
static int
tosyscall(Tracee *t)
{
	unsigned long msg;
	int st, sig;

	for(;;){
		if(ptrace(PTRACE_SYSCALL, t->tid, 0, 0) < 0){
			werrstr("process exited");
			return -1;
		}
		if(waitstop(t->tid, &st, Stopwait) < 0)
			return -1;
		sig = WSTOPSIG(st);
		if(sig == (SIGTRAP|0x80))
			return 0;
		if((st>>16 == PTRACE_EVENT_CLONE || st>>16 == PTRACE_EVENT_FORK) &&
		   ptrace(PTRACE_GETEVENTMSG, t->tid, 0, &msg) == 0)
			t->born = msg;
		if(st>>16 == 0 && (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE)){
			/* our injection faulted: never let the thread see it */
			werrstr("injected system call faulted");
			return -1;
		}
		/* anything else: a stop of no concern, go on (signals are blocked meanwhile) */
	}
}

long
tinject(Tracee *t, long nr, long a, long b, long c, long d, long e, long f)
{
	struct user_regs_struct r = t->regs;
	uint64_t mask, all = ~0ULL;
	long rv = -ESRCH;

	r.rax = nr;
	r.orig_rax = -1;
	r.rdi = a;
	r.rsi = b;
	r.rdx = c;
	r.r10 = d;
	r.r8 = e;
	r.r9 = f;
	r.rip = t->sysaddr;
	t->injected = 1;
	/*
	 * No signal may be taken while the registers are ours: block them all
	 * for the while (a timer's signal, say, goes on pending as it should).
	 */
	if(ptrace(PTRACE_GETSIGMASK, t->tid, sizeof mask, &mask) < 0 ||
	   ptrace(PTRACE_SETSIGMASK, t->tid, sizeof all, &all) < 0){
		werrstr("process exited");
		return -ESRCH;
	}
	if(ptrace(PTRACE_SETREGS, t->tid, 0, &r) < 0 || tosyscall(t) < 0 || tosyscall(t) < 0 ||
	   ptrace(PTRACE_GETREGS, t->tid, 0, &r) < 0){
		if(strstr(errstr(), "faulted") == NULL)
			werrstr("process exited");
		goto out;
	}
	rv = r.rax;
out:
	/* put the thread back at once: a dying persistfs must leave it whole */
	if(ptrace(PTRACE_SETREGS, t->tid, 0, &t->regs) < 0 ||
	   ptrace(PTRACE_SETSIGMASK, t->tid, sizeof mask, &mask) < 0){
		werrstr("process exited");
		rv = -ESRCH;
	}
	return rv;
}

int
tdetach(Tracee *t, int stop)
{

	if(!t->seized)
		return 0;
	if(t->injected)
		ptrace(PTRACE_SETREGS, t->tid, 0, &t->regs);
	if(stop)
		kill(t->pid, SIGSTOP);
	ptrace(PTRACE_DETACH, t->tid, 0, 0);
	t->seized = 0;
	return 0;
}

int
tread(pid_t pid, uint64_t addr, void *buf, size_t n)
{
	struct iovec l = {buf, n}, r = {(void *)addr, n};

	if(process_vm_readv(pid, &l, 1, &r, 1, 0) == (ssize_t)n)
		return 0;
	return -1;
}

int
twrite(pid_t pid, uint64_t addr, const void *buf, size_t n)
{
	struct iovec l = {(void *)buf, n}, r = {(void *)addr, n};

	if(process_vm_writev(pid, &l, 1, &r, 1, 0) == (ssize_t)n)
		return 0;
	return -1;
}

/*
 * A syscall instruction in the target's vdso, to inject at.  Every
 * process on this kernel has the same vdso: find the instruction in
 * ours once, and the target's vdso through its auxv.
 */
int
tsysaddr(Tracee *t)
{
	static uint64_t off;
	static int found;
	unsigned char *v = (unsigned char *)getauxval(AT_SYSINFO_EHDR);
	uint64_t *aux, base = 0;
	char path[64];
	size_t n, i;

	if(t->sysaddr != 0)
		return 0;
	for(; !found && v != NULL && off < 65536; off++)
		if(v[off] == 0x0f && v[off+1] == 0x05){
			found = 1;
			break;
		}
	snprintf(path, sizeof path, "/proc/%d/auxv", t->pid);
	aux = (uint64_t *)readfile(path, &n);
	if(aux == NULL){
		werrstr("process exited");
		return -1;
	}
	for(i = 0; i + 1 < n/8; i += 2)
		if(aux[i] == AT_SYSINFO_EHDR)
			base = aux[i+1];
	free(aux);
	if(base == 0 || !found){
		werrstr("unsupported: process has no vdso");
		return -1;
	}
	t->sysaddr = base + off;
	return 0;
}

/*
 * Every thread of a process.  Threads started while we seize are
 * caught by reading the task list again until it holds no one new.
 */
int
gseize(Group *g, pid_t pid)
{
	char path[64];
	DIR *d;
	struct dirent *de;
	pid_t tid;
	int i, fresh;
	Tracee *t;

	snprintf(path, sizeof path, "/proc/%d/task", pid);
	do{
		fresh = 0;
		d = opendir(path);
		if(d == NULL){
			werrstr("process exited");
			return -1;
		}
		while((de = readdir(d)) != NULL){
			tid = atoi(de->d_name);
			if(tid <= 0)
				continue;
			for(i = 0; i < g->n && g->t[i].tid != tid; i++)
				;
			if(i < g->n)
				continue;
			if(g->n == Maxthreads){
				closedir(d);
				werrstr("unsupported: more than %d threads", Maxthreads);
				return -1;
			}
			t = &g->t[g->n];
			if(tseize(t, pid, tid) < 0 || tinterrupt(t) < 0){
				if(tid == pid){
					closedir(d);
					return -1;
				}
				t->seized = 0;	/* a thread that just ended */
				continue;
			}
			g->n++;
			fresh = 1;
		}
		closedir(d);
	}while(fresh);
	/* the main thread first: the restorer is it */
	for(i = 0; i < g->n; i++)
		if(g->t[i].tid == pid && i != 0){
			Tracee x = g->t[0];

			g->t[0] = g->t[i];
			g->t[i] = x;
		}
	return 0;
}

int
gwait(Group *g, int ms)
{
	char path[64];
	struct stat sb;
	int i, n;

	do{
		for(i = 0; i < g->n; i++){
			if(g->t[i].stopped)
				continue;
			if(twait(&g->t[i], ms) == 0){
				g->t[i].stopped = 1;
				continue;
			}
			snprintf(path, sizeof path, "/proc/%d/task/%d", g->t[0].pid, g->t[i].tid);
			if(i == 0 || stat(path, &sb) == 0)
				return -1;
			/* a thread that ended meanwhile: not part of the process now */
			g->t[i--] = g->t[--g->n];
		}
		/* threads started before their makers stopped */
		n = g->n;
		if(gseize(g, g->t[0].pid) < 0)
			return -1;
	}while(g->n > n);
	return 0;
}

void
gdetach(Group *g, int stop)
{
	int i;

	for(i = 0; i < g->n; i++)
		tdetach(&g->t[i], stop && i == 0);
}
