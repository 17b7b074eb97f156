/*
 * Files: opened in stage 1 above every saved fd number (so a missing
 * file refuses the image before anything is lost), put in place in
 * stage 2.
 */
#include "rst.h"

enum {
	/* open(2) flags worth keeping when a file is reopened */
	Keep = 03 | 02000 | 04000 | 040000 | 0200000 | 01000000 | 04010000 | 010000000,
};

static const struct {
	int	err;
	char	msg[24];
} errs[] = {
	{2, "no such file"}, {13, "permission denied"}, {20, "not a directory"},
	{21, "is a directory"}, {24, "too many open files"}, {6, "no such device"},
};

static const char *
errmsg(long e)
{
	uint32_t i;

	for(i = 0; i < sizeof errs/sizeof errs[0]; i++)
		if(errs[i].err == -e)
			return errs[i].msg;
	return "cannot open";
}

static int
high(long fd, const char *path)
{
	if(fd < 0){
		char buf[200], *p, *e = buf + sizeof buf;

		p = seprint(buf, e, path);
		p = seprint(p, e, ": ");
		seprint(p, e, errmsg(fd));
		fail("cannot reopen", buf);
	}
	/* maxfd+1 is kept for the ready fd */
	return above(fd, ctx.maxfd + 2);
}

static long
runnertty(void)
{
	char t[64];
	int i;

	for(i = 0; i <= 2; i++)
		if(sys3(SYS_ioctl, i, TCGETS, t) == 0)
			return sys3(SYS_fcntl, i, F_DUPFD_CLOEXEC, 0);
	return sys3(SYS_open, "/dev/null", 02|O_CLOEXEC, 0);
}

/*
 * A pipe whose ends the processes hold: made once, its bytes put back
 * once (every read end saved them).
 */
static struct {
	uint64_t	ino;
	int	end[2];
	int	filled;
} pipes[Npipe];
static int npipes;

/* the bytes a pipe or fifo held (f's arg[1], arg[2]) into it again, through w */
static int
fillpipe(long w, Ifd *f)
{
	if(f->arg[2] > 65536)
		sys3(SYS_fcntl, w, F_SETPIPE_SZ, f->arg[2]);
	return sys3(SYS_write, w, (char *)sect(Sblob, 0) + f->arg[1], f->arg[2]) == (long)f->arg[2] ? 0 : -1;
}

static int
pipeget(Ifd *f)
{
	int i, p[2];

	for(i = 0; i < npipes && pipes[i].ino != f->arg[0]; i++)
		;
	if(i == npipes){
		if(npipes == (int)(sizeof pipes/sizeof pipes[0]))
			fail("too many pipes", 0);
		if(sys2(SYS_pipe2, p, O_CLOEXEC) < 0)
			fail("cannot make a pipe", 0);
		pipes[i].ino = f->arg[0];
		pipes[i].end[0] = high(p[0], "pipe");
		pipes[i].end[1] = high(p[1], "pipe");
		npipes++;
	}
	if(f->arg[2] > 0 && !pipes[i].filled){
		if(fillpipe(pipes[i].end[1], f) < 0)
			fail("cannot refill a pipe", 0);
		pipes[i].filled = 1;
	}
	return i;
}

/* an fd of its own onto one of ours made once, with f's status flags */
static long
dupas(int fd, Ifd *f)
{
	long r;

	r = sys3(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 0);
	if(r >= 0)
		sys3(SYS_fcntl, r, F_SETFL, f->flags & Keep);
	return r;
}

static long
pipeend(Ifd *f)
{
	int i;

	i = pipeget(f);
	return dupas(pipes[i].end[(f->flags & 3) != 0], f);
}

/* a unix socket pair, both ends the processes': made once, the waiting bytes put back */
static struct {
	uint32_t	ino[2];
	int	end[2];
	int	filled[2];
} pairs[Npair];
static int npairs;

/* a stream's bytes in one write; datagrams and records one by one, each after its length */
static void
resend(int fd, Ifd *f)
{
	char *p = (char *)sect(Sblob, 0) + f->arg[2], *e = p + f->arg[3];
	uint32_t len;

	if(f->arg[1] == 1){	/* SOCK_STREAM */
		if(sys3(SYS_write, fd, p, e - p) != e - p)
			fail("cannot refill a socket", 0);
		return;
	}
	while(p + sizeof len <= e){
		memcpy(&len, p, sizeof len);
		p += sizeof len;
		if(len > e - p || sys3(SYS_write, fd, p, len) != len)
			fail("cannot refill a socket", 0);
		p += len;
	}
}

