/*
 * A unix datagram socket known by names rather than by a peer the
 * image holds: bound to an address (a datagram server), connected to
 * one (a syslog client on /dev/log), or neither.  Datagrams carry no
 * connection, so such a socket is bound and connected again by name;
 * one with datagrams waiting is refused, as their senders cannot be.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "engine.h"

static int
addaddr(Img *m, struct sockaddr_un *sa, socklen_t len, uint64_t *off, uint64_t *n)
{
	*off = m->blob.n;
	*n = len;
	return bufadd(&m->blob, sa, len);
}

/* 1: f is one (Dunix), filled in; 0: not one (a socket pair's end); -1: refused */
int
unixdgram1(int dup, int fd, Ifd *f, Img *m)
{
	struct sockaddr_un me, peer;
	socklen_t ml = sizeof me, pl = sizeof peer;
	char c;

	if(getpeername(dup, (struct sockaddr *)&peer, &pl) < 0)
		pl = 0;
	if(pl == sizeof(sa_family_t))
		return 0;	/* an unnamed peer: the other end of a pair */
	if(getsockname(dup, (struct sockaddr *)&me, &ml) < 0 || ml <= sizeof(sa_family_t))
		ml = 0;
	if(recv(dup, &c, 1, MSG_PEEK|MSG_DONTWAIT) >= 0){
		werrstr("unsupported: fd %d is a unix datagram socket with datagrams waiting", fd);
		return -1;
	}
	f->kind = Dunix;
	if(addaddr(m, &me, ml, &f->arg[0], &f->arg[1]) < 0 || addaddr(m, &peer, pl, &f->arg[2], &f->arg[3]) < 0)
		return -1;
	return 1;
}
