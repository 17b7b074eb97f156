/*
 * File descriptors that are kernel objects of the process alone:
 * eventfd, signalfd, timerfd, epoll sets and pipes with both ends in
 * the process, and listening sockets.  Their state is read from fdinfo
 * (and, for what is in a pipe, copied with tee, which leaves it there).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/ioctl.h>
#include <asm/termbits.h>
#include "engine.h"

enum {
	Pipemax	= 1<<20,	/* bytes of a pipe we carry */
};

static uint64_t
field(const char *info, const char *key, int base)
{
	const char *p = strstr(info, key);

	return p ? strtoull(p + strlen(key), NULL, base) : 0;
}

static int
eventfd1(pid_t pid, int fd, const char *info, Ifd *f, Img *m)
{
	f->arg[0] = field(info, "eventfd-count:", 16);
	f->arg[1] = field(info, "eventfd-semaphore:", 10);
	return 0;
}

static int
signalfd1(pid_t pid, int fd, const char *info, Ifd *f, Img *m)
{
	f->arg[0] = field(info, "sigmask:", 16);
	return 0;
}

static uint64_t
pairns(const char *info, const char *key)
{
	const char *p = strstr(info, key);
	unsigned long long s, ns;

	if(p == NULL || sscanf(p + strlen(key), " (%llu, %llu)", &s, &ns) != 2)
		return 0;
	return s * 1000000000ULL + ns;
}

static int
timerfd1(pid_t pid, int fd, const char *info, Ifd *f, Img *m)
{
	f->arg[0] = field(info, "clockid:", 10);
	f->arg[1] = pairns(info, "it_value:");
	f->arg[2] = pairns(info, "it_interval:");
	return 0;
}

static int
epoll1(pid_t pid, int fd, const char *info, Ifd *f, Img *m)
{
	const char *p;
	Iwatch w;
	unsigned long long data;
	unsigned ev;
	int tfd;

	while(m->blob.n % 8)
		bufadd(&m->blob, "", 1);
	f->arg[0] = m->blob.n;
	for(p = strstr(info, "tfd:"); p != NULL; p = strstr(p + 4, "tfd:")){
		if(sscanf(p, "tfd: %d events: %x data: %llx", &tfd, &ev, &data) != 3)
			continue;
		w.fd = tfd;
		w.events = ev;
		w.data = data;
		if(bufadd(&m->blob, &w, sizeof w) < 0)
			return -1;
		f->arg[1]++;
	}
	return 0;
}

/* our own copy of the process's fd (same open file) */
int
peerfd(pid_t pid, int fd)
{
	int pfd, dup;

	pfd = syscall(SYS_pidfd_open, pid, 0);
	dup = pfd < 0 ? -1 : syscall(SYS_pidfd_getfd, pfd, fd, 0);
	if(dup < 0)
		werrstr("cannot get fd %d of the process: %s", fd, strerror(errno));
	if(pfd >= 0)
		close(pfd);
	return dup;
}

/* the bytes in a pipe (or fifo), copied out without taking them: arg[1], arg[2] */
int
pipedata(pid_t pid, int fd, Ifd *f, Img *m)
{
	int dup, p[2] = {-1, -1}, r = -1;
	ssize_t n;
	char *buf = NULL;

	dup = peerfd(pid, fd);
	if(dup < 0)
		return -1;
	if(pipe2(p, O_CLOEXEC|O_NONBLOCK) < 0 || fcntl(p[1], F_SETPIPE_SZ, Pipemax) < 0){
		werrstr("cannot read pipe of fd %d: %s", fd, strerror(errno));
		goto out;
	}
	n = tee(dup, p[1], Pipemax, SPLICE_F_NONBLOCK);
	if(n < 0 && errno != EAGAIN){
		werrstr("cannot read pipe of fd %d: %s", fd, strerror(errno));
		goto out;
	}
	if(n > 0){
		buf = malloc(n);
		if(buf == NULL || read(p[0], buf, n) != n){
			werrstr("cannot read pipe of fd %d", fd);
			goto out;
		}
		f->arg[1] = m->blob.n;
		f->arg[2] = n;
		if(bufadd(&m->blob, buf, n) < 0)
			goto out;
	}
	r = 0;
out:
	free(buf);
	close(p[0]);
	close(p[1]);
	close(dup);
	return r;
}

