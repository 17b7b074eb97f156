/*
 * A process and its descendants, all held stopped at once.  Children
 * are found through /proc/PID/task/TID/children; once every process
 * found is stopped none can make more, so the list is read again until
 * nothing new turns up.  A child that dies meanwhile stays a zombie
 * (its parent is stopped and cannot wait for it) and is kept as one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/kcmp.h>
#include "engine.h"

enum {
	Seizetries	= 4,	/* seizes again of a tree a child left as it was seized */
};

static int
memberof(Tree *t, pid_t pid)
{
	int i;

	for(i = 0; i < t->n; i++)
		if(t->m[i].pid == pid)
			return i;
	return -1;
}

/* ppid, pgid, sid and, for a zombie, its wait status, from /proc/pid/stat */
static int
describe1(Member *m)
{
	char state[8];
	uint64_t f[49];

	if(procstate(m->pid, state) < 0 || statfields(m->pid, f, 49) < 0){
		werrstr("process exited");
		return -1;
	}
	m->ppid = f[0];
	m->pgid = f[1];
	m->sid = f[2];
	m->tty = f[3];		/* field 7: tty_nr */
	m->tpgid = f[4];	/* field 8 */
	m->zombie = state[0] == 'Z';
	m->stopped = state[0] == 'T';
	m->status = f[48];	/* field 52: exit_code */
	return 0;
}

static int
add(Tree *t, pid_t pid, int parent)
{
	Member *m;

	if(pid == getpid()){
		werrstr("cannot freeze persistfs: it is in the process tree (use -single)");
		return -1;
	}
	if(t->n == Nmember){
		werrstr("unsupported: more than %d processes in the tree", Nmember);
		return -1;
	}
	m = &t->m[t->n];
	memset(m, 0, sizeof *m);
	m->pid = pid;
	m->parent = parent;
	if(describe1(m) < 0)
		return -1;
	t->n++;
	return 0;
}

/*
 * Every process of an image is the root's user and group (all four
 * ids each): the image is that user's file, and another user's
 * memory must not end up in it (a child running sudo, say).
 */
static const char *ids[] = {"Uid", "Gid"};

static int
sameuser(Tree *t, pid_t pid)
{
	char b[128];
	size_t i;

	for(i = 0; i < sizeof ids/sizeof ids[0]; i++){
		if(statusline(pid, ids[i], b, sizeof b) < 0){
			werrstr("process exited");
			return 0;
		}
		if(strcmp(t->ids[i], b) != 0){
			werrstr("permission denied: process %d of the tree runs as another user", pid);
			return 0;
		}
	}
	return 1;
}

/* children of member i not yet in the tree; one more than fits is enough to refuse */
static int
children(Tree *t, int i)
{
	pid_t k[Nmember + 1];
	int j, n;

	n = childpids(t->m[i].pid, k, Nmember + 1);
	for(j = 0; j < n; j++)
		if(memberof(t, k[j]) < 0 && (!sameuser(t, k[j]) || add(t, k[j], i) < 0))
			return -1;
	return 0;
}

/* m is a zombie now (not a main thread gone before the others, which looks one) */
static int
zombienow(Member *m)
{
	return describe1(m) == 0 && m->zombie && livetid(m->pid) <= 0;
}

static int
seize1(Tree *t, int i)
{
	Member *m = &t->m[i];

	if(m->zombie || m->g != NULL)
		return 0;
	if(foreignns(m->pid) || !plainids(m->pid))
		return -1;
	m->g = calloc(1, sizeof *m->g);
	if(m->g == NULL){
		werrstr("out of memory");
		return -1;
	}
	if(gseize(m->g, m->pid) == 0)
		return 0;
	free(m->g);
	m->g = NULL;
	/* one that died since it was found is a zombie now: its parent holds it */
	if(i > 0 && zombienow(m))
		return 0;
	return -1;
}

/* a thread of one of the processes, writing to us and unable to stop till answered */
static int
writerin(Tree *t, pid_t tid)
{
	int i;

	for(i = 0; i < t->n; i++)
		if(threadof(t->m[i].pid, tid))
			return 1;
	return 0;
}