static int
pairget(Ifd *f)
{
	uint32_t ino = f->arg[0], peer = f->arg[0] >> 32;
	int i, me, sv[2];

	for(i = 0; i < npairs && pairs[i].ino[0] != ino && pairs[i].ino[1] != ino; i++)
		;
	if(i == npairs){
		if(npairs == (int)(sizeof pairs/sizeof pairs[0]))
			fail("too many socket pairs", 0);
		if(sys4(SYS_socketpair, 1, f->arg[1] | O_CLOEXEC, 0, sv) < 0)
			fail("cannot make a socket pair", 0);
		pairs[i].ino[0] = ino;
		pairs[i].ino[1] = peer;
		pairs[i].end[0] = high(sv[0], "socket");
		pairs[i].end[1] = high(sv[1], "socket");
		npairs++;
	}
	me = pairs[i].ino[1] == ino;
	/* what waited to be read here is sent from the other end */
	if(f->arg[3] > 0 && !pairs[i].filled[me]){
		resend(pairs[i].end[!me], f);
		pairs[i].filled[me] = 1;
	}
	return i;
}

static long
pairend(Ifd *f)
{
	int i;

	i = pairget(f);
	return dupas(pairs[i].end[pairs[i].ino[1] == (uint32_t)f->arg[0]], f);
}

/* ptys the image holds the master of: a new pair each, by old number */
static struct {
	uint32_t	num;
	int	master;
} ptys[Npty];
static int nptys;

static int
ptyget(uint32_t num)
{
	int i;

	for(i = 0; i < nptys; i++)
		if(ptys[i].num == num)
			return i;
	fail("corrupt image", "pty slave without its master");
}

/* a new master with the old one's slave modes and window size */
static void
ptymake(Ifd *f)
{
	char *tw = (char *)sect(Sblob, 0) + f->arg[1];
	int zero = 0;
	long m, s;

	for(int i = 0; i < nptys; i++)
		if(ptys[i].num == f->arg[0])
			return;
	if(nptys == (int)(sizeof ptys/sizeof ptys[0]))
		fail("too many ptys", 0);
	m = sys3(SYS_open, "/dev/ptmx", 02|O_NOCTTY|O_CLOEXEC, 0);
	if(m < 0 || sys3(SYS_ioctl, m, TIOCSPTLCK, &zero) < 0)
		fail("cannot make a pty", 0);
	s = sys3(SYS_ioctl, m, TIOCGPTPEER, 02|O_NOCTTY|O_CLOEXEC);
	if(s < 0)
		fail("cannot make a pty", 0);
	if(f->arg[2] >= 60 + 8){
		sys3(SYS_ioctl, s, TCSETS, tw);
		sys3(SYS_ioctl, s, TIOCSWINSZ, tw + f->arg[2] - 8);
	}
	sys1(SYS_close, s);
	ptys[nptys].num = f->arg[0];
	ptys[nptys].master = high(m, "pty");
	nptys++;
}

/* a slave of pty num, for a session leader to take as its terminal */
long
ptyslave(uint32_t num, int flags)
{
	return sys3(SYS_ioctl, ptys[ptyget(num)].master, TIOCGPTPEER, (flags & Keep) | O_NOCTTY | O_CLOEXEC);
}

static long
timerfd(Ifd *f)
{
	long fd;
	uint64_t its[4];

	fd = sys2(SYS_timerfd_create, f->arg[0], f->flags & O_NONBLOCK);
	if(fd < 0 || f->arg[1] == 0)
		return fd;
	its[0] = f->arg[2] / 1000000000;	/* interval */
	its[1] = f->arg[2] % 1000000000;
	its[2] = f->arg[1] / 1000000000;	/* value, from now */
	its[3] = f->arg[1] % 1000000000;
	if(sys4(SYS_timerfd_settime, fd, 0, its, 0) < 0)
		fail("cannot set timerfd", 0);
	return fd;
}

/*
 * A deleted file made again, unnamed: a memfd for a memfd, else an
 * O_TMPFILE in its old directory (or /tmp), reopened through /proc
 * with its own access mode.
 */
