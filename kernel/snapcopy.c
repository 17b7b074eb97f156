/*
 * snap by a copy: while the process is stopped, it forks (an injected
 * clone) and the copy, traced from birth and never let run, keeps its
 * memory as it was.  The process goes on at once; its pages are read
 * from the copy afterwards, and the copy is killed.  Only the maps a
 * fork does not hand on as they are (MADV_DONTFORK, MADV_WIPEONFORK)
 * are read from the process itself in the stop.  The copy's zombie is
 * the process's child (exit signal 0: it is never told): a second
 * short stop makes it reap it.  Should the fork fail, the memory is
 * read in the stop as a freeze does.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "engine.h"

struct Snap {
	pid_t	pid;
	Advice	*adv;		/* every map's advice, read before the stop */
	int	nadv;
	pid_t	copy;		/* ours, traced */
	pid_t	nscopy;		/* the same as the process numbers it */
	Mem	*mm;		/* its maps, between snapstop and snaprest */
	int	phase;		/* Mnow: the rest from the copy; Mall: all read in the stop */
	Track	*tr;		/* or no copy: memory read ahead, what was written since read in the stop */
};

/*
 * Where the clone is made: the copy, should it ever run (persistfs
 * killed before it holds it), comes back from the clone here, with 0,
 * and exits; it never gets to the program's code.  The process never
 * runs past the syscall: its registers are put back at the exit stop.
 */
static const unsigned char forkcode[] = {
	0x0f, 0x05,			/* syscall */
	0x48, 0x85, 0xc0,		/* test %rax, %rax */
	0x75, 0x09,			/* jnz: not the copy */
	0xb8, 0xe7, 0x00, 0x00, 0x00,	/* mov $SYS_exit_group, %eax */
	0x31, 0xff,			/* xor %edi, %edi */
	0x0f, 0x05,			/* syscall */
	0xcc,				/* int3 */
};

/* a fork costs about a page table's copy, what reading a page costs for every Forkratio pages it has */
enum {
	Forkratio	= 40,
	Forkbase	= 256,	/* pages: below this much to read, no fork is worth it */
};

/* how many pages the stop reads rather than fork a copy; 0 if pid is gone */
static uint64_t
fewpages(pid_t pid)
{
	char buf[64];

	if(statusline(pid, "VmRSS", buf, sizeof buf) < 0)
		return 0;
	return Forkbase + strtoull(buf, NULL, 10) * 1024 / Ipage / Forkratio;
}

/*
 * Before the stop: each map's advice (which a fork would not copy), so
 * the stop reads no smaps; and with img, the memory read ahead (track.c)
 * if the kernel can track what is written after, and what was written
 * meanwhile read again if it is more than the stop should read.
 */
Snap *
snapprep(pid_t pid, Img *img, int lean)
{
	Snap *sn;

	sn = calloc(1, sizeof *sn);
	if(sn == NULL){
		werrstr("out of memory");
		return NULL;
	}
	sn->pid = pid;
	if(vmadvice(pid, &sn->adv, &sn->nadv) < 0){
		free(sn);
		return NULL;
	}
	if(img != NULL && (sn->tr = trackstart(pid, img, lean)) != NULL &&
	   trackagain(sn->tr, img, fewpages(pid)) < 0){
		trackfree(sn->tr);
		sn->tr = NULL;	/* by a copy */
	}
	return sn;
}

pid_t
snappid(Snap *sn)
{
	return sn->pid;
}

static void	endcopy(Snap *sn, Pstats *st);

void
snapfree(Snap *sn)
{
	if(sn == NULL)
		return;
	if(sn->mm != NULL){
		/* a snap given up between its stop and its rest */
		endcopy(sn, &(Pstats){0});
		memfree(sn->mm);
	}
	trackfree(sn->tr);
	free(sn->adv);
	free(sn);
}

/* the copy at its first stop, to die with us */
static int
hold(pid_t copy)
{
	int st;

	if(waitstop(copy, &st, Stopwait) < 0 ||
	   ptrace(PTRACE_SETOPTIONS, copy, 0, PTRACE_O_EXITKILL|PTRACE_O_TRACESYSGOOD) < 0){
		werrstr("copy exited");
		return -1;
	}
	return 0;
}

