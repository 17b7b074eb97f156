/*
 * describe: the text that tells what an image was, read from /proc
 * while the process still runs: cmdline, maps and fds files in dir.
 * Only readlink under /proc/pid/fd: a stat of an fd open on the
 * file server would call back into it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "persist.h"

enum {
	Bufsize	= 64*1024,
};

static int
failed(const char *what)
{
	if(errno == ENOENT || errno == ESRCH)
		werrstr("process exited");
	else
		werrstr("describe %s: %s", what, strerror(errno));
	return -1;
}

static int
writeall(int fd, const char *buf, size_t n)
{
	ssize_t m;

	while(n > 0){
		if((m = write(fd, buf, n)) < 0){
			if(errno == EINTR)
				continue;
			return -1;
		}
		buf += m;
		n -= m;
	}
	return 0;
}

static int
create(const char *dir, const char *name)
{
	char path[PATH_MAX];

	if((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path){
		errno = ENAMETOOLONG;
		return -1;
	}
	return open(path, O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC, 0444);
}

/* copy /proc/pid/file to dir/file; cmdline's NULs become blanks */
static int
copyproc(pid_t pid, const char *dir, const char *file, int args)
{
	char path[64], *buf;
	int in, out, r;
	ssize_t n, i;
	char last;

	snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
	buf = NULL;
	out = -1;
	r = -1;
	last = '\n';
	if((in = open(path, O_RDONLY|O_CLOEXEC)) < 0 ||
	    (out = create(dir, file)) < 0 || (buf = malloc(Bufsize)) == NULL)
		goto cleanup;
	while((n = read(in, buf, Bufsize)) > 0){
		for(i = 0; args && i < n; i++)
			if(buf[i] == '\0')
				buf[i] = ' ';
		if(writeall(out, buf, n) < 0)
			goto cleanup;
		last = buf[n-1];
	}
	if(n < 0)
		goto cleanup;
	/* cmdline ends in a NUL, now a blank: the line ends there */
	if(args && last == ' ' && lseek(out, -1, SEEK_CUR) < 0)
		goto cleanup;
	if(args && writeall(out, "\n", 1) < 0)
		goto cleanup;
	r = 0;
cleanup:
	if(r < 0)
		failed(file);
	free(buf);
	if(out >= 0)
		close(out);
	if(in >= 0)
		close(in);
	return r;
}

static int
fdnum(const char *s)
{
	if(s[0] < '0' || s[0] > '9')
		return -1;
	return atoi(s);
}

/* one line an fd, "N target", in the order /proc lists them */
static int
listfds(pid_t pid, const char *dir)
{
	char path[64], link[PATH_MAX];
	struct dirent *de;
	FILE *out;
	DIR *d;
	ssize_t n;
	int fd, r;

	snprintf(path, sizeof path, "/proc/%d/fd", pid);
	out = NULL;
	r = -1;
	if((d = opendir(path)) == NULL)
		goto cleanup;
	if((fd = create(dir, "fds")) < 0 || (out = fdopen(fd, "w")) == NULL){
		if(fd >= 0)
			close(fd);
		goto cleanup;
	}
	while((de = readdir(d)) != NULL){
		if((fd = fdnum(de->d_name)) < 0)
			continue;
		snprintf(path, sizeof path, "/proc/%d/fd/%d", pid, fd);
		/* closed since readdir: not an error */
		if((n = readlink(path, link, sizeof link - 1)) < 0)
			continue;
		link[n] = '\0';
		fprintf(out, "%d %s\n", fd, link);
	}
	r = 0;
cleanup:
	if(out != NULL && fclose(out) != 0)
		r = -1;
	if(r < 0)
		failed("fds");
	if(d != NULL)
		closedir(d);
	return r;
}

int
pdescribe(pid_t pid, const char *dir)
{
	if(copyproc(pid, dir, "cmdline", 1) < 0 ||
	    copyproc(pid, dir, "maps", 0) < 0 ||
	    listfds(pid, dir) < 0)
		return -1;
	return 0;
}