static long
gone(Ifd *f)
{
	const char *path = blobstr(f->path);
	char dir[256], proc[32], *p, *e = dir + sizeof dir;
	long fd, nfd;

	if(f->arg[3] != 0)
		fd = sys3(SYS_fcntl, shmobject(f->arg[3] - 1), F_DUPFD_CLOEXEC, 0);	/* mapped too: that one object */
	else if(strncmp(path, "/memfd:", 7) == 0)
		fd = sys2(SYS_memfd_create, path + 7, 1);	/* MFD_CLOEXEC */
	else{
		p = seprint(dir, e, path);
		for(; p > dir && *p != '/'; p--)
			;
		*p = 0;
		fd = sys3(SYS_open, dir[0] ? dir : "/", O_TMPFILE|02|O_CLOEXEC, 0600);
		if(fd < 0)
			fd = sys3(SYS_open, "/tmp", O_TMPFILE|02|O_CLOEXEC, 0600);
	}
	if(fd < 0)
		fail("cannot make again the deleted file", path);
	if(f->arg[3] == 0 && f->arg[1] > 0 &&
	   sys4(SYS_pwrite64, fd, (char *)sect(Sblob, 0) + f->arg[0], f->arg[1], 0) != (long)f->arg[1])
		fail("cannot write the deleted file", path);
	p = seprint(proc, proc + sizeof proc, "/proc/self/fd/");
	fmtnum(p, proc + sizeof proc, fd, 10);
	nfd = sys3(SYS_open, proc, (f->flags & Keep) | O_CLOEXEC, 0);
	if(nfd < 0)
		nfd = fd;	/* keep the one we have */
	if(nfd != fd)
		sys1(SYS_close, fd);
	if(sys3(SYS_lseek, nfd, f->pos, SEEK_SET) < 0)
		fail("cannot seek", path);
	return nfd;
}

/* a listening socket again, at its address; a unix socket's old file goes first */
static long
listen1(Ifd *f)
{
	char *sa = (char *)sect(Sblob, 0) + f->arg[2];
	long fd;
	int one = 1;

	fd = sys3(SYS_socket, f->arg[0], f->arg[1] | (f->flags & O_NONBLOCK) | O_CLOEXEC, 0);
	if(fd < 0)
		fail("cannot make socket", 0);
	if(f->arg[0] == 1)
		unlinksock(sa, f->arg[3]);	/* the dead server's socket file is in the way */
	else
		sys5(SYS_setsockopt, fd, 1, 2, &one, sizeof one);	/* SO_REUSEADDR */
	if(sys3(SYS_bind, fd, sa, f->arg[3]) < 0)
		fail("cannot listen again", "address in use");
	if(sys2(SYS_listen, fd, 128) < 0)
		fail("cannot listen again", 0);
	return fd;
}

/* the bytes that were in a fifo, put back through an end of our own while fd keeps it open */
static void
refill(Ifd *f, const char *path)
{
	long w;

	if(f->arg[2] == 0)
		return;
	w = sys3(SYS_open, path, 02|O_NONBLOCK|O_CLOEXEC, 0);
	if(w < 0 || fillpipe(w, f) < 0)
		fail("cannot refill fifo", path);
	sys1(SYS_close, w);
}

static int ttyset;

static int
open1(Ifd *f)
{
	const char *path = blobstr(f->path);
	long fd;

	switch(f->kind){
	case Dtty:
		fd = runnertty();
		/* the modes the process had its terminal in (once is enough) */
		if(f->arg[1] != 0 && !ttyset && sys3(SYS_ioctl, fd, TCSETS, (char *)sect(Sblob, 0) + f->arg[0]) == 0)
			ttyset = 1;
		return high(fd, "terminal");
	case Dstd:
		fd = sys3(SYS_fcntl, f->fd, F_DUPFD_CLOEXEC, 0);
		if(fd < 0)
			fd = sys3(SYS_open, "/dev/null", 02|O_CLOEXEC, 0);
		return high(fd, "/dev/null");
	case Dnull:
		return high(sys3(SYS_open, "/dev/null", 02|O_CLOEXEC, 0), "/dev/null");
	case Dpipe:
		return high(pipeend(f), "pipe");
	case Deventfd:
		return high(sys2(SYS_eventfd2, f->arg[0], (f->flags & O_NONBLOCK) | (f->arg[1] ? 1 : 0)), "eventfd");
	case Dsignalfd:
		return high(sys4(SYS_signalfd4, -1, &f->arg[0], 8, f->flags & O_NONBLOCK), "signalfd");
	case Dtimerfd:
		return high(timerfd(f), "timerfd");
	case Depoll:
		return high(sys1(SYS_epoll_create1, 0), "epoll");
	case Dgone:
		return high(gone(f), "deleted file");
	case Dlisten:
		return high(listen1(f), "socket");
	case Dsockpair:
		return high(pairend(f), "socket");
	case Dinotify:
		return high(inotify(f), "inotify");
	case Dunix:
		return high(unix1(f), "socket");
	case Dinet:
		return high(inet1(f), "socket");
	case Dptm:
		ptymake(f);
		return high(dupas(ptys[ptyget(f->arg[0])].master, f), "pty");
	case Dpts:
		return high(ptyslave(f->arg[0], f->flags), "pty");
	}
	fd = sys3(SYS_open, path, (f->flags & Keep) | O_CLOEXEC | O_NOCTTY |
		(f->kind == Dfifo ? O_NONBLOCK : 0), 0);
	fd = high(fd, path);
	if(f->kind == Dfifo){
		sys3(SYS_fcntl, fd, F_SETFL, f->flags & Keep);
		refill(f, path);
	}
	if(f->kind == Dfile && sys3(SYS_lseek, fd, f->pos, SEEK_SET) < 0)
		fail("cannot seek", path);
	openlocks(f, fd);
	return fd;
}

