/*
 * saved/: named images.  Each freeze or snap lands in
 * <store>/saved/<name>/ with text about the process beside the image.
 * Entries live on disk, so they outlive the server; only the table
 * that gives their names inode numbers is kept in memory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "fs.h"

/* the files of an entry; image is made by pfreeze, the rest by us or pdescribe */
static const struct {
	char	*name;
	int	q;
	mode_t	mode;
} savedtab[] = {
	{"image",	Qsimage,	0700},
	{"status",	Qsstatus,	0444},
	{"cmdline",	Qscmdline,	0444},
	{"maps",	Qsmaps,		0444},
	{"fds",		Qsfds,		0444},
	{"when",	Qswhen,		0444},
};

static char	**names;
static size_t	nnames;

#define QSIDX(q)	(((q) - Qsavedbase) >> 8)

static int
lookfile(const char *name, int q)
{
	size_t i;

	for(i = 0; i < nelem(savedtab); i++)
		if(name != NULL ? strcmp(savedtab[i].name, name) == 0 : savedtab[i].q == q)
			return i;
	return -1;
}

/* the inode of an entry name: its place in the table, added if new */
static uint64_t
entryq(const char *name)
{
	char **a;
	size_t i;

	for(i = 0; i < nnames; i++)
		if(strcmp(names[i], name) == 0)
			return Qsavedbase | (uint64_t)i<<8;
	if(nnames % 64 == 0){
		if((a = realloc(names, (nnames+64) * sizeof *a)) == NULL)
			return 0;
		names = a;
	}
	if((names[nnames] = strdup(name)) == NULL)
		return 0;
	return Qsavedbase | (uint64_t)nnames++<<8;
}

static const char *
qname(uint64_t q)
{
	return QSIDX(q) < nnames ? names[QSIDX(q)] : NULL;
}