int
pipefd(pid_t pid, int fd, uint64_t ino, Ifd *f, Img *m)
{
	Ifd *o;
	size_t i;

	f->kind = Dpipe;
	f->arg[0] = ino;
	if((f->flags & O_ACCMODE) != O_RDONLY)
		return 0;
	/* the data goes with the first read end */
	o = (Ifd *)m->fds.p;
	for(i = 0; i < m->fds.n / sizeof *o; i++)
		if(&o[i] != f && o[i].kind == Dpipe && o[i].arg[0] == f->arg[0] &&
		   (o[i].flags & O_ACCMODE) == O_RDONLY)
			return 0;
	return pipedata(pid, fd, f, m);
}

/*
 * A listening socket is its address: bound and listening again on resume.
 * A connected one is a conversation with someone else: refused.
 */
static int	sockpair1(int dup, int fd, const char *link, Ifd *f, Img *m);

/* what a socket of a domain we do not carry is, for the refusal */
static const struct {
	int	domain;
	char	what[24];
} socknames[] = {
	{AF_PACKET, "a packet socket"},
	{AF_VSOCK, "a vsock socket"}, {AF_ALG, "an AF_ALG socket"},
};

static const char *
sockname(int domain)
{
	size_t i;

	for(i = 0; i < sizeof socknames/sizeof socknames[0]; i++)
		if(socknames[i].domain == domain)
			return socknames[i].what;
	return "a socket";
}

static int
socket1(pid_t pid, int fd, const char *link, Ifd *f, Img *m)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof sa, ol;
	int dup, listening = 0, domain = 0, type = 0, r = -1;

	dup = peerfd(pid, fd);
	if(dup < 0)
		return -1;
	ol = sizeof listening;
	getsockopt(dup, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ol);
	ol = sizeof domain;
	getsockopt(dup, SOL_SOCKET, SO_DOMAIN, &domain, &ol);
	ol = sizeof type;
	getsockopt(dup, SOL_SOCKET, SO_TYPE, &type, &ol);
	f->arg[1] = type;
	if(listening && getsockname(dup, (struct sockaddr *)&sa, &len) == 0){
		f->arg[0] = domain;
		f->arg[2] = m->blob.n;
		f->arg[3] = len;
		r = bufadd(&m->blob, &sa, len);
	}else if(!listening && domain == AF_UNIX)
		r = sockpair1(dup, fd, link, f, m);
	else if(!listening && (domain == AF_INET || domain == AF_INET6 || domain == AF_NETLINK))
		r = inet1(dup, fd, domain, type, f, m);
	else
		werrstr("unsupported: fd %d is %s", fd, sockname(domain));
	close(dup);
	return r;
}

