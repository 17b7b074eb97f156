/*
 * /<pid>/ctl: one message per write, looked up in cmdtab.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "fs.h"

enum {
	Maxfield	= 8,	/* more than any maxarg */
};

typedef struct Ctl Ctl;
struct Ctl {
	fuse_req_t	req;	/* nil once answered */
	size_t	size;
	Pinfo	pi;
	Proc	*p;
	int	eno;
};

typedef struct Cmdtab Cmdtab;
struct Cmdtab {
	char	*word;
	int	minarg;
	int	maxarg;
	int	(*fn)(Ctl *, const Cmdtab *, int, char **);
	int	flags;			/* for pfreeze */
	int	(*op)(pid_t);		/* the engine call of a plain message */
	char	*self;			/* refusal when aimed at persistfs */
	int	async;			/* may take long: runs on a thread of its own */
};

static int	cfreeze(Ctl *, const Cmdtab *, int, char **);
static int	cplain(Ctl *, const Cmdtab *, int, char **);
static int	cclone(Ctl *, const Cmdtab *, int, char **);

static const Cmdtab cmdtab[] = {
	{"freeze",	0, 4,	cfreeze,	0,	NULL,	"cannot freeze persistfs",	1},
	{"snap",	0, 4,	cfreeze,	Fsnap,	NULL,	"cannot freeze persistfs",	1},
	{"thaw",	0, 0,	cplain,		0,	pthaw,	NULL,	0},
	{"kill",	0, 0,	cplain,		0,	pkill,	"cannot kill persistfs",	0},
	{"stop",	0, 0,	cplain,		0,	pstop,	"cannot stop persistfs",	0},
	{"start",	0, 0,	cplain,		0,	pthaw,	NULL,	0},
	{"clone",	0, 3,	cclone,		0,	NULL,	"cannot clone persistfs",	1},
};

/* freeze's and snap's flags */
static const struct {
	char	*flag;
	int	bit;
} freezeopts[] = {
	{"-lean",	Flean},
	{"-single",	Fsingle},
	{"-lazy",	Flazy},
	{"-copy",	Fcopy},
};

/* clone's options: which of the copy's fds a path replaces */
static const struct {
	char	*key;
	int	fd;
} cloneopts[] = {
	{"stdin=",	0},
	{"stdout=",	1},
	{"stderr=",	2},
};

static int
fail(Ctl *c, int eno, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->p->err, sizeof c->p->err, fmt, ap);
	va_end(ap);
	c->eno = eno;
	return -1;
}

static int
enginefail(Ctl *c)
{
	return fail(c, errnum(errstr()), "%s", errstr());
}

/* split on blanks and tabs; returns the count even past max */
static int
tokenize(char *s, char **f, int max)
{
	int n;

	for(n = 0; ; n++){
		s += strspn(s, " \t");
		if(*s == '\0')
			return n;
		if(n < max)
			f[n] = s;
		s += strcspn(s, " \t");
		if(*s != '\0')
			*s++ = '\0';
	}
}

int
badname(const char *s)
{
	return strlen(s) > 255 || strchr(s, '/') != NULL || strchr(s, '\n') != NULL ||
		strcmp(s, ".") == 0 || strcmp(s, "..") == 0;
}

/*
 * The target may be the writer itself (a script freezing itself):
 * it cannot stop while blocked in this write, so the engine calls
 * release to answer it first.
 */
static void
release(void *arg)
{
	Ctl *c;

	c = arg;
	if(c->req != NULL){
		fuse_reply_write(c->req, c->size);
		c->req = NULL;
	}
}

static int
cfreeze(Ctl *c, const Cmdtab *ct, int argc, char **argv)
{
	char *name;
	Pfreeze opt;
	size_t k;
	int i;

	memset(&opt, 0, sizeof opt);
	opt.flags = ct->flags;
	name = NULL;
	for(i = 0; i < argc; i++){
		for(k = 0; k < nelem(freezeopts) && strcmp(argv[i], freezeopts[k].flag) != 0; k++)
			;
		if(k < nelem(freezeopts))
			opt.flags |= freezeopts[k].bit;
		else if(argv[i][0] == '-')
			return fail(c, EINVAL, "%s", Ebadflag);
		else if(name != NULL)
			return fail(c, EINVAL, "%s", Ebadarg);
		else
			name = argv[i];
	}
	if(name != NULL && badname(name))
		return fail(c, EINVAL, "%s", Ebadname);
	memset(&c->p->stats, 0, sizeof c->p->stats);
	opt.skipdir = mntpt;
	opt.writer = fuse_req_ctx(c->req)->pid;
	opt.release = release;
	opt.arg = c;
	opt.stats = &c->p->stats;
	if(savedfreeze(&c->pi, c->p, name, &opt) < 0)
		return enginefail(c);
	return 0;
}

