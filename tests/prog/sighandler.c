/*
 * sighandler [delay_us]: count SIGUSR1 in a handler installed with
 * sigaction and print "tick N usr1 M" on stdout every 100 ms.  A resumed
 * copy must still have the handler: SIGUSR1 sent to it raises M.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t usr1;

static void
onusr1(int sig)
{
	usr1++;
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	long n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = onusr1;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if(sigaction(SIGUSR1, &sa, NULL) < 0){
		perror("sigaction");
		return 1;
	}
	for(n = 0;; n++){
		printf("tick %ld usr1 %d\n", n, (int)usr1);
		usleep(argc > 1 ? atol(argv[1]) : 100000);
	}
}