/* the inode of the other end of unix socket ino, from sock_diag; 0 if none */
static uint32_t
unixpeer(uint32_t ino)
{
	struct {
		struct nlmsghdr	nh;
		struct unix_diag_req	r;
	} req;
	char buf[8192];
	struct nlmsghdr *nh = (struct nlmsghdr *)buf;
	struct rtattr *rta;
	ssize_t n;
	int s, len;
	uint32_t peer = 0;

	s = socket(AF_NETLINK, SOCK_DGRAM|SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if(s < 0)
		return 0;
	memset(&req, 0, sizeof req);
	req.nh.nlmsg_len = sizeof req;
	req.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.r.sdiag_family = AF_UNIX;
	req.r.udiag_states = ~0U;
	req.r.udiag_ino = ino;
	req.r.udiag_show = UDIAG_SHOW_PEER;
	req.r.udiag_cookie[0] = req.r.udiag_cookie[1] = ~0U;
	if(send(s, &req, sizeof req, 0) != sizeof req || (n = recv(s, buf, sizeof buf, 0)) <= 0 ||
	   !NLMSG_OK(nh, n) || nh->nlmsg_type != SOCK_DIAG_BY_FAMILY){
		close(s);
		return 0;
	}
	rta = (struct rtattr *)((struct unix_diag_msg *)NLMSG_DATA(nh) + 1);
	len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(struct unix_diag_msg));
	for(; RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if(rta->rta_type == UNIX_DIAG_PEER)
			memcpy(&peer, RTA_DATA(rta), 4);
	close(s);
	return peer;
}

/*
 * What waits to be read from a socket, peeked from offset 0 on (the
 * process's own peek offset put back after): a stream's bytes as they
 * are, datagrams and records each after its length (u32), so their
 * boundaries come back.
 */
static int
peekall(int dup, int fd, Ifd *f, Img *m)
{
	char *buf;
	ssize_t n;
	size_t got = 0;
	int off = 0, old = -1, dgram = f->arg[1] != SOCK_STREAM;
	socklen_t ol = sizeof old;
	uint32_t len;

	buf = malloc(Pipemax);
	if(buf == NULL){
		werrstr("out of memory");
		return -1;
	}
	getsockopt(dup, SOL_SOCKET, SO_PEEK_OFF, &old, &ol);
	setsockopt(dup, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof off);
	f->arg[2] = m->blob.n;
	while(got < Pipemax && (n = recv(dup, buf, Pipemax - got, MSG_PEEK|MSG_DONTWAIT|(dgram ? MSG_TRUNC : 0))) >= 0){
		if(!dgram && n == 0)
			break;
		if((size_t)n > Pipemax - got || (!dgram && (size_t)n == Pipemax)){
			werrstr("unsupported: fd %d has more than %d bytes waiting", fd, Pipemax);
			goto fail;
		}
		len = n;
		if((dgram && bufadd(&m->blob, &len, sizeof len) < 0) || bufadd(&m->blob, buf, n) < 0)
			goto fail;
		got += n + (dgram ? sizeof len : 0);
		if(!dgram)
			break;
	}
	f->arg[3] = m->blob.n - f->arg[2];
	setsockopt(dup, SOL_SOCKET, SO_PEEK_OFF, &old, sizeof old);
	free(buf);
	return 0;
fail:
	setsockopt(dup, SOL_SOCKET, SO_PEEK_OFF, &old, sizeof old);
	free(buf);
	return -1;
}

/*
 * One end of a unix socket pair: its inode and its peer's, its type,
 * and what waits to be read from it.
 */
static int
sockpair1(int dup, int fd, const char *link, Ifd *f, Img *m)
{
	uint32_t ino = strtoul(link + strlen("socket:["), NULL, 10), peer;
	int r;

	if(f->arg[1] == SOCK_DGRAM && (r = unixdgram1(dup, fd, f, m)) != 0)
		return r < 0 ? -1 : 0;
	peer = unixpeer(ino);
	if(peer == 0){
		werrstr("unsupported: fd %d is an unconnected unix socket", fd);
		return -1;
	}
	f->kind = Dsockpair;
	f->arg[0] = ino | (uint64_t)peer << 32;
	return peekall(dup, fd, f, m);
}

static const struct {
	char	link[24];
	int	kind;
	int	(*fn)(pid_t, int, const char *, Ifd *, Img *);
} anontab[] = {
	{"anon_inode:[eventfd]",	Deventfd,	eventfd1},
	{"anon_inode:[signalfd]",	Dsignalfd,	signalfd1},
	{"anon_inode:[timerfd]",	Dtimerfd,	timerfd1},
	{"anon_inode:[eventpoll]",	Depoll,		epoll1},
	{"anon_inode:inotify",		Dinotify,	inotify1},
};

/* 1: f is one of these, filled in; 0: not one; -1: error */
int
anonfd(pid_t pid, int fd, const char *link, const char *info, Ifd *f, Img *m)
{
	size_t i;

	if(strncmp(link, "pipe:[", 6) == 0 && fd > 2){
		return pipefd(pid, fd, strtoull(link + 6, NULL, 10), f, m) < 0 ? -1 : 1;
	}
	if(strncmp(link, "socket:[", 8) == 0 && fd > 2){
		f->kind = Dlisten;
		return socket1(pid, fd, link, f, m) < 0 ? -1 : 1;
	}
	for(i = 0; i < sizeof anontab/sizeof anontab[0]; i++)
		if(strcmp(link, anontab[i].link) == 0){
			f->kind = anontab[i].kind;
			return anontab[i].fn(pid, fd, info, f, m) < 0 ? -1 : 1;
		}
	return 0;
}

/* a terminal's modes (raw, no echo, ...): the runner's terminal gets them */
int
termios1(pid_t pid, int fd, Ifd *f, Img *m)
{
	struct termios tio;
	int dup;

	dup = peerfd(pid, fd);
	if(dup < 0)
		return -1;
	if(ioctl(dup, TCGETS, &tio) == 0){
		f->arg[0] = m->blob.n;
		f->arg[1] = sizeof tio;
		if(bufadd(&m->blob, &tio, sizeof tio) < 0){
			close(dup);
			return -1;
		}
	}
	close(dup);
	return 0;
}
