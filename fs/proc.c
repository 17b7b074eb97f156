/*
 * Per-process state the engine does not keep: the last error, the
 * stats of the last operation, whether an image exists.  Keyed by
 * pid and start time, so a reused pid starts clean.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fs.h"

enum {
	Kint,
	Ku64,
	Kms,
	Kstr,
};

/* the lines of stats, in order */
static const struct {
	char	*name;
	size_t	off;
	int	kind;
} stattab[] = {
	{"procs",	offsetof(Pstats, procs),	Kint},
	{"threads",	offsetof(Pstats, threads),	Kint},
	{"vmas",	offsetof(Pstats, vmas),		Kint},
	{"fds",		offsetof(Pstats, fds),		Kint},
	{"fdkinds",	offsetof(Pstats, fdkinds),	Kstr},
	{"pagestotal",	offsetof(Pstats, pagestotal),	Ku64},
	{"pagesdone",	offsetof(Pstats, pagesdone),	Ku64},
	{"pageswritten",	offsetof(Pstats, pageswritten),	Ku64},
	{"pageszero",	offsetof(Pstats, pageszero),	Ku64},
	{"imagesize",	offsetof(Pstats, imagesize),	Ku64},
	{"rss",		offsetof(Pstats, rss),		Ku64},
	{"stopms",	offsetof(Pstats, stopms),	Kms},
	{"stoppedms",	offsetof(Pstats, stoppedms),	Kms},
	{"reapms",	offsetof(Pstats, reapms),	Kms},
	{"fromcopy",	offsetof(Pstats, fromcopy),	Kint},
	{"pagesahead",	offsetof(Pstats, pagesahead),	Ku64},
	{"pagesagain",	offsetof(Pstats, pagesagain),	Ku64},
	{"memms",	offsetof(Pstats, memms),	Kms},
	{"writems",	offsetof(Pstats, writems),	Kms},
	{"syncms",	offsetof(Pstats, syncms),	Kms},
	{"totalms",	offsetof(Pstats, totalms),	Kms},
};

static Proc	*procs;

