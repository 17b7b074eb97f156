/*
 * inotify: its watches, from fdinfo ("inotify wd:1 ino:.. sdev:..
 * mask:.. f_handle:.."), each with a path to the inode found through
 * its file handle, so the restorer can watch the same inodes again
 * under the same wd numbers.  Events waiting to be read cannot be
 * carried: such an fd is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "engine.h"

enum {
	Maxwatch	= 4096,
	Maxhandle	= 128,
};

/* a directory of the process's on the file system sdev (the kernel's dev_t) */
static int
mountof(pid_t pid, unsigned long sdev)
{
	char path[64], *s, *l, *nl, mnt[4096], root[4200];
	unsigned ma, mi;
	int fd = -1;

	snprintf(path, sizeof path, "/proc/%d/mountinfo", pid);
	s = readfile(path, NULL);
	if(s == NULL)
		return -1;
	for(l = s; fd < 0 && (nl = strchr(l, '\n')) != NULL; l = nl + 1){
		*nl = 0;
		if(sscanf(l, "%*d %*d %u:%u %*s %4095s", &ma, &mi, mnt) != 3 || ma != (sdev >> 20) || mi != (sdev & 0xfffff))
			continue;
		snprintf(root, sizeof root, "/proc/%d/root%s", pid, mnt);
		fd = open(root, O_RDONLY|O_DIRECTORY|O_CLOEXEC);	/* not O_PATH: open_by_handle_at refuses it */
	}
	free(s);
	return fd;
}

/* a path to the inode of handle hex, checked to be it */
static int
findpath(pid_t pid, unsigned long sdev, unsigned long ino, int type, const char *hex, char *out, size_t n)
{
	struct file_handle *fh;
	char buf[sizeof *fh + Maxhandle], link[64];
	struct stat sb;
	unsigned b;
	int mfd, fd, i, len;
	ssize_t r;

	fh = (struct file_handle *)buf;
	for(len = 0; len < Maxhandle && sscanf(hex + 2*len, "%2x", &b) == 1; len++)
		fh->f_handle[len] = b;
	fh->handle_bytes = len;
	fh->handle_type = type;
	mfd = mountof(pid, sdev);
	if(mfd < 0)
		return -1;
	fd = open_by_handle_at(mfd, fh, O_PATH|O_CLOEXEC);
	close(mfd);
	if(fd < 0)
		return -1;
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	r = readlink(link, out, n - 1);
	close(fd);
	if(r <= 0)
		return -1;
	out[r] = 0;
	i = lstat(out, &sb);
	return i == 0 && sb.st_ino == ino && sb.st_dev == makedev(sdev >> 20, sdev & 0xfffff) ? 0 : -1;
}

static int
bywd(const void *a, const void *b)
{
	return ((const Inotify *)a)->wd - ((const Inotify *)b)->wd;
}

int
inotify1(pid_t pid, int fd, const char *info, Ifd *f, Img *m)
{
	const char *p;
	char hex[2*Maxhandle + 1], path[4096];
	unsigned long ino, sdev;
	unsigned wd, mask, bytes;
	int type, dup, queued = 0, n = 0;
	Inotify *w;

	dup = peerfd(pid, fd);
	if(dup < 0)
		return -1;
	ioctl(dup, FIONREAD, &queued);
	close(dup);
	if(queued > 0){
		werrstr("unsupported: fd %d is an inotify with events waiting", fd);
		return -1;
	}
	w = calloc(Maxwatch, sizeof *w);
	if(w == NULL){
		werrstr("out of memory");
		return -1;
	}
	for(p = strstr(info, "inotify wd:"); p != NULL; p = strstr(p + 1, "inotify wd:")){
		if(sscanf(p, "inotify wd:%x ino:%lx sdev:%lx mask:%x ignored_mask:%*x fhandle-bytes:%x fhandle-type:%x f_handle:%256s",
		    &wd, &ino, &sdev, &mask, &bytes, &type, hex) != 7 || n == Maxwatch)
			goto cannot;
		if(findpath(pid, sdev, ino, type, hex, path, sizeof path) < 0)
			goto cannot;
		w[n].wd = wd;
		w[n].mask = mask;
		w[n].path = imgstr(m, path);
		n++;
	}
	qsort(w, n, sizeof *w, bywd);
	while(m->blob.n % 8)
		bufadd(&m->blob, "", 1);
	f->arg[0] = m->blob.n;
	f->arg[1] = n;
	n = bufadd(&m->blob, w, n * sizeof *w);
	free(w);
	return n;
cannot:
	free(w);
	werrstr("unsupported: fd %d is an inotify watching a file we cannot name", fd);
	return -1;
}
