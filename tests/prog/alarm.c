/*
 * alarm: alarm(3) pending while it prints "tick N" every 100 ms
 * (N counts only the time the process runs, as sleeps of 100 ms do);
 * when SIGALRM comes, print "alarm at N" and "ok" if N is near 30,
 * else "FAIL: alarm at tick N", then a second alarm(1) the same way
 * ("alarm at M", "ok" if M is near N + 10); near: within 10 ticks.
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t rang;

static void
ring(int sig)
{
	rang = 1;
}

int
main(void)
{
	long n, want = 30, slack = 10;	/* wide: the machine may be busy */
	int second = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, ring);
	alarm(3);
	for(n = 0;; n++){
		if(rang){
			rang = 0;
			printf("alarm at %ld\n", n);
			if(n < want - slack || n > want + slack)
				printf("FAIL: alarm at tick %ld, want %ld\n", n, want);
			else
				printf("ok\n");
			if(second++)
				for(;;)
					pause();
			alarm(1);
			want = n + 10;
		}
		printf("tick %ld\n", n);
		usleep(100000);
	}
}
