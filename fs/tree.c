/*
 * The tree: directory tables, inode arithmetic, and the FUSE
 * operations, each a table lookup that hands off to proc, ctl or run.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "fs.h"

enum {
	Maxtext	= 4096,
};

typedef struct Dirtab Dirtab;
struct Dirtab {
	char	*name;
	int	q;
	mode_t	mode;
	int	(*gen)(Pinfo *, Proc *, char *, size_t);
};

static Dirtab rootdir[] = {
	{"run",		Qrun,		S_IFDIR|01777,	NULL},
	{"saved",	Qsaved,		S_IFDIR|01777,	NULL},
};

static Dirtab procdir[] = {
	{"ctl",		Qctl,		S_IFREG|0200,	NULL},
	{"status",	Qstatus,	S_IFREG|0444,	procstatus},
	{"image",	Qimage,		S_IFREG|0700,	NULL},
	{"err",		Qerr,		S_IFREG|0444,	procerr},
	{"stats",	Qstats,		S_IFREG|0400,	procstats},
	{"clones",	Qclones,	S_IFREG|0444,	procclones},
};

static struct timespec	boot;	/* of the server: times of the fixed nodes */

static Dirtab *
lookdir(Dirtab *tab, size_t n, const char *name, int q)
{
	size_t i;

	for(i = 0; i < n; i++)
		if(name != NULL ? strcmp(tab[i].name, name) == 0 : tab[i].q == q)
			return &tab[i];
	return NULL;
}

static pid_t
atopid(const char *s)
{
	long n;
	char *e;

	if(!isdigit((unsigned char)s[0]) || s[0] == '0')
		return 0;
	errno = 0;
	n = strtol(s, &e, 10);
	if(*e != '\0' || errno != 0 || n > INT32_MAX)
		return 0;
	return n;
}

static void
settimes(struct stat *st, struct timespec ts)
{
	st->st_atim = ts;
	st->st_mtim = ts;
	st->st_ctim = ts;
}

/* the one stat helper: every node's attributes come from here */
static int
qstat(uint64_t q, struct stat *st, uint64_t *gen)
{
	char buf[Maxtext], path[PATH_MAX];
	struct stat ist;
	Dirtab *d;
	Pinfo pi;
	Proc *p;

	memset(st, 0, sizeof *st);
	st->st_ino = q;
	st->st_nlink = 1;
	*gen = 0;
	if(ISRUN(q))
		return runstat(q, st);
	if(ISSAVED(q))
		return savedstat(q, st);
	if(!ISPROC(q)){
		if(q == Qroot)
			st->st_mode = S_IFDIR|0555;
		else if((d = lookdir(rootdir, nelem(rootdir), NULL, q)) != NULL)
			st->st_mode = d->mode;
		else
			return ENOENT;
		st->st_nlink = 2;
		settimes(st, boot);
		return 0;
	}

	if(pinfo(QPID(q), &pi) < 0)
		return ENOENT;
	*gen = pi.start;
	st->st_uid = pi.uid;
	st->st_gid = pi.gid;
	settimes(st, proctime(pi.start));
	if(QFILE(q) == Qdir){
		st->st_mode = S_IFDIR|0555;
		st->st_nlink = 2;
		return 0;
	}
	if((d = lookdir(procdir, nelem(procdir), NULL, QFILE(q))) == NULL)
		return ENOENT;
	st->st_mode = d->mode;
	p = procget(&pi, 0);
	if(p != NULL && p->mtime.tv_sec != 0)
		settimes(st, p->mtime);
	if(d->gen != NULL)
		st->st_size = d->gen(&pi, p, buf, sizeof buf);
	if(d->q == Qimage && imagepath(p, path, sizeof path) == 0 &&
	    stat(path, &ist) == 0){
		st->st_size = ist.st_size;
		st->st_blocks = ist.st_blocks;
		settimes(st, ist.st_mtim);
	}
	return 0;
}

/* the process tree changes under us all the time: cache nothing */
void
mkentry(struct fuse_entry_param *e, struct stat *st, uint64_t gen)
{
	memset(e, 0, sizeof *e);
	e->ino = st->st_ino;
	e->generation = gen;
	e->attr = *st;
	e->attr_timeout = 0;
	e->entry_timeout = 0;
}

