/*
 * pidcheck [delay_us]: check that what libc believes about our identity
 * is what the kernel says, every second (or delay_us):
 *	"ok PID"	getpid and gettid agree with the raw system calls, and
 *			pthread_self's cached tid (the TCB) names this thread:
 *			its cpu clock is readable, which the kernel allows only
 *			for threads of the caller's own process;
 *	"raise ok"	raise(SIGUSR1) arrives here with si_pid == getpid().
 * Anything else prints "FAIL ...".  A copy resumed under a new pid must
 * pass: glibc caches the tid in the thread control block.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static volatile pid_t sipid;

static void
onusr1(int sig, siginfo_t *si, void *uc)
{
	got++;
	sipid = si->si_pid;
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	struct timespec ts;
	clockid_t clk;
	pid_t pid, spid, tid, stid;
	int e, seen;

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = onusr1;
	sa.sa_flags = SA_SIGINFO|SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if(sigaction(SIGUSR1, &sa, NULL) < 0){
		perror("sigaction");
		return 1;
	}
	for(;;){
		pid = getpid();
		spid = syscall(SYS_getpid);
		tid = gettid();
		stid = syscall(SYS_gettid);
		if(pid != spid || tid != stid)
			printf("FAIL getpid %d/%d gettid %d/%d\n", pid, spid, tid, stid);
		else if((e = pthread_getcpuclockid(pthread_self(), &clk)) != 0)
			printf("FAIL pthread_getcpuclockid: %s\n", strerror(e));
		else if(clock_gettime(clk, &ts) < 0)
			printf("FAIL stale tid in TCB: pthread cpu clock: %m\n");
		else
			printf("ok %d\n", pid);

		seen = got;
		sipid = -1;
		if(raise(SIGUSR1) != 0)
			printf("FAIL raise: %m\n");
		else if(got == seen)
			printf("FAIL raise: signal not delivered\n");
		else if(sipid != getpid())
			printf("FAIL raise: si_pid %d, pid %d\n", (int)sipid, getpid());
		else
			printf("raise ok\n");
		usleep(argc > 1 ? atol(argv[1]) : 1000000);
	}
}
