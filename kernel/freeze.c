/*
 * freeze and snap: stop the process at a safe point, write its image,
 * leave it stopped (freeze) or let it go on (snap).  A failure at any
 * point lets the process go on as it was and leaves no image behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include "engine.h"
#include "cpuid.h"

static int
header(pid_t pid, Img *m)
{
	char buf[128];
	struct utsname u;
	uint32_t xsize;

	m->hdr.pid = pid;
	if(statusline(pid, "Uid", buf, sizeof buf) < 0)
		return -1;
	m->hdr.uid = strtoul(buf, NULL, 10);
	if(statusline(pid, "Gid", buf, sizeof buf) < 0)
		return -1;
	m->hdr.gid = strtoul(buf, NULL, 10);
	if(procstr(pid, "comm", m->hdr.comm, sizeof m->hdr.comm) < 0)
		return -1;
	m->hdr.when = time(NULL);
	if(uname(&u) == 0)
		snprintf(m->hdr.kernel, sizeof m->hdr.kernel, "%.63s", u.release);
	readcpu(m->hdr.cpu, &m->hdr.xcr0, &xsize);
	m->hdr.xsize = xsize;
	return 0;
}

/* refuse early when the image cannot fit: rss is what it can grow to */
static int
roomfor(const char *path, uint64_t bytes)
{
	char dir[PATH_MAX];
	struct statvfs sv;

	snprintf(dir, sizeof dir, "%s", path);
	if(statvfs(dirname(dir), &sv) < 0)
		return 0;
	if((uint64_t)sv.f_bavail * sv.f_frsize < bytes){
		werrstr("no space left on device for a %llu MiB image", (unsigned long long)(bytes >> 20));
		return -1;
	}
	return 0;
}

static int
commit(Img *m, const char *tmp, const char *path)
{
	char dir[PATH_MAX];
	int fd;

	if(fchown(m->fd, m->hdr.uid, m->hdr.gid) < 0 || fchmod(m->fd, 0700) < 0 ||
	   fsync(m->fd) < 0){
		werrstr("write image: %s", errno == ENOSPC ? "no space left on device" : strerror(errno));
		return -1;
	}
	if(rename(tmp, path) < 0){
		werrstr("rename image: %s", strerror(errno));
		return -1;
	}
	snprintf(dir, sizeof dir, "%s", path);
	fd = open(dirname(dir), O_RDONLY|O_DIRECTORY|O_CLOEXEC);
	if(fd >= 0){
		fsync(fd);
		close(fd);
	}
	return 0;
}

static int
isthread(pid_t pid, pid_t tid)
{
	char path[64];
	struct stat sb;

	if(tid <= 0)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/task/%d", pid, tid);
	return stat(path, &sb) == 0;
}

int
pfreeze(pid_t pid, const char *path, Pfreeze *opt)
{
	Group *g;
	Snap *sn = NULL;
	Img m;
	Pstats local, *st;
	char tmp[PATH_MAX + 8];
	double t0, tseize, tstop;
	int snap = opt->flags & Fsnap;

	st = opt->stats != NULL ? opt->stats : &local;
	memset(st, 0, sizeof *st);
	memset(&m, 0, sizeof m);
	m.fd = -1;
	m.st = st;
	t0 = now();
	if(pid == getpid()){
		werrstr("cannot freeze persistfs");
		return -1;
	}
	if(seccomped(pid))
		return -1;
	if(header(pid, &m) < 0){
		werrstr("process exited");
		return -1;
	}
	if(statusline(pid, "VmRSS", tmp, sizeof tmp) == 0 &&
	   roomfor(path, strtoull(tmp, NULL, 10) * 1024 + (1<<20)) < 0)
		return -1;
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	g = calloc(1, sizeof *g);
	if(g == NULL){
		werrstr("out of memory");
		return -1;
	}
	/* all that can be done before the stop is, to keep it short */
	if(snap && (sn = snapprep(pid)) == NULL)
		goto fail;
	if(imgcreate(&m, tmp) < 0)
		goto fail;
	tseize = now();
	if(gseize(g, pid) < 0)
		goto fail;
	st->threads = g->n;
	if(opt->release != NULL && isthread(pid, opt->writer)){
		/* the writer waits for our reply and cannot stop before it */
		opt->release(opt->arg);
	}
	if(gwait(g, Stopwait) < 0){
		if(procstr(pid, "wchan", tmp, sizeof tmp) == 0 && strstr(tmp, "fuse") != NULL)
			werrstr("process is blocked in a fuse request and cannot stop");
		goto fail;
	}
	tstop = now();
	st->stopms = tstop - tseize;
	if(opt->flags & Flean)
		m.hdr.flags |= Hlean;
	if(dumpproc(g, &m) < 0 || dumpfds(pid, &m, opt->skipdir) < 0)
		goto fail;
	/* a snap reads most of the memory from a copy, the process let go */
	if(snap ? snapmem(sn, g, &m, opt->flags & Flean, tstop) < 0 :
	   dumpmem(&g->t[0], &m, opt->flags & Flean) < 0)
		goto fail;
	st->memms = now() - tstop;
	if(imgfinish(&m) < 0)
		goto fail;
	st->writems = now() - tstop - st->memms;
	if(commit(&m, tmp, path) < 0)
		goto fail;
	st->syncms = now() - tstop - st->memms - st->writems;
	if(!snap){
		gdetach(g, 1);
		st->stoppedms = now() - tstop;
	}
	imgfree(&m);
	free(g);
	snapfree(sn);
	st->totalms = now() - t0;
	return 0;
fail:
	gdetach(g, 0);
	free(g);
	snapfree(sn);
	if(m.fd >= 0)
		unlink(tmp);
	imgfree(&m);
	return -1;
}