/* fork the stopped thread t: the clone is made at forkcode in a page of its own */
static int
forkcopy(Tracee *t, Snap *sn)
{
	char path[64];
	uint64_t sysaddr;
	long page, r;
	int fd, ok;

	if(tsysaddr(t) < 0)
		return -1;
	page = tinject(t, SYS_mmap, 0, Ipage, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
	if(page < 0 && page > -4096){
		werrstr("cannot map a page in the process");
		return -1;
	}
	snprintf(path, sizeof path, "/proc/%d/mem", t->pid);
	fd = open(path, O_WRONLY|O_CLOEXEC);
	ok = fd >= 0 && pwrite(fd, forkcode, sizeof forkcode, page) == sizeof forkcode;
	if(fd >= 0)
		close(fd);
	r = -EIO;
	if(ok && ptrace(PTRACE_SETOPTIONS, t->tid, 0, PTRACE_O_TRACESYSGOOD|PTRACE_O_TRACECLONE) == 0){
		/* exit signal 0 and every signal blocked (tinject): no one hears of the copy */
		t->born = 0;
		sysaddr = t->sysaddr;
		t->sysaddr = page;
		r = tinject(t, SYS_clone, 0, 0, 0, 0, 0, 0);
		t->sysaddr = sysaddr;
		ptrace(PTRACE_SETOPTIONS, t->tid, 0, PTRACE_O_TRACESYSGOOD);
	}
	if(t->born > 0){
		sn->copy = t->born;
		sn->nscopy = r;
	}
	if(sn->copy > 0 && hold(sn->copy) < 0)
		r = -ESRCH;
	tinject(t, SYS_munmap, page, Ipage, 0, 0, 0, 0);
	if(r <= 0){
		werrstr("fork in process: %s", strerror(r < 0 ? -r : EIO));
		return -1;
	}
	return 0;
}

/* the copy's zombie is still the child of pid */
static int
childof(pid_t copy, pid_t pid)
{
	uint64_t f[2];

	return statfields(copy, f, 1) == 0 && (pid_t)f[0] == pid;
}

/*
 * Kill the copy and reap it as its tracer; then the process reaps its
 * zombie in a second stop.  A process that ended meanwhile hands it to
 * its reaper, told now (a reparented zombie's exit signal is SIGCHLD);
 * one that reaped it itself (__WALL) gets ECHILD: both are fine.
 */
static void
endcopy(Snap *sn, Pstats *st)
{
	Tracee t;
	pid_t tid;
	double t0;
	int s;

	if(sn->copy <= 0)
		return;
	kill(sn->copy, SIGKILL);
	while(waitpid(sn->copy, &s, __WALL) == sn->copy && !WIFEXITED(s) && !WIFSIGNALED(s))
		;
	if(!childof(sn->copy, sn->pid))
		return;
	t0 = now();
	tid = livetid(sn->pid);
	if(tid > 0 && tseize(&t, sn->pid, tid) == 0){
		if(tinterrupt(&t) == 0 && twait(&t, Stopwait) == 0 && tsysaddr(&t) == 0)
			tinject(&t, SYS_waitid, P_PID, sn->nscopy, 0, WEXITED|WNOHANG|__WALL, 0, 0);
		tdetach(&t, 0);
	}
	st->reapms = now() - t0;
}

/* the text of /proc/pid/name */
static char *
proctext(pid_t pid, const char *name)
{
	char path[64], *s;

	snprintf(path, sizeof path, "/proc/%d/%s", pid, name);
	s = readfile(path, NULL);
	if(s == NULL)
		werrstr("copy exited");
	return s;
}

/* read ahead, most of it still holds: what was written since is read now, unless a fork is quicker */
static int
fewwritten(Snap *sn, Img *img, pid_t pid)
{
	uint64_t few;
	int64_t n;

	n = mempages(sn->mm, img, pid);
	if(n < 0 || (few = fewpages(pid)) == 0)
		return 1;	/* gone: the read will say so */
	return (uint64_t)n < few;
}

/*
 * In the stop: the copy forked, what the copy will not have (and shared
 * memory) read from the process; then g is let go, st->stoppedms the
 * time it was held since tstop.  snaprest reads the rest.  Memory read
 * ahead needs no copy if the process wrote little of it since.
 */
int
snapstop(Snap *sn, Group *g, Img *img, int lean, double tstop)
{
	Pstats *st = img->st;
	pid_t pid = g->t[0].pid;
	char *maps;
	int i, r;

	sn->mm = memopen(pid, lean);
	if(sn->mm == NULL){
		gdetach(g, 0);
		return -1;
	}
	memadvise(sn->mm, sn->adv, sn->nadv);
	sn->phase = Mnow;
	if(sn->tr != NULL){
		memtrack(sn->mm, sn->tr);
		if(fewwritten(sn, img, pid))
			sn->phase = Mall;
	}
	if(sn->phase == Mnow){
		/* the maps a fork does not copy as they are: from the process, in the stop */
		for(i = 0; i < sn->nadv; i++)
			if(sn->adv[i].bits & (Adontfork|Awipeonfork))
				memnow(sn->mm, sn->adv[i].start, sn->adv[i].end);
		memnowshared(sn->mm);
		if(forkcopy(&g->t[0], sn) < 0)
			sn->phase = Mall;	/* no copy: read it all in the stop, as a freeze does */
		else{
			/* MADV_DONTFORK maps made since snapprep: not in the copy */
			if((maps = proctext(sn->copy, "maps")) == NULL){
				gdetach(g, 0);
				return -1;
			}
			memabsent(sn->mm, maps);
			free(maps);
		}
	}
	r = memsave(sn->mm, img, pid, sn->phase);
	gdetach(g, 0);
	st->stoppedms = now() - tstop + (sn->tr != NULL ? trackheld(sn->tr) : 0);
	return r;
}

/* the rest of the memory, from the copy; the copy ends */
int
snaprest(Snap *sn, Img *img)
{
	Advice *a = NULL;
	int i, na, r = -1;

	if(sn->phase == Mnow){
		img->st->fromcopy = 1;
		/* MADV_WIPEONFORK maps made since snapprep: the copy's are empty */
		if(vmadvice(sn->copy, &a, &na) < 0)
			goto out;
		for(i = 0; i < na; i++)
			if((a[i].bits & Awipeonfork) && memnow(sn->mm, a[i].start, a[i].end) > 0){
				werrstr("process remapped its memory during the snap: try again");
				goto out;
			}
		if(memsave(sn->mm, img, sn->copy, Mlater) < 0)
			goto out;
	}
	r = memclose(sn->mm, img);
out:
	free(a);
	endcopy(sn, img->st);
	memfree(sn->mm);
	sn->mm = NULL;
	trackfree(sn->tr);	/* every map unregistered */
	sn->tr = NULL;
	return r;
}
