/*
 * locks DIR: hold locks on three files of DIR: flock(2) LOCK_EX on
 * "flock", POSIX locks (write on bytes 0-9, read from 100 to the end)
 * on "posix", an OFD write lock on bytes 5-9 of "ofd".  Every 100 ms
 * print "N ok" if /proc/self/fdinfo lists exactly these, held by this
 * pid, else "N FAIL: why".
 *
 * locks probe DIR: from another process, say who holds what there:
 * "flock held|free", "posix PID|free" (both ranges), "ofd held|free".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>

static const char *names[] = {"flock", "posix", "ofd"};
/* the fdinfo lines, pid and dev:ino left out */
static const char *want[] = {
	"FLOCK ADVISORY WRITE 0 EOF",
	"POSIX ADVISORY WRITE 0 9|POSIX ADVISORY READ 100 EOF",
	"OFDLCK ADVISORY WRITE 5 9",
};

static int
openin(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	return open(path, O_RDWR|O_CREAT|O_CLOEXEC, 0644);
}

static int
lk(int fd, int cmd, int type, off_t start, off_t len)
{
	struct flock fl;

	memset(&fl, 0, sizeof fl);
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = start;
	fl.l_len = len;
	if(fcntl(fd, cmd, &fl) < 0)
		return -2;
	if(fl.l_type == F_UNLCK)
		return -1;
	return fl.l_pid > 0 ? fl.l_pid : 0;	/* an OFD lock has no pid */
}

/* fd's lock lines as "TYPE MODE RW START END|..."; the pids must be ours (or -1) */
static int
fdlocks(int fd, char *out, size_t n)
{
	char path[64], line[256], type[16], mode[16], rw[16], end[32];
	long long start;
	int pid, len = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if(f == NULL)
		return -1;
	out[0] = 0;
	while(fgets(line, sizeof line, f) != NULL){
		if(sscanf(line, "lock: %*d: %15s %15s %15s %d %*s %lld %31s", type, mode, rw, &pid, &start, end) != 6)
			continue;
		if(pid != getpid() && pid != -1)
			snprintf(end, sizeof end, "pid %d", pid);
		len += snprintf(out + len, n - len, "%s%s %s %s %lld %s", len ? "|" : "", type, mode, rw, start, end);
	}
	fclose(f);
	return 0;
}

static int
probe(const char *dir)
{
	int fd[3], i, p1, p2;

	for(i = 0; i < 3; i++)
		if((fd[i] = openin(dir, names[i])) < 0)
			return 1;
	printf("flock %s\n", flock(fd[0], LOCK_EX|LOCK_NB) < 0 && errno == EWOULDBLOCK ? "held" : "free");
	p1 = lk(fd[1], F_GETLK, F_WRLCK, 0, 10);
	p2 = lk(fd[1], F_GETLK, F_WRLCK, 200, 1);
	/* write locked at 0, read locked at 200: no one else may write there, but read */
	if(p1 > 0 && p1 == p2 && lk(fd[1], F_GETLK, F_RDLCK, 200, 1) == -1)
		printf("posix %d\n", p1);
	else if(p1 == -1 && p2 == -1)
		printf("posix free\n");
	else
		printf("posix odd %d %d\n", p1, p2);
	printf("ofd %s\n", lk(fd[2], F_OFD_GETLK, F_WRLCK, 0, 0) >= 0 ? "held" : "free");
	return 0;
}

int
main(int argc, char **argv)
{
	char got[512];
	int fd[3], i;
	long n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if(argc == 3 && strcmp(argv[1], "probe") == 0)
		return probe(argv[2]);
	if(argc != 2)
		return 2;
	for(i = 0; i < 3; i++)
		if((fd[i] = openin(argv[1], names[i])) < 0)
			return 1;
	if(flock(fd[0], LOCK_EX|LOCK_NB) < 0 || lk(fd[1], F_SETLK, F_WRLCK, 0, 10) == -2 ||
	   lk(fd[1], F_SETLK, F_RDLCK, 100, 0) == -2 || lk(fd[2], F_OFD_SETLK, F_WRLCK, 5, 5) == -2){
		printf("FAIL: cannot lock: %s\n", strerror(errno));
		return 1;
	}
	for(n = 0;; n++){
		for(i = 0; i < 3; i++)
			if(fdlocks(fd[i], got, sizeof got) < 0 || strcmp(got, want[i]) != 0)
				break;
		if(i < 3)
			printf("%ld FAIL: %s holds \"%s\", want \"%s\"\n", n, names[i], got, want[i]);
		else
			printf("%ld ok\n", n);
		usleep(100000);
	}
}