Fid *
fidalloc(uint64_t q)
{
	Fid *f;

	if((f = calloc(1, sizeof *f)) == NULL)
		return NULL;
	f->ino = q;
	f->fd = -1;
	f->wfd = -1;
	return f;
}

static void
fidfree(Fid *f)
{
	int i;

	if(f->fd >= 0)
		close(f->fd);
	if(f->wfd >= 0)
		close(f->wfd);
	for(i = 0; i < f->ndent; i++)
		free(f->dent[i].name);
	free(f->dent);
	free(f->buf);
	free(f);
}

int
dentadd(Fid *f, const char *name, uint64_t q, mode_t mode)
{
	Dent *d;

	if(f->ndent % 64 == 0){
		d = realloc(f->dent, (f->ndent+64) * sizeof *d);
		if(d == NULL)
			return -1;
		f->dent = d;
	}
	d = &f->dent[f->ndent];
	if((d->name = strdup(name)) == NULL)
		return -1;
	d->ino = q;
	d->mode = mode;
	f->ndent++;
	return 0;
}

/* walk one step; 0 when there is no such name */
static uint64_t
walk(uint64_t parent, const char *name)
{
	Dirtab *d;
	pid_t pid;

	if(parent == Qroot){
		if((d = lookdir(rootdir, nelem(rootdir), name, 0)) != NULL)
			return d->q;
		if((pid = atopid(name)) > 0)
			return QPATH(pid, Qdir);
		return 0;
	}
	if(ISPROC(parent) && QFILE(parent) == Qdir)
		if((d = lookdir(procdir, nelem(procdir), name, 0)) != NULL)
			return QPATH(QPID(parent), d->q);
	return 0;
}

static void
fsinit(void *data, struct fuse_conn_info *conn)
{
	clock_gettime(CLOCK_REALTIME, &boot);
}

static void
fslookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	struct stat st;
	uint64_t q, gen;
	int err;

	trace(req, "lookup %#lx %s", parent, name);
	gen = 0;
	if(parent == Qrun)
		err = runlookup(name, &st);
	else if(parent == Qsaved || ISSAVED(parent))
		err = savedlookup(parent, name, &st);
	else if((q = walk(parent, name)) == 0)
		err = ENOENT;
	else
		err = qstat(q, &st, &gen);
	if(err != 0){
		fuse_reply_err(req, err);
		return;
	}
	mkentry(&e, &st, gen);
	fuse_reply_entry(req, &e);
}

static void
fsgetattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	uint64_t gen;
	int err;

	trace(req, "getattr %#lx", ino);
	if((err = qstat(ino, &st, &gen)) != 0)
		fuse_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, 0);
}

/*
 * Truncation is all that can be set.  ctl takes it (shell `>`) and
 * ignores it; run/ files really truncate.  Times, and on run/ files
 * modes and owners, are let pass unchanged so touch and cp -p work.
 */
static void
fssetattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int set,
	struct fuse_file_info *fi)
{
	struct stat st;
	uint64_t gen;
	int err, ok;

	trace(req, "setattr %#lx %#x size %lld", ino, set, (long long)attr->st_size);
	ok = FUSE_SET_ATTR_SIZE|FUSE_SET_ATTR_ATIME|FUSE_SET_ATTR_MTIME|
		FUSE_SET_ATTR_ATIME_NOW|FUSE_SET_ATTR_MTIME_NOW|FUSE_SET_ATTR_CTIME|
		FUSE_SET_ATTR_KILL_SUID|FUSE_SET_ATTR_KILL_SGID;
	if(ISRUN(ino))
		ok |= FUSE_SET_ATTR_MODE|FUSE_SET_ATTR_UID|FUSE_SET_ATTR_GID;
	else if(!ISPROC(ino) || QFILE(ino) != Qctl)
		ok = 0;
	err = (set & ~ok) != 0 ? EPERM : 0;
	if(err == 0 && ISRUN(ino) && (set & FUSE_SET_ATTR_SIZE))
		err = runtrunc(ino, attr->st_size);
	if(err == 0)
		err = qstat(ino, &st, &gen);
	if(err != 0)
		fuse_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, 0);
}

