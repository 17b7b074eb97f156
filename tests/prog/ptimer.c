/*
 * ptimer: POSIX timers under ids that are not the first: one timer is
 * made and deleted first, then a SIGUSR1 timer and a SIGEV_THREAD timer
 * (glibc's helper thread), both every 20 ms.  Every 100 ms prints
 * "ok N" when both fired since the last step and timer_gettime still
 * knows both ids, else "FAIL why".
 */
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static volatile long nsig, nthr;

static void
onsig(int sig)
{
	nsig++;
}

static void
onthread(union sigval v)
{
	nthr++;
}

int
main(void)
{
	struct itimerspec its = {{0, 20000000}, {0, 20000000}}, cur;
	struct sigevent sev = {0};
	struct timespec next, now;
	timer_t t0, t1, t2;
	long n, ls = 0, lt = 0;
	int ok;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGUSR1, onsig);
	sev.sigev_notify = SIGEV_NONE;
	timer_create(CLOCK_MONOTONIC, &sev, &t0);
	timer_delete(t0);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR1;
	if(timer_create(CLOCK_MONOTONIC, &sev, &t1) < 0)
		return 1;
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = onthread;
	if(timer_create(CLOCK_MONOTONIC, &sev, &t2) < 0)
		return 1;
	timer_settime(t1, 0, &its, NULL);
	timer_settime(t2, 0, &its, NULL);
	usleep(300000);	/* glibc starts its timer thread lazily */
	ls = nsig;
	lt = nthr;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for(n = 0;; n++){
		/* a whole 100 ms: the timer's signals cut sleeps short */
		next.tv_nsec += 100000000;
		if(next.tv_nsec >= 1000000000){
			next.tv_sec++;
			next.tv_nsec -= 1000000000;
		}
		while(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) != 0)
			;
		/* after a freeze the deadline lies long past: start the steps again from now */
		clock_gettime(CLOCK_MONOTONIC, &now);
		if((now.tv_sec - next.tv_sec) * 1000000000L + now.tv_nsec - next.tv_nsec > 100000000L)
			next = now;
		ok = 1;
		if(nsig == ls || nthr == lt){
			printf("FAIL step %ld: sig %ld thread %ld\n", n, nsig - ls, nthr - lt);
			ok = 0;
		}
		if(timer_gettime(t1, &cur) < 0 || timer_gettime(t2, &cur) < 0){
			printf("FAIL step %ld: timer ids lost\n", n);
			ok = 0;
		}
		ls = nsig;
		lt = nthr;
		if(ok)
			printf("ok %ld\n", n);
	}
}