/* a child that ended after it was seized: the zombie its stopped parent holds */
static int
ended(Tree *t, int i)
{
	Member *m = &t->m[i];

	if(i == 0 || !zombienow(m))
		return -1;
	gdetach(m->g, 0);
	free(m->g);
	m->g = NULL;
	return 0;
}

static int
seizeall(Tree *t, pid_t pid, int single, Pfreeze *opt, int *released)
{
	int i, n;

	memset(t, 0, sizeof *t);
	if(add(t, pid, -1) < 0)
		return -1;
	for(i = 0; i < 2; i++)
		if(statusline(pid, ids[i], t->ids[i], sizeof t->ids[i]) < 0){
			werrstr("process exited");
			return -1;
		}
	if(t->m[0].zombie){
		werrstr("process exited");
		return -1;
	}
	do{
		for(i = 0; i < t->n; i++)
			if(seize1(t, i) < 0)
				return -1;
		if(!*released && opt->release != NULL && writerin(t, opt->writer)){
			opt->release(opt->arg);
			*released = 1;
		}
		for(i = 0; i < t->n; i++)
			if(t->m[i].g != NULL && gwait(t->m[i].g, Stopwait) < 0 && ended(t, i) < 0)
				return -1;
		n = t->n;
		for(i = 0; !single && i < n; i++)
			if(!t->m[i].zombie && children(t, i) < 0)
				return -1;
	}while(t->n > n);
	return 0;
}

/*
 * The tree, all held.  A child that ends as it is being seized (a
 * shell's command substitution, say) may be caught neither stopped nor
 * a zombie: the tree is let go and, after a moment, seized again, while
 * the root lives.
 */
int
treeseize(Tree *t, pid_t pid, int single, Pfreeze *opt)
{
	int try, released = 0;

	for(try = 0;; try++){
		if(seizeall(t, pid, single, opt, &released) == 0)
			return 0;
		if(try == Seizetries || strcmp(errstr(), "process exited") != 0 || livetid(pid) <= 0)
			return -1;
		treedetach(t, 0);
		usleep(1000 << try);	/* its end done: a zombie, or reaped */
	}
}

void
treedetach(Tree *t, int stop)
{
	int i;

	for(i = 0; i < t->n; i++)
		if(t->m[i].g != NULL){
			gdetach(t->m[i].g, stop);
			free(t->m[i].g);
			t->m[i].g = NULL;
		}
}

/*
 * The restorer makes each process's session and group as the process
 * is made: a session is its maker's or its own, a group its own, a
 * member's, or the root's.
 */
/* what clone(2) can have two processes share, and the restorer gives each its own of */
static const struct {
	int	type;
	char	what[24];
} shared[] = {
	{KCMP_VM, "memory"},
	{KCMP_FILES, "a file table"},
	{KCMP_FS, "a working directory"},
	{KCMP_SIGHAND, "signal handlers"},
};

static int
sharenothing(Tree *t)
{
	size_t k;
	int i, j;

	for(i = 0; i < t->n; i++)
		for(j = i + 1; j < t->n; j++){
			if(t->m[i].zombie || t->m[j].zombie)
				continue;
			for(k = 0; k < sizeof shared/sizeof shared[0]; k++)
				if(syscall(SYS_kcmp, t->m[i].pid, t->m[j].pid, shared[k].type, 0, 0) == 0){
					werrstr("unsupported: processes %d and %d share %s", t->m[i].pid, t->m[j].pid, shared[k].what);
					return -1;
				}
		}
	return 0;
}

int
treecheck(Tree *t)
{
	Member *m, *p;
	int i;

	if(sharenothing(t) < 0)
		return -1;

	for(i = 1; i < t->n; i++){
		m = &t->m[i];
		p = &t->m[m->parent];
		if(m->sid != m->pid && m->sid != p->sid){
			werrstr("unsupported: process %d left its parent's session", m->pid);
			return -1;
		}
		if(m->pgid != m->pid && m->pgid != t->m[0].pgid && memberof(t, m->pgid) < 0){
			werrstr("unsupported: process %d is in a process group outside the tree", m->pid);
			return -1;
		}
	}
	return 0;
}