static int
listproc(Fid *f)
{
	struct dirent *de;
	DIR *dir;
	pid_t pid;
	int err;

	if((dir = opendir("/proc")) == NULL)
		return errno;
	err = 0;
	while(err == 0 && (de = readdir(dir)) != NULL)
		if((pid = atopid(de->d_name)) > 0 &&
		    dentadd(f, de->d_name, QPATH(pid, Qdir), S_IFDIR) < 0)
			err = ENOMEM;
	closedir(dir);
	return err;
}

/* the listing is made once at open so offsets stay put while we read */
static int
list(Fid *f)
{
	Pinfo pi;
	size_t i;

	if(dentadd(f, ".", f->ino, S_IFDIR) < 0 || dentadd(f, "..", Qroot, S_IFDIR) < 0)
		return ENOMEM;
	if(f->ino == Qroot){
		for(i = 0; i < nelem(rootdir); i++)
			if(dentadd(f, rootdir[i].name, rootdir[i].q, rootdir[i].mode) < 0)
				return ENOMEM;
		return listproc(f);
	}
	if(f->ino == Qrun)
		return runlist(f);
	if(f->ino == Qsaved || ISSAVED(f->ino))
		return savedlist(f);
	if(!ISPROC(f->ino) || QFILE(f->ino) != Qdir)
		return ENOTDIR;
	if(pinfo(QPID(f->ino), &pi) < 0)
		return ENOENT;
	for(i = 0; i < nelem(procdir); i++)
		if(dentadd(f, procdir[i].name, QPATH(pi.pid, procdir[i].q), procdir[i].mode) < 0)
			return ENOMEM;
	return 0;
}

static void
fsopendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	Fid *f;
	int err;

	trace(req, "opendir %#lx", ino);
	if((f = fidalloc(ino)) == NULL){
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if((err = list(f)) != 0){
		fidfree(f);
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uintptr_t)f;
	fuse_reply_open(req, fi);
}

static void
fsreaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	struct fuse_file_info *fi)
{
	struct stat st;
	size_t n, m;
	char *buf;
	Fid *f;
	int i;

	trace(req, "readdir %#lx off %lld", ino, (long long)off);
	f = (Fid *)(uintptr_t)fi->fh;
	if((buf = malloc(size)) == NULL){
		fuse_reply_err(req, ENOMEM);
		return;
	}
	memset(&st, 0, sizeof st);
	n = 0;
	for(i = off; i >= 0 && i < f->ndent; i++){
		st.st_ino = f->dent[i].ino;
		st.st_mode = f->dent[i].mode;
		m = fuse_add_direntry(req, buf+n, size-n, f->dent[i].name, &st, i+1);
		if(m > size-n)
			break;
		n += m;
	}
	fuse_reply_buf(req, buf, n);
	free(buf);
}

