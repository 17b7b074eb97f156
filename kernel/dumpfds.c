/*
 * Open files: what each fd is, and how a new process gets the same.
 * What cannot be brought back is refused by name, never saved wrong.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "engine.h"

/* names the kernel gives what is not a path and not saved, for the refusal */
static const struct {
	char	prefix[24];
	char	what[16];
} kinds[] = {
	{"anon_inode:[pidfd", "a pidfd"},
	{"anon_inode:[fanotify", "a fanotify"}, {"anon_inode:[io_uring", "an io_uring"},
	{"anon_inode:", "an anon inode"},
};

static const char *
kindname(const char *link)
{
	size_t i;

	for(i = 0; i < sizeof kinds/sizeof kinds[0]; i++)
		if(strncmp(link, kinds[i].prefix, strlen(kinds[i].prefix)) == 0)
			return kinds[i].what;
	return "a special file";
}

enum {
	Gonemax	= 64<<20,	/* largest deleted file carried in an image */
};

static int
istty(struct stat *sb)
{
	unsigned maj = major(sb->st_rdev);

	/* pty slaves, virtual consoles and serial lines, /dev/tty, /dev/console; not /dev/ptmx */
	return S_ISCHR(sb->st_mode) && ((maj >= 136 && maj <= 143) || maj == 4 ||
		(maj == 5 && minor(sb->st_rdev) < 2));
}

static int
under(const char *path, const char *dir)
{
	size_t n;

	if(dir == NULL || dir[0] == 0)
		return 0;
	n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == 0);
}

/* fdinfo's text, with pos and flags taken into f */
static char *
fdinfo(pid_t pid, int fd, Ifd *f)
{
	char path[64], *s, *p;

	snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", pid, fd);
	s = readfile(path, NULL);
	if(s == NULL)
		return NULL;
	p = strstr(s, "pos:");
	f->pos = p ? strtoull(p + 4, NULL, 10) : 0;
	p = strstr(s, "flags:");
	f->flags = p ? strtoul(p + 6, NULL, 8) : 0;
	return s;
}

/*
 * A file deleted while open (memfds among them) lives only as long as
 * someone holds it: its contents go into the image.
 */
static int
savecontent(pid_t pid, int fd, struct stat *sb, Ifd *f, Img *m)
{
	char path[64], *buf;
	int in;
	ssize_t n;

	if(sb->st_size > Gonemax){
		werrstr("unsupported: fd %d is a deleted file of %lld MiB", fd, (long long)sb->st_size >> 20);
		return -1;
	}
	snprintf(path, sizeof path, "/proc/%d/fd/%d", pid, fd);
	in = open(path, O_RDONLY|O_CLOEXEC);
	buf = malloc(sb->st_size + 1);
	n = in < 0 || buf == NULL ? -1 : pread(in, buf, sb->st_size, 0);
	if(in >= 0)
		close(in);
	if(n != sb->st_size){
		free(buf);
		werrstr("cannot read deleted file of fd %d", fd);
		return -1;
	}
	f->kind = Dgone;
	f->arg[0] = m->blob.n;
	f->arg[1] = n;
	f->arg[2] = sb->st_ino;	/* mapped shared too, it is one object with the mapping */
	n = bufadd(&m->blob, buf, n);
	free(buf);
	return n;
}

/*
 * The path to reopen: without the kernel's " (deleted)" (a name may
 * have blanks of its own), and the process's own /proc/PID/... as
 * /proc/self/...: PID is another process's, or none, after a resume.
 */
static char *
ownpath(pid_t pid, char *link, size_t size)
{
	size_t n = strlen(link), k = strlen(" (deleted)"), self = strlen("/proc/self");
	char own[32];

	if(n > k && strcmp(link + n - k, " (deleted)") == 0)
		link[n -= k] = 0;
	k = snprintf(own, sizeof own, "/proc/%d", pid);
	if(strncmp(link, own, k) == 0 && (link[k] == '/' || link[k] == 0) && n - k + self < size){
		memmove(link + self, link + k, n - k + 1);
		memcpy(link, "/proc/self", self);
	}
	return link;
}