/* store/saved/name/file; file "" for the entry itself */
int
savedpath(char *buf, size_t n, const char *name, const char *file)
{
	if((size_t)snprintf(buf, n, "%s/saved/%s%s%s", store, name,
	    file[0] ? "/" : "", file) >= n){
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* dot-names are ours (tmp entries) and never listed */
static int
savedbadname(const char *s)
{
	return badname(s) || s[0] == '.';
}

/* an entry holds plain files only */
static void
rmentry(const char *dir)
{
	struct dirent *de;
	DIR *d;

	if((d = opendir(dir)) == NULL)
		return;
	while((de = readdir(d)) != NULL)
		if(strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	rmdir(dir);
}

/* entries half made by an earlier server */
int
savedinit(void)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir;

	if((dir = storeopen("saved")) == NULL)
		return -1;
	while((de = readdir(dir)) != NULL)
		if(strncmp(de->d_name, ".tmp.", 5) == 0 &&
		    savedpath(path, sizeof path, de->d_name, "") == 0)
			rmentry(path);
	closedir(dir);
	return 0;
}

/* <comm>.<pid>.<n>, the first n not taken */
static int
defname(Pinfo *pi, char *buf, size_t n)
{
	char comm[sizeof pi->name], path[PATH_MAX];
	struct stat st;
	int i;
	char *s;

	snprintf(comm, sizeof comm, "%s", pi->name);
	for(s = comm; *s != '\0'; s++)
		if(*s == '/' || *s == '\n')
			*s = '_';
	if(comm[0] == '.')
		comm[0] = '_';
	for(i = 1; ; i++){
		snprintf(buf, n, "%s.%d.%d", comm, pi->pid, i);
		if(savedpath(path, sizeof path, buf, "") < 0)
			return -1;
		if(lstat(path, &st) < 0)
			return 0;
	}
}

static int
writefile(const char *dir, const char *file, const char *text)
{
	char path[PATH_MAX];
	size_t n;
	int fd, r;

	if((size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path)
		return -1;
	if((fd = open(path, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0444)) < 0)
		return -1;
	n = strlen(text);
	r = write(fd, text, n) == (ssize_t)n ? 0 : -1;
	if(close(fd) < 0)
		r = -1;
	return r;
}

/* status and when: what the server knows, after the freeze */
static int
writetext(Pinfo *pi, Proc *p, const char *dir)
{
	char buf[256];
	struct tm tm;
	time_t t;
	Pinfo now;

	if(pinfo(pi->pid, &now) < 0)
		now = *pi;
	procstatus(&now, p, buf, sizeof buf);
	if(writefile(dir, "status", buf) < 0)
		return -1;
	t = time(NULL);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ\n", gmtime_r(&t, &tm));
	return writefile(dir, "when", buf);
}

/* owner, mode and fsync of every file, then of the directory */
static int
seal(Pinfo *pi, const char *dir)
{
	char path[PATH_MAX];
	size_t i;
	int fd, r;

	for(i = 0; i < nelem(savedtab); i++){
		if((size_t)snprintf(path, sizeof path, "%s/%s", dir, savedtab[i].name) >= sizeof path)
			return -1;
		if((fd = open(path, O_RDONLY|O_CLOEXEC)) < 0)
			return -1;
		r = fchown(fd, pi->uid, pi->gid) < 0 || fchmod(fd, savedtab[i].mode) < 0 ||
			fsync(fd) < 0 ? -1 : 0;
		close(fd);
		if(r < 0)
			return -1;
	}
	if((fd = open(dir, O_RDONLY|O_DIRECTORY|O_CLOEXEC)) < 0)
		return -1;
	r = fchown(fd, pi->uid, pi->gid) < 0 || fchmod(fd, 0755) < 0 || fsync(fd) < 0 ? -1 : 0;
	close(fd);
	return r;
}

/* rename into place; an entry of the same name is swapped out, then removed */
static int
install(const char *tmp, const char *path)
{
	char dir[PATH_MAX];
	int fd;

	if(renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) < 0){
		if(errno != EEXIST ||
		    renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) < 0)
			return -1;
		rmentry(tmp);
	}
	if(storepath(dir, sizeof dir, "saved", "") == 0 &&
	    (fd = open(dir, O_RDONLY|O_DIRECTORY|O_CLOEXEC)) >= 0){
		fsync(fd);
		close(fd);
	}
	return 0;
}

/*
 * The entry is built under a dot-name and renamed into place, so
 * saved/ never shows part of one.  The /proc text is read first: a
 * frozen process is stopped, and one that failed may be gone.
 */
int
savedfreeze(Pinfo *pi, Proc *p, const char *name, Pfreeze *opt)
{
	char ename[NAME_MAX+1], tmp[PATH_MAX], path[PATH_MAX], tname[NAME_MAX+1];
	char image[PATH_MAX];
	int r;

	if(name != NULL && savedbadname(name)){
		werrstr("%s", Ebadname);
		return -1;
	}
	if(name == NULL && defname(pi, ename, sizeof ename) < 0)
		goto syserr;
	if(name != NULL)
		snprintf(ename, sizeof ename, "%s", name);
	snprintf(tname, sizeof tname, ".tmp.%.230s.%d", ename, pi->pid);
	if(savedpath(tmp, sizeof tmp, tname, "") < 0 ||
	    savedpath(path, sizeof path, ename, "") < 0 ||
	    savedpath(image, sizeof image, tname, "image") < 0)
		goto syserr;
	rmentry(tmp);
	if(mkdir(tmp, 0700) < 0)
		goto syserr;
	r = -1;
	if(pdescribe(pi->pid, tmp) < 0)
		goto cleanup;
	pthread_mutex_unlock(&fslock);
	r = pfreeze(pi->pid, image, opt);
	pthread_mutex_lock(&fslock);
	if(r < 0){
		r = -1;
		goto cleanup;
	}
	r = -1;
	if(writetext(pi, p, tmp) < 0 || seal(pi, tmp) < 0 || install(tmp, path) < 0){
		werrstr("saved: %s", strerror(errno));
		/* a failed freeze leaves the process going, as the engine's own failures do */
		if(!(opt->flags & Fsnap))
			pthaw(pi->pid);
		goto cleanup;
	}
	procsaved(p, ename);
	return 0;
cleanup:
	rmentry(tmp);
	return r;
syserr:
	werrstr("saved: %s", strerror(errno));
	return -1;
}

/* the store path of node q: an entry, or one of its files */
static int
qpath(uint64_t q, char *buf, size_t n)
{
	const char *name;
	int i;

	if((name = qname(q)) == NULL)
		return ENOENT;
	i = 0;
	if(QFILE(q) != Qsdir && (i = lookfile(NULL, QFILE(q))) < 0)
		return ENOENT;
	if(savedpath(buf, n, name, QFILE(q) == Qsdir ? "" : savedtab[i].name) < 0)
		return ENAMETOOLONG;
	return 0;
}

int
savedstat(uint64_t q, struct stat *st)
{
	char path[PATH_MAX];
	struct stat sst;
	int err;

	if((err = qpath(q, path, sizeof path)) != 0)
		return err;
	if(lstat(path, &sst) < 0)
		return errno;
	if(QFILE(q) == Qsdir ? !S_ISDIR(sst.st_mode) : !S_ISREG(sst.st_mode))
		return ENOENT;
	memset(st, 0, sizeof *st);
	st->st_ino = q;
	st->st_mode = sst.st_mode & (S_IFMT|0777);
	st->st_nlink = QFILE(q) == Qsdir ? 2 : 1;
	st->st_uid = sst.st_uid;
	st->st_gid = sst.st_gid;
	st->st_size = sst.st_size;
	st->st_blocks = sst.st_blocks;
	st->st_atim = sst.st_atim;
	st->st_mtim = sst.st_mtim;
	st->st_ctim = sst.st_ctim;
	return 0;
}

/* parent is saved/ or an entry */
int
savedlookup(uint64_t parent, const char *name, struct stat *st)
{
	char path[PATH_MAX];
	uint64_t q;
	int i;

	if(parent == Qsaved){
		if(name[0] == '.' || savedpath(path, sizeof path, name, "") < 0)
			return ENOENT;
		if(access(path, F_OK) < 0)
			return errno;
		if((q = entryq(name)) == 0)
			return ENOMEM;
		return savedstat(q, st);
	}
	if(!ISSAVED(parent) || QFILE(parent) != Qsdir)
		return ENOTDIR;
	if((i = lookfile(name, 0)) < 0)
		return ENOENT;
	return savedstat(parent | savedtab[i].q, st);
}

static int
listentry(Fid *f)
{
	char path[PATH_MAX];
	struct stat st;
	size_t i;
	int err;

	if((err = qpath(f->ino, path, sizeof path)) != 0)
		return err;
	for(i = 0; i < nelem(savedtab); i++)
		if(savedstat(f->ino | savedtab[i].q, &st) == 0 &&
		    dentadd(f, savedtab[i].name, st.st_ino, S_IFREG) < 0)
			return ENOMEM;
	return 0;
}

int
savedlist(Fid *f)
{
	struct dirent *de;
	uint64_t q;
	DIR *dir;
	int err;

	if(f->ino != Qsaved)
		return QFILE(f->ino) == Qsdir ? listentry(f) : ENOTDIR;
	if((dir = storeopen("saved")) == NULL)
		return errno;
	err = 0;
	while(err == 0 && (de = readdir(dir)) != NULL){
		if(de->d_name[0] == '.')
			continue;
		if((q = entryq(de->d_name)) == 0 || dentadd(f, de->d_name, q, S_IFDIR) < 0)
			err = ENOMEM;
	}
	closedir(dir);
	return err;
}

/* read only, even for root */
int
savedopen(Fid *f, int flags)
{
	char path[PATH_MAX];
	int err;

	if(QFILE(f->ino) == Qsdir)
		return EISDIR;
	if((flags & O_ACCMODE) != O_RDONLY)
		return EACCES;
	if((err = qpath(f->ino, path, sizeof path)) != 0)
		return err;
	if((f->fd = open(path, O_RDONLY|O_CLOEXEC)) < 0)
		return errno;
	return 0;
}

/* root or the owner of the entry may change it */
static int
mayalter(fuse_req_t req, const char *name)
{
	const struct fuse_ctx *ctx;
	char path[PATH_MAX];
	struct stat st;

	if(name[0] == '.' || savedpath(path, sizeof path, name, "") < 0)
		return ENOENT;
	if(lstat(path, &st) < 0)
		return errno;
	ctx = fuse_req_ctx(req);
	return ctx->uid == 0 || ctx->uid == st.st_uid ? 0 : EACCES;
}

int
savedunlink(fuse_req_t req, uint64_t parent, const char *name)
{
	char path[PATH_MAX];
	const char *ename;
	int err;

	if(parent == Qsaved)
		return EISDIR;
	if(QFILE(parent) != Qsdir || (ename = qname(parent)) == NULL)
		return ENOTDIR;
	if(lookfile(name, 0) < 0)
		return ENOENT;
	if((err = mayalter(req, ename)) != 0)
		return err;
	if(savedpath(path, sizeof path, ename, name) < 0)
		return ENAMETOOLONG;
	return unlink(path) < 0 ? errno : 0;
}

/* the files go first, by unlink, as rm -r does */
int
savedrmdir(fuse_req_t req, uint64_t parent, const char *name)
{
	char path[PATH_MAX];
	int err;

	if(parent != Qsaved)
		return ENOTDIR;
	if((err = mayalter(req, name)) != 0)
		return err;
	if(savedpath(path, sizeof path, name, "") < 0)
		return ENAMETOOLONG;
	if(rmdir(path) < 0)
		return errno;
	procrename(name, "");
	return 0;
}

/* only entries, only within saved/ */
int
savedrename(fuse_req_t req, uint64_t parent, const char *name,
	uint64_t newparent, const char *newname, unsigned flags)
{
	char from[PATH_MAX], to[PATH_MAX];
	int err;

	if(parent != Qsaved || newparent != Qsaved)
		return EXDEV;
	if(flags & RENAME_EXCHANGE)
		return EINVAL;
	if(savedbadname(newname))
		return EINVAL;
	if((err = mayalter(req, name)) != 0)
		return err;
	if((err = mayalter(req, newname)) != 0 && err != ENOENT)
		return err;
	if(savedpath(from, sizeof from, name, "") < 0 ||
	    savedpath(to, sizeof to, newname, "") < 0)
		return ENAMETOOLONG;
	if(renameat2(AT_FDCWD, from, AT_FDCWD, to, flags) < 0)
		return errno;
	procrename(newname, "");
	procrename(name, newname);
	return 0;
}
