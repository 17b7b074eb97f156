/*
 * run/: write an image into a new file; when it is closed the image
 * resumes, and the file then reads back the new pid or the error.
 * Entries live in memory; their bytes in <store>/run/<name>.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "fs.h"

typedef struct Run Run;
struct Run {
	char	name[NAME_MAX+1];
	uint64_t	ino;
	uid_t	uid;
	gid_t	gid;
	int	done;		/* resume was tried; reply says how it went */
	char	reply[Errlen+16];
	struct timespec	mtime;
	Run	*next;
};

static Run	*runs;
static uint64_t	nextq = Qrunbase;

static Run *
findname(const char *name)
{
	Run *r;

	for(r = runs; r != NULL; r = r->next)
		if(strcmp(r->name, name) == 0)
			break;
	return r;
}

static Run *
findq(uint64_t q)
{
	Run *r;

	for(r = runs; r != NULL; r = r->next)
		if(r->ino == q)
			break;
	return r;
}

static int
runpath(const char *name, char *buf, size_t n)
{
	return storepath(buf, n, "run", name);
}

/* new bytes: whatever ran before is no longer what the file holds */
static void
touched(Run *r)
{
	r->done = 0;
	r->reply[0] = '\0';
	clock_gettime(CLOCK_REALTIME, &r->mtime);
}