static void
fsrelease(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	trace(req, "release %#lx", ino);
	fidfree((Fid *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* default_permissions checks owners; this stops root writing status */
static int
modeok(mode_t mode, int flags)
{
	int acc;

	acc = flags & O_ACCMODE;
	if(acc != O_WRONLY && (mode & 0444) == 0)
		return 0;
	if(acc != O_RDONLY && (mode & 0222) == 0)
		return 0;
	return 1;
}

static int
procopen(Fid *f, int flags)
{
	char path[PATH_MAX];
	Dirtab *d;
	Pinfo pi;
	Proc *p;
	int n;

	if(pinfo(QPID(f->ino), &pi) < 0)
		return ENOENT;
	if((d = lookdir(procdir, nelem(procdir), NULL, QFILE(f->ino))) == NULL)
		return QFILE(f->ino) == Qdir ? EISDIR : ENOENT;
	if(!modeok(d->mode, flags))
		return EACCES;
	p = procget(&pi, 0);
	if(d->q == Qimage){
		if(imagepath(p, path, sizeof path) < 0)
			return ENOENT;
		if((f->fd = open(path, O_RDONLY|O_CLOEXEC)) < 0)
			return errno;
	}
	if(d->gen != NULL){
		/* a snapshot, so a reader sees one consistent text */
		if((f->buf = malloc(Maxtext)) == NULL)
			return ENOMEM;
		n = d->gen(&pi, p, f->buf, Maxtext);
		f->len = n < 0 ? 0 : n;
	}
	return 0;
}

static void
fsopen(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	Fid *f;
	int err;

	trace(req, "open %#lx flags %#x", ino, fi->flags);
	if(!ISRUN(ino) && !ISPROC(ino) && !ISSAVED(ino)){
		fuse_reply_err(req, EISDIR);
		return;
	}
	if((f = fidalloc(ino)) == NULL){
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if(ISRUN(ino))
		err = runopen(req, f, fi->flags);
	else if(ISSAVED(ino))
		err = savedopen(f, fi->flags);
	else
		err = procopen(f, fi->flags);
	if(err != 0){
		fidfree(f);
		fuse_reply_err(req, err);
		return;
	}
	fi->direct_io = 1;
	fi->fh = (uintptr_t)f;
	fuse_reply_open(req, fi);
}

static void
fsread(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	struct fuse_file_info *fi)
{
	struct fuse_bufvec bv;
	Fid *f;

	trace(req, "read %#lx %zu at %lld", ino, size, (long long)off);
	f = (Fid *)(uintptr_t)fi->fh;
	if(ISRUN(ino)){
		runread(req, f, size, off);
		return;
	}
	if(f->fd >= 0){
		bv = FUSE_BUFVEC_INIT(size);
		bv.buf[0].flags = FUSE_BUF_IS_FD|FUSE_BUF_FD_SEEK;
		bv.buf[0].fd = f->fd;
		bv.buf[0].pos = off;
		fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
		return;
	}
	if(off < 0 || (size_t)off >= f->len)
		size = 0;
	else if(size > f->len - off)
		size = f->len - off;
	fuse_reply_buf(req, size ? f->buf+off : NULL, size);
}

static void
fswrite(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
	off_t off, struct fuse_file_info *fi)
{
	trace(req, "write %#lx %zu at %lld", ino, size, (long long)off);
	if(ISRUN(ino))
		runwrite(req, (Fid *)(uintptr_t)fi->fh, buf, size, off);
	else if(ISPROC(ino) && QFILE(ino) == Qctl)
		ctlwrite(req, QPID(ino), buf, size);
	else
		fuse_reply_err(req, EBADF);
}

/* close(2) waits for flush, not release: run/ resumes here */
static void
fsflush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	trace(req, "flush %#lx", ino);
	if(ISRUN(ino))
		runflush(req, (Fid *)(uintptr_t)fi->fh);
	else
		fuse_reply_err(req, 0);
}

static void
fscreate(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	struct fuse_file_info *fi)
{
	trace(req, "create %#lx %s %#o", parent, name, mode);
	if(parent != Qrun){
		fuse_reply_err(req, EACCES);
		return;
	}
	runcreate(req, name, fi);
}

static void
fsunlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	trace(req, "unlink %#lx %s", parent, name);
	if(parent == Qrun)
		fuse_reply_err(req, runremove(name));
	else if(parent == Qsaved || ISSAVED(parent))
		fuse_reply_err(req, savedunlink(req, parent, name));
	else
		fuse_reply_err(req, EACCES);
}

static void
fsrmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	trace(req, "rmdir %#lx %s", parent, name);
	fuse_reply_err(req, parent == Qsaved ? savedrmdir(req, parent, name) : EACCES);
}

/* saved/ entries only; run/ names stay put */
static void
fsrename(fuse_req_t req, fuse_ino_t parent, const char *name,
	fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	trace(req, "rename %#lx %s %#lx %s", parent, name, newparent, newname);
	if(parent != Qsaved && newparent != Qsaved)
		fuse_reply_err(req, EACCES);
	else
		fuse_reply_err(req, savedrename(req, parent, name, newparent, newname, flags));
}

const struct fuse_lowlevel_ops fsops = {
	.init		= fsinit,
	.lookup		= fslookup,
	.getattr	= fsgetattr,
	.setattr	= fssetattr,
	.opendir	= fsopendir,
	.readdir	= fsreaddir,
	.releasedir	= fsrelease,
	.open		= fsopen,
	.read		= fsread,
	.write		= fswrite,
	.flush		= fsflush,
	.release	= fsrelease,
	.create		= fscreate,
	.unlink		= fsunlink,
	.rmdir		= fsrmdir,
	.rename		= fsrename,
};
