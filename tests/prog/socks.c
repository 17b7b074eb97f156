/*
 * socks GO: unix socket pairs of type SOCK_DGRAM and SOCK_SEQPACKET,
 * each with four messages queued at one end ("one", "twotwo", an
 * empty one, "three") and one at the other ("back").  Prints "tick N"
 * every 100 ms until the file GO exists, then reads every queue and
 * prints "ok" if each message came back whole and in order, else
 * "FAIL: why"; then sleeps.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

static const char *msgs[] = {"one", "twotwo", "", "three"};

static int
check(int fd, const char *want, const char *what)
{
	char buf[64];
	ssize_t n;

	n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
	if(n != (ssize_t)strlen(want) || memcmp(buf, want, n) != 0){
		printf("FAIL: %s: got %zd bytes \"%.*s\", want \"%s\"\n", what, n, n > 0 ? (int)n : 0, buf, want);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const int types[] = {SOCK_DGRAM, SOCK_SEQPACKET};
	static const char *names[] = {"dgram", "seqpacket"};
	int sv[2][2], i, j, bad = 0;
	long n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if(argc < 2)
		return 2;
	for(i = 0; i < 2; i++){
		if(socketpair(AF_UNIX, types[i], 0, sv[i]) < 0)
			return 1;
		for(j = 0; j < 4; j++)
			if(send(sv[i][1], msgs[j], strlen(msgs[j]), 0) < 0)
				return 1;
		if(send(sv[i][0], "back", 4, 0) < 0)
			return 1;
	}
	for(n = 0; access(argv[1], F_OK) < 0; n++){
		printf("tick %ld\n", n);
		usleep(100000);
	}
	for(i = 0; i < 2; i++){
		for(j = 0; j < 4; j++)
			bad |= check(sv[i][0], msgs[j], names[i]);
		bad |= check(sv[i][1], "back", names[i]);
		if(recv(sv[i][0], &n, 1, MSG_DONTWAIT) >= 0){
			printf("FAIL: %s: more than was sent\n", names[i]);
			bad = 1;
		}
	}
	if(!bad)
		printf("ok\n");
	for(;;)
		pause();
}
