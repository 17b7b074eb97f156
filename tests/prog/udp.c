/*
 * udp port: internet sockets that are not a conversation.  A UDP
 * socket bound to 127.0.0.1:port (SO_BROADCAST, SO_RCVBUF set), a UDP
 * socket connected to it, a TCP socket bound to 127.0.0.1:port but
 * neither listening nor connected (SO_REUSEADDR, TCP_NODELAY).  Each
 * 100 ms the connected socket sends N and the bound one must receive
 * it (sent again after 500 ms without it: a datagram may be lost),
 * then "udp N" is printed; "FAIL: why" when a socket is not as made.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static int
opt(int s, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof v;

	getsockopt(s, level, name, &v, &len);
	return v;
}

static int
port(int s)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;

	if(getsockname(s, (struct sockaddr *)&a, &len) < 0)
		return -1;
	return ntohs(a.sin_port);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in a;
	struct pollfd pf;
	int s1, s2, s3, one = 1, buf = 65536, p, rcvbuf;
	long n, got;

	if(argc != 2){
		fprintf(stderr, "usage: udp port\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	p = atoi(argv[1]);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons(p);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s1 = socket(AF_INET, SOCK_DGRAM, 0);
	s2 = socket(AF_INET, SOCK_DGRAM, 0);
	s3 = socket(AF_INET, SOCK_STREAM, 0);
	if(s1 < 0 || s2 < 0 || s3 < 0 ||
	   setsockopt(s1, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) < 0 ||
	   setsockopt(s1, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf) < 0 ||
	   bind(s1, (struct sockaddr *)&a, sizeof a) < 0 ||
	   connect(s2, (struct sockaddr *)&a, sizeof a) < 0 ||
	   setsockopt(s3, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	   setsockopt(s3, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ||
	   bind(s3, (struct sockaddr *)&a, sizeof a) < 0){
		printf("FAIL: setup: %s\n", strerror(errno));
		return 1;
	}
	rcvbuf = opt(s1, SOL_SOCKET, SO_RCVBUF);
	for(n = 0; ; n++){
		for(;;){
			if(send(s2, &n, sizeof n, 0) != sizeof n)
				printf("FAIL: send: %s\n", strerror(errno));
			pf.fd = s1;
			pf.events = POLLIN;
			if(poll(&pf, 1, 500) == 1)
				break;
		}
		if(recv(s1, &got, sizeof got, 0) != sizeof got || got != n)
			printf("FAIL: got %ld for %ld\n", got, n);
		if(opt(s1, SOL_SOCKET, SO_BROADCAST) != 1 || opt(s1, SOL_SOCKET, SO_RCVBUF) != rcvbuf)
			printf("FAIL: udp options\n");
		if(opt(s3, SOL_SOCKET, SO_REUSEADDR) != 1 || opt(s3, IPPROTO_TCP, TCP_NODELAY) != 1 ||
		   port(s3) != p || port(s1) != p)
			printf("FAIL: tcp socket\n");
		printf("udp %ld\n", n);
		usleep(100000);
	}
}
