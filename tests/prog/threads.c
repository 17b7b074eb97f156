/*
 * threads N: N worker threads (default 4), each with its own name, TLS
 * count, signal mask (odd ones block SIGUSR2) and a robust mutex it
 * takes, all waiting on one condition variable (futexes).  Every 100 ms
 * main prints "ok STEP" when every worker moved on since the last step
 * and its checks hold, else "FAIL what".
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
	Max	= 64,
};

static pthread_mutex_t mu;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long count[Max];
static char bad[Max][64];
static __thread long mine;

static void
check(int i)
{
	char name[16], want[16];
	sigset_t set;
	clockid_t cid;

	snprintf(want, sizeof want, "w%d", i);
	if(pthread_getname_np(pthread_self(), name, sizeof name) != 0 || strcmp(name, want) != 0)
		snprintf(bad[i], sizeof bad[i], "thread %d name %s", i, name);
	pthread_sigmask(SIG_BLOCK, NULL, &set);
	if(sigismember(&set, SIGUSR2) != (i & 1))
		snprintf(bad[i], sizeof bad[i], "thread %d mask", i);
	/* the TCB's cached tid must name this thread of this process */
	if(pthread_getcpuclockid(pthread_self(), &cid) != 0)
		snprintf(bad[i], sizeof bad[i], "thread %d cached tid", i);
	if(mine != count[i])
		snprintf(bad[i], sizeof bad[i], "thread %d tls %ld count %ld", i, mine, count[i]);
}

static void *
work(void *arg)
{
	int i = (long)arg, r;
	char name[16];
	sigset_t set;
	struct timespec ts;

	snprintf(name, sizeof name, "w%d", i);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(i & 1 ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
	for(;;){
		r = pthread_mutex_lock(&mu);
		if(r == EOWNERDEAD)
			pthread_mutex_consistent(&mu);
		check(i);
		count[i]++;
		mine++;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 5000000 * (i % 3 + 1);
		if(ts.tv_nsec >= 1000000000){
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&cv, &mu, &ts);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	pthread_mutexattr_t ma;
	pthread_t t;
	long last[Max], step, i, n = argc > 1 ? atol(argv[1]) : 4;
	int ok;

	if(n < 1 || n > Max){
		fprintf(stderr, "usage: threads [N<=%d]\n", Max);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&mu, &ma);
	memset(last, 0, sizeof last);
	for(i = 0; i < n; i++)
		pthread_create(&t, NULL, work, (void *)i);
	for(step = 0;; step++){
		usleep(100000);
		pthread_mutex_lock(&mu);
		ok = 1;
		for(i = 0; i < n; i++){
			if(bad[i][0]){
				printf("FAIL %s\n", bad[i]);
				ok = 0;
			}
			if(count[i] == last[i]){
				printf("FAIL thread %ld stuck at %ld\n", i, count[i]);
				ok = 0;
			}
			last[i] = count[i];
		}
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
		if(ok)
			printf("ok %ld\n", step);
	}
}
