/*
 * Internet sockets that are not a conversation: UDP sockets (bound,
 * connected to a default peer, or neither) and TCP sockets not yet
 * connected or listening; and netlink sockets (a protocol and groups).  Each is its address, its peer and its
 * options; a resume makes it again.  Datagrams waiting to be read are
 * not carried: the network may drop a datagram, and so may we.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/netlink.h>
#include "engine.h"

/* the options carried, SO_REUSEADDR and IPV6_V6ONLY first: they must precede bind */
static const struct {
	int	level;
	int	name;
	int	family;	/* 0: any */
} opts[] = {
	{SOL_SOCKET, SO_REUSEADDR, 0},
	{SOL_SOCKET, SO_REUSEPORT, 0},
	{IPPROTO_IPV6, IPV6_V6ONLY, AF_INET6},
	{SOL_SOCKET, SO_BROADCAST, 0},
	{SOL_SOCKET, SO_KEEPALIVE, 0},
	{SOL_SOCKET, SO_RCVBUF, 0},
	{SOL_SOCKET, SO_SNDBUF, 0},
	{SOL_SOCKET, SO_PRIORITY, 0},
	{IPPROTO_IP, IP_TOS, AF_INET},
	{IPPROTO_IP, IP_TTL, AF_INET},
	{IPPROTO_TCP, TCP_NODELAY, -SOCK_STREAM},
};

static int
addopt(Buf *b, int level, int name, int val)
{
	int32_t o[3] = {level, name, val};

	return bufadd(b, o, sizeof o);
}

static int
options(int s, int family, int type, Buf *b, uint32_t *n)
{
	size_t i;
	int v;
	socklen_t len;

	for(i = 0; i < sizeof opts/sizeof opts[0]; i++){
		if(opts[i].family > 0 && opts[i].family != family)
			continue;
		if(opts[i].family < 0 && -opts[i].family != type)
			continue;
		len = sizeof v;
		if(getsockopt(s, opts[i].level, opts[i].name, &v, &len) < 0)
			continue;
		/* the kernel reports buffer sizes doubled; setting halves them back */
		if(opts[i].level == SOL_SOCKET && (opts[i].name == SO_RCVBUF || opts[i].name == SO_SNDBUF))
			v /= 2;
		if(addopt(b, opts[i].level, opts[i].name, v) < 0)
			return -1;
		(*n)++;
	}
	return 0;
}

/*
 * f->arg: domain | type<<32, blob offset and length of the record,
 * the protocol (netlink's; 0 for the others).  The record: u32 address length, the address,
 * u32 peer length, the peer, u32 option count, then (level, name,
 * value) as i32 triples.
 */
int
inet1(int s, int fd, int domain, int type, Ifd *f, Img *m)
{
	struct sockaddr_storage sa, peer;
	socklen_t alen = sizeof sa, plen = sizeof peer;
	struct tcp_info ti;
	socklen_t tlen = sizeof ti;
	uint32_t n = 0, len;
	int proto;
	size_t at;
	Buf opt = {0};
	int r = -1;

	if(domain == AF_NETLINK){
		/* a netlink socket is its protocol and its groups (its address); no peer */
		plen = sizeof proto;
		if(getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &proto, &plen) < 0){
			werrstr("unsupported: fd %d is a netlink socket of no protocol", fd);
			return -1;
		}
		f->arg[3] = proto;
		plen = 0;
		if(getsockname(s, (struct sockaddr *)&sa, &alen) < 0)
			alen = 0;
		goto record;
	}
	if(type == SOCK_STREAM && (getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &tlen) < 0 || ti.tcpi_state != TCP_CLOSE)){
		werrstr("unsupported: fd %d is a connected socket", fd);
		return -1;
	}
	if(type != SOCK_STREAM && type != SOCK_DGRAM){
		werrstr("unsupported: fd %d is a raw socket", fd);
		return -1;
	}
	if(getsockname(s, (struct sockaddr *)&sa, &alen) < 0)
		alen = 0;
	if(type != SOCK_DGRAM || getpeername(s, (struct sockaddr *)&peer, &plen) < 0)
		plen = 0;
record:
	if(options(s, domain, type, &opt, &n) < 0)
		goto out;
	f->kind = Dinet;
	f->arg[0] = (uint32_t)domain | (uint64_t)type << 32;
	at = m->blob.n;
	len = alen;
	if(bufadd(&m->blob, &len, 4) < 0 || bufadd(&m->blob, &sa, alen) < 0)
		goto out;
	len = plen;
	if(bufadd(&m->blob, &len, 4) < 0 || bufadd(&m->blob, &peer, plen) < 0 ||
	   bufadd(&m->blob, &n, 4) < 0 || bufadd(&m->blob, opt.p, opt.n) < 0)
		goto out;
	f->arg[1] = at;
	f->arg[2] = m->blob.n - at;
	r = 0;
out:
	free(opt.p);
	return r;
}
