/*
 * An internet socket that was not a conversation, made again: options
 * (those that must come before bind first), its address, its peer.
 */
#include "rst.h"

enum {
	SYS_connect_ = 42,
	EADDRINUSE = 98,
	AF_NETLINK = 16,
};

long
inet1(Ifd *f)
{
	char *rec = (char *)sect(Sblob, 0) + f->arg[1], *sa, *peer;
	uint32_t alen, plen, n, i;
	int32_t *o;
	long fd;

	fd = sys3(SYS_socket, (uint32_t)f->arg[0], (f->arg[0] >> 32) | (f->flags & O_NONBLOCK) | O_CLOEXEC, f->arg[3]);
	if(fd < 0)
		fail("cannot make socket", 0);
	memcpy(&alen, rec, 4);
	sa = rec + 4;
	memcpy(&plen, sa + alen, 4);
	peer = sa + alen + 4;
	memcpy(&n, peer + plen, 4);
	o = (int32_t *)(peer + plen + 4);
	for(i = 0; i < n; i++, o += 3)
		sys5(SYS_setsockopt, fd, o[0], o[1], &o[2], 4);
	if((uint32_t)f->arg[0] == AF_NETLINK){
		/* its groups again; its port id too, or any if that is taken */
		if(alen >= 12 && sys3(SYS_bind, fd, sa, alen) < 0){
			memset(sa + 4, 0, 4);
			if(sys3(SYS_bind, fd, sa, alen) < 0)
				fail("cannot bind netlink socket again", 0);
		}
		return fd;
	}
	/* bound to a port (or an address) before: the same one again */
	if(alen >= 8 && (sa[2] != 0 || sa[3] != 0)){
		if(sys3(SYS_bind, fd, sa, alen) < 0)
			fail("cannot bind socket again", "address in use");
	}
	if(plen > 0 && sys3(SYS_connect_, fd, peer, plen) < 0)
		fail("cannot connect socket again", 0);
	return fd;
}