static int
dumpfd(pid_t pid, int fd, Img *m, const char *skipdir)
{
	char path[64], link[4096], *info;
	struct stat sb;
	ssize_t n;
	Ifd f;
	int r;

	memset(&f, 0, sizeof f);
	f.fd = fd;
	f.path = Nil;
	snprintf(path, sizeof path, "/proc/%d/fd/%d", pid, fd);
	n = readlink(path, link, sizeof link - 1);
	if(n < 0)
		return errno == ENOENT ? 0 : -1;	/* closed meanwhile */
	link[n] = 0;
	info = fdinfo(pid, fd, &f);
	if(info == NULL)
		return 0;
	r = anonfd(pid, fd, link, info, &f, m);
	free(info);
	if(r < 0)
		return -1;
	if(r > 0)
		return bufadd(&m->fds, &f, sizeof f);
	/* before stat: a stat of our own mount would wait on the request we are serving */
	if(under(link, skipdir)){
		f.kind = Dnull;
		return bufadd(&m->fds, &f, sizeof f);
	}
	if(stat(path, &sb) < 0)
		return 0;
	if(S_ISCHR(sb.st_mode) && major(sb.st_rdev) == 5 && minor(sb.st_rdev) == 2){
		if(ptm1(pid, fd, &f, m) < 0)
			return -1;
		return bufadd(&m->fds, &f, sizeof f);
	}
	if(istty(&sb)){
		f.kind = Dtty;
		f.arg[2] = sb.st_rdev;	/* a pty slave whose master the image holds becomes Dpts */
		if(termios1(pid, fd, &f, m) < 0)
			return -1;
	}
	else if(link[0] != '/'){
		if(fd > 2){
			werrstr("unsupported: fd %d is %s", fd, kindname(link));
			return -1;
		}
		f.kind = Dstd;
	}else if(strstr(link, " (deleted)") != NULL && S_ISREG(sb.st_mode)){
		if(savecontent(pid, fd, &sb, &f, m) < 0)
			return -1;
	}else if(S_ISREG(sb.st_mode))
		f.kind = Dfile;
	else if(S_ISDIR(sb.st_mode))
		f.kind = Ddir;
	else if(S_ISCHR(sb.st_mode) || S_ISBLK(sb.st_mode))
		f.kind = Ddev;
	else if(S_ISFIFO(sb.st_mode)){
		/* named: reopened by path; a read end carries the bytes in it */
		f.kind = Dfifo;
		f.arg[0] = sb.st_ino;
		if((f.flags & O_ACCMODE) != O_WRONLY && pipedata(pid, fd, &f, m) < 0)
			return -1;
	}
	else if(fd <= 2)
		f.kind = Dstd;
	else{
		werrstr("unsupported: fd %d is a socket", fd);
		return -1;
	}
	if(f.kind == Dstd)
		f.path = imgstr(m, link);	/* pipe:[ino]: a tree may hold its other end */
	else if(f.kind == Dfile || f.kind == Ddir || f.kind == Ddev || f.kind == Dfifo || f.kind == Dgone)
		f.path = imgstr(m, ownpath(pid, link, sizeof link));
	return bufadd(&m->fds, &f, sizeof f);
}

/* Ifd kinds as stats names them */
static const char *kindnames[] = {
	[Dfile] = "file", [Ddir] = "dir", [Ddev] = "dev", [Dtty] = "tty", [Dstd] = "std", [Dnull] = "null",
	[Dfifo] = "fifo", [Dpipe] = "pipe", [Deventfd] = "eventfd", [Dsignalfd] = "signalfd",
	[Dtimerfd] = "timerfd", [Depoll] = "epoll", [Dgone] = "deleted", [Dlisten] = "listen",
	[Dsockpair] = "sockpair", [Dinet] = "inet", [Dptm] = "ptm", [Dpts] = "pts",
	[Dinotify] = "inotify", [Dunix] = "unix",
};

static void
countkinds(Img *m)
{
	Ifd *f = (Ifd *)m->fds.p;
	size_t i, j, n = m->fds.n / sizeof *f, len = 0;
	int c;

	m->st->fdkinds[0] = 0;
	for(i = 0; i < sizeof kindnames/sizeof kindnames[0]; i++){
		for(c = 0, j = 0; j < n; j++)
			c += f[j].kind == i;
		if(c > 0 && kindnames[i] != NULL && len < sizeof m->st->fdkinds)
			len += snprintf(m->st->fdkinds + len, sizeof m->st->fdkinds - len, "%s%s %d",
				len ? " " : "", kindnames[i], c);
	}
}

int
dumpfds(pid_t pid, Img *m, const char *skipdir)
{
	char path[64];
	DIR *d;
	struct dirent *de;
	int r = 0;

	snprintf(path, sizeof path, "/proc/%d/fd", pid);
	d = opendir(path);
	if(d == NULL){
		werrstr("process exited");
		return -1;
	}
	while(r == 0 && (de = readdir(d)) != NULL)
		if(de->d_name[0] != '.'){
			r = dumpfd(pid, atoi(de->d_name), m, skipdir);
			m->st->fds++;
		}
	closedir(d);
	if(r < 0 || fdlocks(pid, m) < 0)
		return -1;
	countkinds(m);
	return 0;
}
