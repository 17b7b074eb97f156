/*
 * clonevm: a child made with clone(CLONE_VM) (a process of its own
 * that shares its parent's memory, as before threads were), then both
 * count: the parent prints the shared count each 100 ms.
 */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile long count;

static int
child(void *arg)
{
	for(;;){
		count++;
		usleep(10000);
	}
	return 0;
}

int
main(void)
{
	char *stack = malloc(64 << 10);
	long n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if(stack == NULL || clone(child, stack + (64 << 10), CLONE_VM|SIGCHLD, NULL) < 0)
		return 1;
	for(n = 0;; n++){
		printf("%ld %ld\n", n, count);
		usleep(100000);
	}
}
