/*
 * Unix datagram sockets by name: made and bound again in stage 1 (the
 * old socket file, left by the frozen process, goes first), connected
 * again to their peer's name once every fd is in place, so that a peer
 * bound by the process itself is there whatever the fd order.
 */
#include "rst.h"

enum {
	SYS_connect = 42,
	AF_UNIX = 1, SOCK_DGRAM = 2,
};

/* a unix address naming a file: its socket file, left by the dead process, goes */
void
unlinksock(char *sa, uint64_t len)
{
	uint32_t st[36];	/* struct stat: st_mode at 24 */

	if(len > 2 && sa[2] != 0 && sys4(SYS_newfstatat, -100, sa + 2, st, 0) == 0 && (st[6] & 0170000) == 0140000)
		sys1(SYS_unlink, sa + 2);
}

static const char *
name(char *sa, uint64_t len)
{
	return len <= 2 ? "unnamed" : sa[2] != 0 ? sa + 2 : "abstract";
}

long
unix1(Ifd *f)
{
	char *sa = (char *)sect(Sblob, 0) + f->arg[0];
	long fd;

	fd = sys3(SYS_socket, AF_UNIX, SOCK_DGRAM | (f->flags & O_NONBLOCK) | O_CLOEXEC, 0);
	if(fd < 0)
		fail("cannot make socket", 0);
	if(f->arg[1] > 2){
		unlinksock(sa, f->arg[1]);
		if(sys3(SYS_bind, fd, sa, f->arg[1]) < 0)
			fail("cannot bind socket again", name(sa, f->arg[1]));
	}
	return fd;
}

/* stage 2, every fd in place */
void
unixconnects(void)
{
	Ifd *f;
	uint32_t i, n;
	char *sa;

	f = sect(Sfd, &n);
	for(i = 0; i < n; i++){
		if(f[i].kind != Dunix || f[i].arg[3] <= 2)
			continue;
		sa = (char *)sect(Sblob, 0) + f[i].arg[2];
		if(sys3(SYS_connect, f[i].fd, sa, f[i].arg[3]) < 0)
			fail("cannot connect socket again", name(sa, f[i].arg[3]));
	}
}