/* entries do not survive a restart, so neither do their bytes */
int
runinit(void)
{
	struct dirent *de;
	DIR *dir;

	if((dir = storeopen("run")) == NULL)
		return -1;
	while((de = readdir(dir)) != NULL)
		if(strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			unlinkat(dirfd(dir), de->d_name, 0);
	closedir(dir);
	return 0;
}

int
runstat(uint64_t q, struct stat *st)
{
	char path[PATH_MAX];
	struct stat bst;
	Run *r;

	if((r = findq(q)) == NULL)
		return ENOENT;
	memset(st, 0, sizeof *st);
	st->st_ino = r->ino;
	st->st_mode = S_IFREG|0600;
	st->st_nlink = 1;
	st->st_uid = r->uid;
	st->st_gid = r->gid;
	st->st_atim = st->st_mtim = st->st_ctim = r->mtime;
	if(r->done)
		st->st_size = strlen(r->reply);
	else if(runpath(r->name, path, sizeof path) == 0 && stat(path, &bst) == 0){
		st->st_size = bst.st_size;
		st->st_blocks = bst.st_blocks;
	}
	return 0;
}

int
runlookup(const char *name, struct stat *st)
{
	Run *r;

	if((r = findname(name)) == NULL)
		return ENOENT;
	return runstat(r->ino, st);
}

int
runlist(Fid *f)
{
	Run *r;

	for(r = runs; r != NULL; r = r->next)
		if(dentadd(f, r->name, r->ino, S_IFREG) < 0)
			return ENOMEM;
	return 0;
}

static void
runfree(Run *r)
{
	Run **l;

	for(l = &runs; *l != NULL; l = &(*l)->next)
		if(*l == r){
			*l = r->next;
			break;
		}
	free(r);
}

void
runcreate(fuse_req_t req, const char *name, struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	const struct fuse_ctx *ctx;
	char path[PATH_MAX];
	struct stat st;
	Run *r;
	Fid *f;
	int err;

	ctx = fuse_req_ctx(req);
	f = NULL;
	if((r = findname(name)) != NULL){
		/* lost a race with another create: open what is there */
		err = EEXIST;
		if(fi->flags & O_EXCL)
			goto fail;
		err = EACCES;
		if(ctx->uid != 0 && ctx->uid != r->uid)
			goto fail;
		err = ENOMEM;
		if((f = fidalloc(r->ino)) == NULL)
			goto fail;
		if((err = runopen(req, f, fi->flags)) != 0)
			goto fail;
		goto reply;
	}

	err = ENAMETOOLONG;
	if(strlen(name) > NAME_MAX || runpath(name, path, sizeof path) < 0)
		goto fail;
	err = ENOMEM;
	if((r = calloc(1, sizeof *r)) == NULL)
		goto fail;
	strcpy(r->name, name);
	r->ino = nextq++;
	r->uid = ctx->uid;
	r->gid = ctx->gid;
	touched(r);
	r->next = runs;
	runs = r;
	if((f = fidalloc(r->ino)) == NULL)
		goto unlink;
	if((f->wfd = open(path, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0700)) < 0 ||
	    fchown(f->wfd, r->uid, r->gid) < 0 || fchmod(f->wfd, 0700) < 0){
		err = errno;
		goto unlink;
	}

reply:
	if((err = runstat(r->ino, &st)) != 0)
		goto fail;
	mkentry(&e, &st, 0);
	fi->direct_io = 1;
	fi->fh = (uintptr_t)f;
	fuse_reply_create(req, &e, fi);
	return;

unlink:
	unlink(path);
	runfree(r);
fail:
	if(f != NULL){
		if(f->wfd >= 0)
			close(f->wfd);
		free(f);
	}
	fuse_reply_err(req, err);
}

/* the backing file is opened as needed: see runflush */
int
runopen(fuse_req_t req, Fid *f, int flags)
{
	char path[PATH_MAX];
	Run *r;

	if((r = findq(f->ino)) == NULL)
		return ENOENT;
	if(runpath(r->name, path, sizeof path) < 0)
		return errno;
	if(flags & O_TRUNC){
		if(truncate(path, 0) < 0)
			return errno;
		touched(r);
	}
	return 0;
}

void
runread(fuse_req_t req, Fid *f, size_t size, off_t off)
{
	char path[PATH_MAX];
	struct fuse_bufvec bv;
	size_t n;
	Run *r;

	r = findq(f->ino);
	if(r != NULL && r->done){
		n = strlen(r->reply);
		if(off < 0 || (size_t)off >= n)
			size = 0;
		else if(size > n - off)
			size = n - off;
		fuse_reply_buf(req, size ? r->reply+off : NULL, size);
		return;
	}
	if(f->fd < 0){
		if(r == NULL){
			fuse_reply_err(req, ENOENT);
			return;
		}
		if(runpath(r->name, path, sizeof path) < 0 ||
		    (f->fd = open(path, O_RDONLY|O_CLOEXEC)) < 0){
			fuse_reply_err(req, errno);
			return;
		}
	}
	bv = FUSE_BUFVEC_INIT(size);
	bv.buf[0].flags = FUSE_BUF_IS_FD|FUSE_BUF_FD_SEEK;
	bv.buf[0].fd = f->fd;
	bv.buf[0].pos = off;
	fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
}

void
runwrite(fuse_req_t req, Fid *f, const char *buf, size_t size, off_t off)
{
	char path[PATH_MAX];
	ssize_t n;
	Run *r;

	if((r = findq(f->ino)) == NULL){
		fuse_reply_err(req, ENOENT);
		return;
	}
	if(f->wfd < 0 && (runpath(r->name, path, sizeof path) < 0 ||
	    (f->wfd = open(path, O_WRONLY|O_CLOEXEC)) < 0)){
		fuse_reply_err(req, errno);
		return;
	}
	if((n = pwrite(f->wfd, buf, size, off)) < 0){
		fuse_reply_err(req, errno);
		return;
	}
	f->wrote = 1;
	touched(r);
	fuse_reply_write(req, n);
}

int
runtrunc(uint64_t q, off_t size)
{
	char path[PATH_MAX];
	Run *r;

	if((r = findq(q)) == NULL)
		return ENOENT;
	if(runpath(r->name, path, sizeof path) < 0 || truncate(path, size) < 0)
		return errno;
	touched(r);
	return 0;
}

/*
 * Whom the image runs as: the copier, and only an image of the
 * copier's own; when root copies, the owner recorded in the image, so
 * root never runs a user's image as root.  Nil means stay root.
 */
static int
mkcred(fuse_req_t req, const char *path, Pcred *cred, Pcred **credp)
{
	const struct fuse_ctx *ctx;
	struct passwd *pw;
	uid_t uid;
	gid_t gid;
	int n;

	ctx = fuse_req_ctx(req);
	memset(cred, 0, sizeof *cred);
	*credp = cred;
	if(ctx->uid != 0){
		if(pimageuid(path, &uid, &gid) < 0)
			return -1;
		if(uid != ctx->uid){
			werrstr("permission denied: the image is uid %d's", (int)uid);
			return -1;
		}
		cred->uid = ctx->uid;
		cred->gid = ctx->gid;
		n = fuse_req_getgroups(req, nelem(cred->groups), cred->groups);
		cred->ngroups = n < 0 ? 0 : n > (int)nelem(cred->groups) ? (int)nelem(cred->groups) : n;
		return 0;
	}
	if(pimageuid(path, &uid, &gid) < 0)
		return -1;
	if(uid == 0){
		*credp = NULL;
		return 0;
	}
	cred->uid = uid;
	cred->gid = gid;
	cred->oldpid = 1;	/* root asked */
	n = nelem(cred->groups);
	if((pw = getpwuid(uid)) == NULL || getgrouplist(pw->pw_name, gid, cred->groups, &n) < 0){
		cred->groups[0] = gid;
		n = 1;
	}
	cred->ngroups = n;
	/* it must be able to read and exec its own image */
	if(chown(path, uid, gid) < 0){
		werrstr("chown image: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * flush, not release: close(2) waits for it, so `cp img run/x; cat
 * run/x` sees the outcome, and cp reports a failed resume.  Our own
 * write fd must be closed first or exec fails with ETXTBSY.
 */
void
runflush(fuse_req_t req, Fid *f)
{
	char path[PATH_MAX];
	Pcred cred, *credp;
	pid_t pid;
	Run *r;
	int eno;

	if(f->wfd >= 0){
		close(f->wfd);
		f->wfd = -1;
	}
	if(!f->wrote || (r = findq(f->ino)) == NULL){
		fuse_reply_err(req, 0);
		return;
	}
	f->wrote = 0;
	eno = 0;
	pid = 0;
	if(runpath(r->name, path, sizeof path) < 0){
		werrstr("%s", strerror(errno));
		eno = ENAMETOOLONG;
	}else if(mkcred(req, path, &cred, &credp) < 0 || (pid = presume(path, credp)) < 0)
		eno = errnum(errstr());
	if(eno != 0)
		snprintf(r->reply, sizeof r->reply, "error: %s\n", errstr());
	else
		snprintf(r->reply, sizeof r->reply, "%d\n", pid);
	trace(req, "run %s: %.*s", r->name, (int)strcspn(r->reply, "\n"), r->reply);
	clock_gettime(CLOCK_REALTIME, &r->mtime);
	r->done = 1;
	fuse_reply_err(req, eno);
}

int
runremove(const char *name)
{
	char path[PATH_MAX];
	Run *r;

	if((r = findname(name)) == NULL)
		return ENOENT;
	if(runpath(r->name, path, sizeof path) == 0)
		unlink(path);
	runfree(r);
	return 0;
}
