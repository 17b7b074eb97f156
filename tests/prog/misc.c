/*
 * misc: print, every 100 ms, "N nice=.. cpus=.. nnp=.. dumpable=..
 * subreaper=.. umask=.. nofile=.." (the soft limit of open files) from
 * the kernel's point of view, so a resumed copy shows they came back.
 */
#include <sched.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

int
main(void)
{
	cpu_set_t cpus;
	struct rlimit rl;
	mode_t um;
	int sub;
	long n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	setpriority(PRIO_PROCESS, 0, 7);
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	sched_setaffinity(0, sizeof cpus, &cpus);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 0);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	umask(027);
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = 777;
	setrlimit(RLIMIT_NOFILE, &rl);
	for(n = 0;; n++){
		sched_getaffinity(0, sizeof cpus, &cpus);
		prctl(PR_GET_CHILD_SUBREAPER, &sub);
		um = umask(0);
		umask(um);
		getrlimit(RLIMIT_NOFILE, &rl);
		printf("%ld nice=%d cpus=%d nnp=%d dumpable=%d subreaper=%d umask=%03o nofile=%ld\n", n,
			getpriority(PRIO_PROCESS, 0), CPU_COUNT(&cpus), prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0),
			prctl(PR_GET_DUMPABLE), sub, um, (long)rl.rlim_cur);
		usleep(100000);
	}
}
