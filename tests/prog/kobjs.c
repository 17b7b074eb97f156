/*
 * kobjs: kernel objects of one process: a timerfd ticking every 100 ms,
 * a signalfd for SIGUSR1, an eventfd holding 5, a pipe to itself with
 * "hello" in it, and an epoll set over all four.  Prints "tick N" per
 * tick; on SIGUSR1 prints "signal 10", then what the pipe and the
 * eventfd hold ("pipe: hello", "eventfd: 5") and puts both back.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

static void
add(int ep, int fd)
{
	struct epoll_event ev;

	ev.events = EPOLLIN;
	ev.data.u64 = 1000 + fd;	/* the data comes back as it was set */
	if(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		perror("epoll_ctl");
}

int
main(void)
{
	struct itimerspec its = {{0, 100000000}, {0, 100000000}};
	struct signalfd_siginfo si;
	struct epoll_event ev[8];
	sigset_t m;
	uint64_t v, ticks = 0;
	char buf[64];
	int tfd, sfd, efd, ep, p[2], i, n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigprocmask(SIG_BLOCK, &m, NULL);
	tfd = timerfd_create(CLOCK_MONOTONIC, 0);
	timerfd_settime(tfd, 0, &its, NULL);
	sfd = signalfd(-1, &m, 0);
	efd = eventfd(5, EFD_NONBLOCK);
	if(pipe(p) < 0 || write(p[1], "hello", 5) != 5)
		return 1;
	ep = epoll_create1(0);
	add(ep, tfd);
	add(ep, sfd);
	for(;;){
		n = epoll_wait(ep, ev, 8, -1);
		for(i = 0; i < n; i++){
			if(ev[i].data.u64 == 1000 + (uint64_t)tfd){
				if(read(tfd, &v, 8) == 8)
					ticks += v;
				printf("tick %llu\n", (unsigned long long)ticks);
			}else if(ev[i].data.u64 == 1000 + (uint64_t)sfd){
				if(read(sfd, &si, sizeof si) != sizeof si)
					continue;
				printf("signal %u\n", si.ssi_signo);
				n = read(p[0], buf, sizeof buf - 1);
				buf[n > 0 ? n : 0] = 0;
				printf("pipe: %s\n", buf);
				if(read(efd, &v, 8) == 8)
					printf("eventfd: %llu\n", (unsigned long long)v);
				if(write(p[1], buf, strlen(buf)) < 0 || write(efd, &v, 8) < 0)
					return 1;
				n = 0;
			}else
				printf("FAIL epoll data %llu\n", (unsigned long long)ev[i].data.u64);
		}
	}
}