static int
cclone(Ctl *c, const Cmdtab *ct, int argc, char **argv)
{
	Pclone opt;
	pid_t pid;
	size_t i, k;
	int a;

	memset(&opt, 0, sizeof opt);
	for(a = 0; a < argc; a++){
		for(i = 0; i < nelem(cloneopts); i++){
			k = strlen(cloneopts[i].key);
			if(strncmp(argv[a], cloneopts[i].key, k) == 0 && argv[a][k] != '\0')
				break;
		}
		if(i == nelem(cloneopts))
			return fail(c, EINVAL, "%s \"%s\"", Ebadclone, argv[a]);
		opt.stdio[cloneopts[i].fd] = argv[a] + k;
	}
	opt.writer = fuse_req_ctx(c->req)->pid;
	opt.release = release;
	opt.arg = c;
	pthread_mutex_unlock(&fslock);
	pid = pclone(c->pi.pid, &opt);
	pthread_mutex_lock(&fslock);
	if(pid < 0)
		return enginefail(c);
	procaddclone(c->p, pid);
	return 0;
}

static int
cplain(Ctl *c, const Cmdtab *ct, int argc, char **argv)
{
	if(ct->op(c->pi.pid) < 0)
		return enginefail(c);
	return 0;
}

static const Cmdtab *
lookupcmd(Ctl *c, char **f, int nf)
{
	const Cmdtab *ct;

	if(nf == 0){
		fail(c, EINVAL, "%s", Eempty);
		return NULL;
	}
	for(ct = cmdtab; ct < cmdtab+nelem(cmdtab); ct++)
		if(strcmp(ct->word, f[0]) == 0)
			break;
	if(ct == cmdtab+nelem(cmdtab)){
		fail(c, EINVAL, "%s \"%s\"", Ebadctl, f[0]);
		return NULL;
	}
	if(nf-1 < ct->minarg || nf-1 > ct->maxarg){
		fail(c, EINVAL, "%s", Ebadarg);
		return NULL;
	}
	return ct;
}

/* the outcome: err, and the reply unless release gave it; fslock held */
static void
finish(Ctl *c, int r)
{
	clock_gettime(CLOCK_REALTIME, &c->p->mtime);
	if(r == 0)
		c->p->err[0] = '\0';
	else
		trace(NULL, "ctl %d: %s", c->pi.pid, c->p->err);
	if(c->req == NULL)
		return;
	if(r == 0)
		fuse_reply_write(c->req, c->size);
	else
		fuse_reply_err(c->req, c->eno);
}

typedef struct Job Job;
struct Job {
	Ctl	c;
	const Cmdtab	*ct;
	char	msg[Maxmsg+1];
};

/*
 * freeze, snap and clone take as long as the process is large or slow
 * to reach a system call: meanwhile the server serves on (stats shows
 * the progress).  Each runs whole on one thread, as ptrace wants.
 */
static void *
job(void *arg)
{
	Job *j = arg;
	char *f[Maxfield];
	int nf, r;

	pthread_mutex_lock(&fslock);
	nf = tokenize(j->msg, f, nelem(f));
	r = j->ct->fn(&j->c, j->ct, nf-1, f+1);
	j->c.p->busy = 0;
	finish(&j->c, r);
	pthread_mutex_unlock(&fslock);
	free(j);
	return NULL;
}

static int
spawnjob(Ctl *c, const Cmdtab *ct, const char *buf, size_t size)
{
	pthread_attr_t a;
	pthread_t t;
	Job *j;
	int r;

	j = malloc(sizeof *j);
	if(j == NULL)
		return -1;
	j->c = *c;
	j->ct = ct;
	memcpy(j->msg, buf, size);
	j->msg[size] = '\0';
	if(size > 0 && j->msg[size-1] == '\n')
		j->msg[size-1] = '\0';
	/* release and the reply refer to the job's Ctl from now on */
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &a, job, j);
	pthread_attr_destroy(&a);
	if(r != 0){
		free(j);
		return -1;
	}
	return 0;
}

void
ctlwrite(fuse_req_t req, pid_t pid, const char *buf, size_t size)
{
	char msg[Maxmsg+1], *f[Maxfield];
	const struct fuse_ctx *ctx;
	const Cmdtab *ct;
	Ctl c;
	int nf, r;

	memset(&c, 0, sizeof c);
	c.req = req;
	c.size = size;
	if(pinfo(pid, &c.pi) < 0){
		fuse_reply_err(req, errnum(errstr()));
		return;
	}
	/* not recorded in err: a stranger must not write the owner's err */
	ctx = fuse_req_ctx(req);
	if(ctx->uid != 0 && ctx->uid != c.pi.uid){
		fuse_reply_err(req, EACCES);
		return;
	}
	if((c.p = procget(&c.pi, 1)) == NULL){
		fuse_reply_err(req, ENOMEM);
		return;
	}

	r = -1;
	if(size > Maxmsg){
		fail(&c, EINVAL, "%s", Etoolong);
		goto out;
	}
	memcpy(msg, buf, size);
	msg[size] = '\0';
	if(size > 0 && msg[size-1] == '\n')
		msg[size-1] = '\0';
	nf = tokenize(msg, f, nelem(f));
	if((ct = lookupcmd(&c, f, nf)) == NULL)
		goto out;
	if(c.p->busy){
		fail(&c, EBUSY, "%s", Ebusy);
		goto out;
	}
	if(ct->self != NULL && pid == getpid()){
		fail(&c, EDEADLK, "%s", ct->self);
		goto out;
	}
	trace(req, "ctl %d %s", pid, ct->word);
	c.p->busy = 1;
	if(ct->async && spawnjob(&c, ct, buf, size) == 0)
		return;
	r = ct->fn(&c, ct, nf-1, f+1);
	c.p->busy = 0;
out:
	finish(&c, r);
}