/* store/dir/name into buf, or ENAMETOOLONG */
int
storepath(char *buf, size_t n, const char *dir, const char *name)
{
	if((size_t)snprintf(buf, n, "%s/%s/%s", store, dir, name) >= n){
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* store/sub, made if missing, opened for reading */
DIR *
storeopen(const char *sub)
{
	char path[PATH_MAX];

	if(storepath(path, sizeof path, sub, "") < 0)
		return NULL;
	if(mkdir(path, 0755) < 0 && errno != EEXIST)
		return NULL;
	return opendir(path);
}

/* the image of the last freeze or snap of p, in its saved/ entry */
int
imagepath(Proc *p, char *buf, size_t n)
{
	if(p == NULL || p->saved[0] == '\0'){
		errno = ENOENT;
		return -1;
	}
	return savedpath(buf, n, p->saved, "image");
}

/* images/<pid>: a link to the entry, so a restarted server finds it */
static int
linkpath(pid_t pid, char *buf, size_t n)
{
	char name[16];

	snprintf(name, sizeof name, "%d", pid);
	return storepath(buf, n, "images", name);
}

/* the entry of p's last image is name ("": none) */
void
procsaved(Proc *p, const char *name)
{
	char link[PATH_MAX], tmp[PATH_MAX+8], target[NAME_MAX+32];

	snprintf(p->saved, sizeof p->saved, "%s", name);
	if(linkpath(p->pid, link, sizeof link) < 0)
		return;
	if(name[0] == '\0'){
		unlink(link);
		return;
	}
	snprintf(tmp, sizeof tmp, "%s.tmp", link);
	snprintf(target, sizeof target, "../saved/%s/image", name);
	unlink(tmp);
	if(symlink(target, tmp) < 0 || rename(tmp, link) < 0)
		unlink(tmp);
}

/* an entry was renamed (to "": removed) */
void
procrename(const char *from, const char *to)
{
	Proc *p;

	for(p = procs; p != NULL; p = p->next)
		if(strcmp(p->saved, from) == 0)
			procsaved(p, to);
}

/* the process is gone; its image stays in saved/ */
static void
procfree(Proc *p)
{
	if(p->saved[0] != '\0')
		procsaved(p, "");
	free(p);
}

Proc *
procget(Pinfo *pi, int create)
{
	Proc **l, *p;

	for(l = &procs; (p = *l) != NULL; l = &p->next)
		if(p->pid == pi->pid)
			break;
	if(p != NULL && p->start != pi->start && !p->busy){
		*l = p->next;
		procfree(p);
		p = NULL;
	}
	if(p == NULL && create && (p = calloc(1, sizeof *p)) != NULL){
		p->pid = pi->pid;
		p->start = pi->start;
		p->next = procs;
		procs = p;
	}
	return p != NULL && p->start == pi->start ? p : NULL;
}

/* called between requests */
void
procgc(void)
{
	Proc **l, *p;
	Pinfo pi;

	for(l = &procs; (p = *l) != NULL; ){
		if(!p->busy && (pinfo(p->pid, &pi) < 0 || pi.start != p->start)){
			*l = p->next;
			procfree(p);
		}else
			l = &p->next;
	}
}

/* the entry name out of a link ../saved/<name>/image */
static int
linkname(int dfd, const char *name, char *buf, size_t n)
{
	char target[PATH_MAX], *s, *e;
	ssize_t m;

	if((m = readlinkat(dfd, name, target, sizeof target - 1)) < 0)
		return -1;
	target[m] = '\0';
	if(strncmp(target, "../saved/", 9) != 0 || (e = strrchr(target, '/')) == NULL ||
	    strcmp(e, "/image") != 0)
		return -1;
	s = target + 9;
	*e = '\0';
	if(badname(s) || (size_t)snprintf(buf, n, "%s", s) >= n)
		return -1;
	return 0;
}

/* an image written after its process started is that process's */
static int
adoptable(int dfd, const char *name, Pinfo *pi, struct stat *st)
{
	struct timespec t;

	if(strspn(name, "0123456789") != strlen(name))
		return 0;
	if(fstatat(dfd, name, st, 0) < 0 || !S_ISREG(st->st_mode))
		return 0;
	if(pinfo(atoi(name), pi) < 0)
		return 0;
	t = proctime(pi->start);
	return st->st_mtim.tv_sec > t.tv_sec ||
		(st->st_mtim.tv_sec == t.tv_sec && st->st_mtim.tv_nsec >= t.tv_nsec);
}

/*
 * Links left by an earlier server: keep those whose process still
 * runs (a frozen process outlives a restart) and whose entry is
 * there; drop the rest, with any half-made .tmp.
 */
int
procadopt(void)
{
	char name[NAME_MAX+1];
	struct dirent *de;
	struct stat st;
	Pinfo pi;
	Proc *p;
	DIR *dir;

	if((dir = storeopen("images")) == NULL)
		return -1;
	while((de = readdir(dir)) != NULL){
		if(strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if(adoptable(dirfd(dir), de->d_name, &pi, &st) &&
		    linkname(dirfd(dir), de->d_name, name, sizeof name) == 0 &&
		    (p = procget(&pi, 1)) != NULL){
			snprintf(p->saved, sizeof p->saved, "%s", name);
			p->mtime = st.st_mtim;
			continue;
		}
		unlinkat(dirfd(dir), de->d_name, 0);
	}
	closedir(dir);
	return 0;
}

int
procstatus(Pinfo *pi, Proc *p, char *buf, size_t n)
{
	struct passwd *pw;
	char user[32];

	if((pw = getpwuid(pi->uid)) != NULL)
		snprintf(user, sizeof user, "%s", pw->pw_name);
	else
		snprintf(user, sizeof user, "%u", (unsigned)pi->uid);
	return snprintf(buf, n, "%-16s %-12s %-10s\n", pi->name, user, pi->state);
}

int
procerr(Pinfo *pi, Proc *p, char *buf, size_t n)
{
	if(p == NULL || p->err[0] == '\0'){
		buf[0] = '\0';
		return 0;
	}
	return snprintf(buf, n, "%s\n", p->err);
}

int
procstats(Pinfo *pi, Proc *p, char *buf, size_t n)
{
	static Pstats zero;
	const char *s;
	size_t i, m;

	s = (const char *)(p != NULL ? &p->stats : &zero);
	m = 0;
	for(i = 0; i < nelem(stattab) && m < n; i++){
		switch(stattab[i].kind){
		case Kint:
			m += snprintf(buf+m, n-m, "%s %d\n", stattab[i].name,
				*(const int *)(s+stattab[i].off));
			break;
		case Ku64:
			m += snprintf(buf+m, n-m, "%s %llu\n", stattab[i].name,
				(unsigned long long)*(const uint64_t *)(s+stattab[i].off));
			break;
		case Kms:
			m += snprintf(buf+m, n-m, "%s %.3f\n", stattab[i].name,
				*(const double *)(s+stattab[i].off));
			break;
		case Kstr:
			m += snprintf(buf+m, n-m, "%s %s\n", stattab[i].name, s+stattab[i].off);
			break;
		}
	}
	return m < n ? m : n-1;
}

int
procclones(Pinfo *pi, Proc *p, char *buf, size_t n)
{
	if(p == NULL){
		buf[0] = '\0';
		return 0;
	}
	return snprintf(buf, n, "%s", p->clones);
}

/* one pid a line; when full the oldest lines go */
void
procaddclone(Proc *p, pid_t pid)
{
	char line[16], *nl;
	size_t n, len;

	n = snprintf(line, sizeof line, "%d\n", pid);
	len = strlen(p->clones);
	while(len + n >= sizeof p->clones && (nl = strchr(p->clones, '\n')) != NULL){
		memmove(p->clones, nl + 1, len - (nl + 1 - p->clones) + 1);
		len = strlen(p->clones);
	}
	memcpy(p->clones + len, line, n + 1);
}