/* a file a lean image maps must be the one it was made with */
static int
openlean(Ifile *f)
{
	const char *path = blobstr(f->path);
	long fd, size;
	char *map;
	uint64_t sum;

	fd = high(sys3(SYS_open, path, O_RDONLY|O_CLOEXEC, 0), path);
	size = sys3(SYS_lseek, fd, 0, 2);
	if(size != (long)f->size)
		fail("file differs from the one frozen", path);
	sum = ihash("", 0, 0);
	if(size > 0){
		map = rmmap(0, size, PROT_READ, MAP_PRIVATE, fd, 0);
		if(mmapfailed(map))
			fail("cannot map", path);
		sum = ihash(map, size, 0);
		sys2(SYS_munmap, map, size);
	}
	if(sum != f->sum)
		fail("file differs from the one frozen", path);
	return fd;
}

/* open files several fds are (Ishare groups): the first of each, opened by the root */
static int sharefd[Nshare];

static long
shared(uint32_t idx)
{
	uint32_t i, j;

	for(i = 0; i < ctx.nshare; i++)
		if(ctx.share[i].member == ctx.me && ctx.share[i].fd == idx)
			for(j = 0; j <= i; j++)
				if(ctx.share[j].group == ctx.share[i].group)
					return sharefd[j];
	return -1;
}

/*
 * In the root, before any other process is made: every pipe and
 * socket pair (the processes holding its ends get them by inheritance),
 * and the first fd of each shared open file.
 */
void
premakefds(void)
{
	Ifd *f;
	uint32_t i, k, n;

	if(ctx.nshare > sizeof sharefd/sizeof sharefd[0])
		fail("too many shared files", 0);
	for(k = 0; k < ctx.nmb; k++){
		if(ctx.mb != 0 && ctx.mb[k].state != Mlive)
			continue;
		usemeta(k);
		f = sect(Sfd, &n);
		for(i = 0; i < n; i++)
			if(f[i].kind == Dpipe)
				pipeget(&f[i]);
			else if(f[i].kind == Dptm)
				ptymake(&f[i]);
			else if(f[i].kind == Dsockpair)
				pairget(&f[i]);
	}
	for(i = 0; i < ctx.nshare; i++){
		sharefd[i] = -1;
		for(k = 0; k < i && ctx.share[k].group != ctx.share[i].group; k++)
			;
		if(k < i)
			continue;
		usemeta(ctx.share[i].member);
		f = sect(Sfd, &n);
		if(ctx.share[i].fd >= n)
			fail("corrupt image", "shared fd out of bounds");
		sharefd[i] = open1(&f[ctx.share[i].fd]);
	}
	usemeta(0);
}

/*
 * The working directory was removed while the process was in it: a
 * directory made and removed again, so it is in one the same way
 * (getcwd fails, nothing can be made in it).  One of the name left by
 * a restorer killed in between is passed over.
 */
static long
gonedir(void)
{
	char name[64], *p, *e = name + sizeof name;
	long fd, r = -EEXIST;
	int i;

	p = seprint(name, e, "/tmp/.persist-cwd-");
	p = fmtnum(p, e, sys0(SYS_getpid), 10);
	for(i = 0; i < 100 && r == -EEXIST; i++){
		fmtnum(seprint(p, e, "."), e, i, 10);
		r = sys2(SYS_mkdir, name, 0700);
	}
	if(r < 0)
		return -1;
	fd = sys3(SYS_open, name, O_PATH|O_DIRECTORY|O_CLOEXEC, 0);
	sys1(SYS_rmdir, name);
	return fd;
}

