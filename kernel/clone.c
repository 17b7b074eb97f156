/*
 * clone: a copy of a running process, made at its next system call,
 * detached from it.  The copy is forked by the target itself (an
 * injected clone with CLONE_PARENT: the target's parent is the copy's,
 * so the target never hears of it), and both then re-issue the system
 * call the target was about to make.  Nothing is hooked before the
 * request and nothing stays hooked after it.  As with fork(2), the copy
 * of a multithreaded process has one thread: the main one, whose next
 * system call it is made at.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "engine.h"

enum {
	Waitms	= 500,		/* for a next system call, before cloning where it is */
	Opts	= PTRACE_O_TRACESYSGOOD|PTRACE_O_TRACEFORK,
};

/* run the thread on to the next stop of this kind, passing signals on */
static int
until(Tracee *t, int event, int ms)
{
	int st, sig;

	for(;;){
		if(waitstop(t->tid, &st, ms) < 0)
			return -1;
		sig = WSTOPSIG(st);
		if(event == 0 && sig == (SIGTRAP|0x80))
			return 0;	/* entry or exit: the caller knows which comes */
		if(event != 0 && st>>16 == event)
			return 0;
		/* group stops are passed over; real signals go in as they would have */
		sig = st>>16 == 0 && sig != SIGTRAP && sig != (SIGTRAP|0x80) ? sig : 0;
		if(ptrace(PTRACE_SYSCALL, t->tid, 0, sig) < 0){
			werrstr("process exited");
			return -1;
		}
	}
}

static int
step(Tracee *t, int event)
{
	if(ptrace(PTRACE_SYSCALL, t->tid, 0, 0) < 0){
		werrstr("process exited");
		return -1;
	}
	return until(t, event, Stopwait);
}

/*
 * The thread is at a syscall entry (entry != 0: the one it was making,
 * whose number we replace) or anywhere else (we enter at the vdso's
 * syscall instruction).  Fork it; put it back as t->regs says.
 */
static pid_t
forkat(Tracee *t, int entry)
{
	struct user_regs_struct r = t->regs;
	unsigned long child;

	if(!entry && tsysaddr(t) < 0)
		return -1;
	r.orig_rax = SYS_clone;
	r.rax = SYS_clone;
	r.rdi = CLONE_PARENT|SIGCHLD;
	r.rsi = r.rdx = r.r10 = r.r8 = 0;
	if(!entry)
		r.rip = t->sysaddr;
	t->injected = 1;
	if(ptrace(PTRACE_SETREGS, t->tid, 0, &r) < 0 || (!entry && step(t, 0) < 0))
		return -1;
	if(step(t, PTRACE_EVENT_FORK) < 0 || ptrace(PTRACE_GETEVENTMSG, t->tid, 0, &child) < 0)
		return -1;
	if(step(t, 0) < 0 || ptrace(PTRACE_SETREGS, t->tid, 0, &t->regs) < 0)
		return -1;
	return child;
}

/* the copy opens what it was told to use as fd 0, 1 or 2 */
static int
redirect(Tracee *c, const char *path, int fd)
{
	static const int modes[] = {O_RDONLY, O_WRONLY|O_CREAT|O_TRUNC, O_WRONLY|O_CREAT|O_TRUNC};
	long scratch, nfd;

	if(tsysaddr(c) < 0)
		return -1;
	scratch = tinject(c, SYS_mmap, 0, Ipage, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
	if(scratch < 0 && scratch > -4096)
		goto fail;
	if(twrite(c->pid, scratch, path, strlen(path) + 1) < 0)
		goto fail;
	nfd = tinject(c, SYS_openat, AT_FDCWD, scratch, modes[fd], 0666, 0, 0);
	tinject(c, SYS_munmap, scratch, Ipage, 0, 0, 0, 0);
	if(nfd < 0){
		werrstr("clone: %s: %s", path, strerror(-nfd));
		return -1;
	}
	if(nfd != fd){
		tinject(c, SYS_dup2, nfd, fd, 0, 0, 0, 0);
		tinject(c, SYS_close, nfd, 0, 0, 0, 0, 0);
	}
	return 0;
fail:
	werrstr("clone: cannot set up %s", path);
	return -1;
}

/* the copy, stopped at birth: give it the target's registers and files */
static int
setup(Tracee *t, Tracee *c, Pclone *o)
{
	int st, i;

	if(waitstop(c->tid, &st, Stopwait) < 0)
		return -1;
	/* should we die from here on, the copy dies too: never a half-made copy */
	ptrace(PTRACE_SETOPTIONS, c->tid, 0, PTRACE_O_EXITKILL|PTRACE_O_TRACESYSGOOD);
	/* as an image would resume: the kernel's restart state is the target's, not the copy's */
	c->regs = t->image;
	c->injected = 1;
	if(ptrace(PTRACE_SETREGS, c->tid, 0, &c->regs) < 0){
		werrstr("copy exited");
		return -1;
	}
	for(i = 0; i < 3; i++)
		if(o->stdio[i] != NULL && redirect(c, o->stdio[i], i) < 0)
			return -1;
	return 0;
}

pid_t
pclone(pid_t pid, Pclone *o)
{
	Tracee t, c;
	pid_t child = -1;
	int entry = 0;
	double t0 = now();

	memset(&c, 0, sizeof c);
	if(pid == getpid()){
		werrstr("cannot clone persistfs");
		return -1;
	}
	if(nthreads(pid) < 0){
		werrstr("process exited");
		return -1;
	}
	if(seccomped(pid) || !plainids(pid))
		return -1;
	if(tseize(&t, pid, pid) < 0)
		return -1;
	if(tinterrupt(&t) < 0)
		goto out;
	if(o->release != NULL && o->writer == pid)
		o->release(o->arg);
	if(twait(&t, Stopwait) < 0)
		goto out;
	if(ptrace(PTRACE_SETOPTIONS, t.tid, 0, Opts) < 0){
		werrstr("process exited");
		goto out;
	}
	/*
	 * Inside a blocking call (a restart code) or held in a stop, the
	 * thread is at a safe point already; else let it run to its next
	 * system call, or, if it makes none in time, take it where it is.
	 */
	if(t.regs.rip == t.found.rip && t.stopsig == SIGTRAP){
		if(ptrace(PTRACE_SYSCALL, t.tid, 0, 0) < 0){
			werrstr("process exited");
			goto out;
		}
		if(until(&t, 0, o->waitms > 0 ? o->waitms : Waitms) == 0){
			ptrace(PTRACE_GETREGS, t.tid, 0, &t.found);
			t.regs = t.found;
			t.regs.rip -= 2;	/* both issue it again */
			t.regs.rax = t.found.orig_rax;
			t.regs.orig_rax = -1;
			t.image = t.regs;
			entry = 1;
		}else if(strcmp(errstr(), "process did not stop") == 0){
			if(tinterrupt(&t) < 0 || twait(&t, Stopwait) < 0)
				goto out;
		}else
			goto out;
	}
	child = forkat(&t, entry);
	if(child < 0)
		goto out;
	c.pid = c.tid = child;
	c.seized = 1;
	if(setup(&t, &c, o) < 0){
		kill(child, SIGKILL);
		tdetach(&c, 0);
		child = -1;
	}
out:
	if(c.seized)
		tdetach(&c, 0);
	tdetach(&t, 0);
	o->ms = now() - t0;
	return child;
}
