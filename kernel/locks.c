/*
 * File locks an fd holds, from the "lock:" lines of its fdinfo (the
 * kernel lists there the locks taken through that open file): kept
 * with a regular file and taken again on resume, refused on anything
 * else.  fds that are one open file come back as one (Sshare), so a
 * flock or OFD lock is taken once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine.h"

static const struct {
	char	name[8];
	int	kind;
} lockkinds[] = {
	{"FLOCK", Lflock}, {"POSIX", Lposix}, {"OFDLCK", Lofd},
};

static int
lockkind(const char *name)
{
	size_t i;

	for(i = 0; i < sizeof lockkinds/sizeof lockkinds[0]; i++)
		if(strcmp(name, lockkinds[i].name) == 0)
			return lockkinds[i].kind;
	return -1;
}

/* one line: "lock:\t1: POSIX  ADVISORY  WRITE 1234 fe:00:42 0 EOF" */
static int
parselock(int fd, const char *l, Ilock *k)
{
	char type[16], mode[16], rw[16], end[24];
	unsigned long long start;
	int kind;

	if(sscanf(l, "lock: %*d: %15s %15s %15s %*d %*s %llu %23s", type, mode, rw, &start, end) != 5){
		werrstr("unsupported: fd %d holds a lock we cannot read", fd);
		return -1;
	}
	kind = lockkind(type);
	if(kind < 0 || strcmp(mode, "ADVISORY") != 0){
		werrstr("unsupported: fd %d holds a %s lock", fd, kind < 0 ? type : mode);
		return -1;
	}
	k->kind = kind;
	k->write = strcmp(rw, "WRITE") == 0;
	k->start = start;
	k->len = strcmp(end, "EOF") == 0 ? 0 : strtoull(end, NULL, 10) - start + 1;
	return 0;
}

/* the locks of fd into the blob, f->arg[0] and arg[1] saying where */
static int
locks1(int fd, const char *info, Ifd *f, Img *m)
{
	const char *l = strstr(info, "lock:");
	Ilock k;

	if(l == NULL)
		return 0;
	if(f->kind != Dfile){
		werrstr("unsupported: fd %d holds a lock on %s", fd, f->kind == Dgone ? "a deleted file" : "a file that is not a regular file");
		return -1;
	}
	while(m->blob.n % 8)
		bufadd(&m->blob, "", 1);
	f->arg[0] = m->blob.n;
	for(; l != NULL; l = strstr(l + 5, "lock:")){
		if(parselock(fd, l, &k) < 0 || bufadd(&m->blob, &k, sizeof k) < 0)
			return -1;
		f->arg[1]++;
	}
	return 0;
}

/* every saved fd's locks, once each fd knows its kind */
int
fdlocks(pid_t pid, Img *m)
{
	char path[64], *info;
	uint32_t i;
	int r = 0;

	for(i = 0; r == 0 && i < m->fds.n / sizeof(Ifd); i++){
		snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", pid, ((Ifd *)m->fds.p)[i].fd);
		info = readfile(path, NULL);
		if(info == NULL)
			continue;	/* closed meanwhile: the process is stopped, so not */
		r = locks1(((Ifd *)m->fds.p)[i].fd, info, &((Ifd *)m->fds.p)[i], m);
		free(info);
	}
	return r;
}
