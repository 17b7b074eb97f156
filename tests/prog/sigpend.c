/*
 * sigpend FILE: block SIGUSR1 and SIGRTMIN, queue SIGRTMIN twice (with
 * values 41 and 42) and raise SIGUSR1, then print "tick N" every 100 ms
 * until FILE exists; then unblock and print what arrives: "usr1",
 * "rt 41", "rt 42".
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static void
onsig(int sig, siginfo_t *si, void *uc)
{
	char buf[32];
	int n;

	if(sig == SIGUSR1)
		n = snprintf(buf, sizeof buf, "usr1\n");
	else
		n = snprintf(buf, sizeof buf, "rt %d\n", si->si_value.sival_int);
	if(write(1, buf, n) != n)
		_exit(1);
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	sigset_t m;
	union sigval v;
	long n;

	if(argc != 2){
		fprintf(stderr, "usage: sigpend FILE\n");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	sa.sa_sigaction = onsig;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGRTMIN, &sa, NULL);
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigaddset(&m, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &m, NULL);
	v.sival_int = 41;
	sigqueue(getpid(), SIGRTMIN, v);
	v.sival_int = 42;
	sigqueue(getpid(), SIGRTMIN, v);
	raise(SIGUSR1);
	for(n = 0; access(argv[1], F_OK) != 0; n++){
		printf("tick %ld\n", n);
		usleep(100000);
	}
	sigprocmask(SIG_UNBLOCK, &m, NULL);
	for(;;)
		pause();
}