void
openfds(void)
{
	Ifd *f;
	Ifile *lf;
	Iproc *p;
	uint32_t i, n;
	long fd;

	f = sect(Sfd, &n);
	for(i = 0; i < n; i++){
		fd = shared(i);
		ctx.tmpfd[i] = fd >= 0 ? high(sys3(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 0), "shared file") : open1(&f[i]);
	}
	lf = sect(Sfile, &n);
	for(i = 0; i < n; i++)
		ctx.leanfd[i] = openlean(&lf[i]);
	openshared();
	p = sect(Sproc, 0);
	ctx.cwdfd = sys3(SYS_open, blobstr(p->cwd), O_PATH|O_DIRECTORY|O_CLOEXEC, 0);
	if(ctx.cwdfd < 0 && strlen(blobstr(p->cwd)) > 10 &&
	   strncmp(blobstr(p->cwd) + strlen(blobstr(p->cwd)) - 10, " (deleted)", 11) == 0)
		ctx.cwdfd = gonedir();
	if(ctx.cwdfd < 0){
		writestr(2, ctx.name);
		writestr(2, ": warning: working directory gone, using /\n");
		ctx.cwdfd = sys3(SYS_open, "/", O_PATH|O_DIRECTORY|O_CLOEXEC, 0);
	}
	ctx.cwdfd = high(ctx.cwdfd, "/");
	ctx.rootfd = -1;
	if(p->root != Nil){
		struct { uint32_t version; int32_t pid; } hdr = {0x20080522, 0};
		uint32_t d[6];

		/* chroot takes CAP_SYS_CHROOT (18): find out before anything is lost */
		if(sys2(SYS_capget, &hdr, d) < 0 || !(d[0] & 1U<<18))
			fail("cannot change root to", blobstr(p->root));
		ctx.rootfd = high(sys3(SYS_open, blobstr(p->root), O_PATH|O_DIRECTORY|O_CLOEXEC, 0), blobstr(p->root));
	}
}

static void
watch(Ifd *f)
{
	Iwatch *w = (Iwatch *)((char *)sect(Sblob, 0) + f->arg[0]);
	uint64_t i;
	long r;
	struct {
		uint32_t	events;
		uint64_t	data;
	} __attribute__((packed)) ev;

	for(i = 0; i < f->arg[1]; i++){
		ev.events = w[i].events;
		ev.data = w[i].data;
		/* a set shared with another process has its watches already */
		r = sys4(SYS_epoll_ctl, f->fd, 1, w[i].fd, &ev);
		if(r < 0 && r != -17)
			fail("cannot restore epoll set", 0);
	}
}

void
placefds(void)
{
	Ifd *f;
	uint32_t i, n;
	int fd;
	char *saved;

	f = sect(Sfd, &n);
	for(i = 0; i < n; i++)
		if(sys3(SYS_dup3, ctx.tmpfd[i], f[i].fd, f[i].flags & O_CLOEXEC) < 0)
			fail("cannot place fd", 0);
	/* epoll sets watch fds by number: now every fd has its own */
	for(i = 0; i < n; i++)
		if(f[i].kind == Depoll)
			watch(&f[i]);
	if(ctx.rootfd >= 0 && (sys1(SYS_fchdir, ctx.rootfd) < 0 || sys1(SYS_chroot, ".") < 0))
		fail("cannot change root", 0);
	sys1(SYS_fchdir, ctx.cwdfd);
	sys1(SYS_close, ctx.imgfd);
	/* a byte per fd number says whether the process had it open */
	saved = rmmap(0, ctx.maxfd + 1, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
	if(mmapfailed(saved))
		fail("out of memory", 0);
	for(i = 0; i < n; i++)
		saved[f[i].fd] = 1;
	for(fd = 0; fd <= ctx.maxfd; fd++)
		if(!saved[fd])
			sys1(SYS_close, fd);
	sys2(SYS_munmap, saved, ctx.maxfd + 1);
	/* all of ours but the ready fd, which resumetask closes last */
	if(ctx.readyfd < 0)
		sys3(SYS_close_range, ctx.maxfd + 1, ~0U, 0);
	else{
		if(ctx.readyfd > ctx.maxfd + 1)
			sys3(SYS_close_range, ctx.maxfd + 1, ctx.readyfd - 1, 0);
		sys3(SYS_close_range, ctx.readyfd + 1, ~0U, 0);
	}
	/* no close of ours can drop them now */
	posixlocks();
	unixconnects();
}
