/*
 * seccomp strict: enter strict mode (read, write, exit, sigreturn
 * only) and write "strict N" now and then, busy in between.
 * seccomp filter: set no_new_privs and stack two filters: the first
 * makes getppid fail with EPERM, the second uname with EACCES; print
 * "filter N" each 100 ms, or "FAIL: why" when a filter is not there.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

static void
strict(void)
{
	volatile unsigned long i;
	char buf[32];
	long n;
	int len;

	if(prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) < 0)
		_exit(1);
	for(n = 0;; n++){
		for(i = 0; i < 1UL<<24; i++)
			;
		len = snprintf(buf, sizeof buf, "strict %ld\n", n);
		if(write(1, buf, len) != len)
			_exit(1);
	}
}

/* a filter failing call nr with err, allowing the rest */
static int
deny(int nr, int err)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD|BPF_W|BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP|BPF_JEQ|BPF_K, nr, 0, 1),
		BPF_STMT(BPF_RET|BPF_K, SECCOMP_RET_ERRNO | err),
		BPF_STMT(BPF_RET|BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog p = {sizeof f / sizeof f[0], f};

	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p);
}

int
main(int argc, char **argv)
{
	struct utsname u;
	long n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if(argc > 1 && strcmp(argv[1], "strict") == 0)
		strict();
	if(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || deny(SYS_getppid, EPERM) < 0 ||
	   deny(SYS_uname, EACCES) < 0){
		printf("FAIL: cannot install filters: %s\n", strerror(errno));
		return 1;
	}
	for(n = 0;; n++){
		errno = 0;
		if(syscall(SYS_getppid) != -1 || errno != EPERM)
			printf("FAIL: getppid not denied\n");
		errno = 0;
		if(uname(&u) != -1 || errno != EACCES)
			printf("FAIL: uname not denied\n");
		printf("filter %ld\n", n);
		usleep(100000);
	}
}
