/*
 * nlsock: a NETLINK_ROUTE socket bound to the link group; each 100 ms
 * it checks its protocol and groups and asks the kernel for its links
 * (a dump), printing "ok N" when an answer comes, else "FAIL: why".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

int
main(void)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK}, got;
	struct {
		struct nlmsghdr	nh;
		struct rtgenmsg	g;
	} req;
	char buf[65536];
	socklen_t len;
	int s, proto;
	long n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	s = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	if(s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) < 0){
		printf("FAIL: setup: %s\n", strerror(errno));
		return 1;
	}
	for(n = 0; ; n++){
		len = sizeof got;
		if(getsockname(s, (struct sockaddr *)&got, &len) < 0 || got.nl_groups != RTMGRP_LINK)
			printf("FAIL: groups %x\n", got.nl_groups);
		len = sizeof proto;
		if(getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &proto, &len) < 0 || proto != NETLINK_ROUTE)
			printf("FAIL: protocol %d\n", proto);
		memset(&req, 0, sizeof req);
		req.nh.nlmsg_len = sizeof req;
		req.nh.nlmsg_type = RTM_GETLINK;
		req.nh.nlmsg_flags = NLM_F_REQUEST|NLM_F_DUMP;
		req.nh.nlmsg_seq = n + 1;
		req.g.rtgen_family = AF_UNSPEC;
		if(send(s, &req, sizeof req, 0) != sizeof req){
			printf("FAIL: send: %s\n", strerror(errno));
			continue;
		}
		/* the dump's parts, to its end */
		for(;;){
			ssize_t r = recv(s, buf, sizeof buf, 0);
			struct nlmsghdr *h = (struct nlmsghdr *)buf;

			if(r <= 0){
				printf("FAIL: recv: %s\n", strerror(errno));
				break;
			}
			for(; NLMSG_OK(h, r); h = NLMSG_NEXT(h, r))
				if(h->nlmsg_type == NLMSG_DONE && h->nlmsg_seq == (unsigned)n + 1)
					goto done;
		}
	done:
		printf("ok %ld\n", n);
		usleep(100000);
	}
}
