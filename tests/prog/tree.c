/*
 * tree log trigger: a process tree that checks itself.  The parent has
 *	A, a child leading a process group of its own, with a grandchild G in it;
 *	B, a child leading a session of its own;
 *	Z, a child that exited with status 7 and is not yet waited for;
 * sends A a number down a pipe each tick and gets it back doubled over
 * a socket pair, shares a page of memory with all of them, and all
 * append lines to the file log through one open file (so one offset).  Pids are
 * never remembered: a resumed tree has new ones.  The parent prints
 * "tick N" each tick, anyone who sees something wrong "FAIL: why".
 * Once the trigger file exists the parent waits for Z: "zombie 7".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

typedef struct Shm Shm;
struct Shm {
	volatile pid_t	parent;		/* the parent's pid, as it is now */
	volatile pid_t	a;		/* A's, as A sees it */
	volatile long	g;		/* G's ticks */
	volatile long	b;		/* B's ticks */
};

static Shm *shm;
static int logfd;

static void
say(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	write(1, buf, n);
}

/* a line into the one shared file: with one offset no line overwrites another */
static void
logline(const char *who, long n)
{
	char buf[64];
	int len;

	len = snprintf(buf, sizeof buf, "%s %ld\n", who, n);
	if(write(logfd, buf, len) != len)
		say("FAIL: %s cannot write its log\n", who);
}

static void
grandchild(void)
{
	for(;;){
		if(getpgid(0) != getppid())
			say("FAIL: g in group %d, its parent is %d\n", getpgid(0), getppid());
		shm->g++;
		usleep(10000);
	}
}

static void
childa(int in, int out)
{
	long n, last = -1;

	setpgid(0, 0);
	if(fork() == 0)
		grandchild();
	for(;;){
		shm->a = getpid();
		if(read(in, &n, sizeof n) != sizeof n){
			say("FAIL: a cannot read its pipe: %s\n", strerror(errno));
			exit(1);
		}
		if(last >= 0 && n != last + 1)
			say("FAIL: a got %ld after %ld\n", n, last);
		last = n;
		if(getppid() != shm->parent)
			say("FAIL: a's parent is %d, not %d\n", getppid(), shm->parent);
		if(getpgid(0) != getpid())
			say("FAIL: a is not its group's leader\n");
		logline("a", n);
		n *= 2;
		write(out, &n, sizeof n);
	}
}

static void
childb(void)
{
	setsid();
	for(;;){
		if(getsid(0) != getpid())
			say("FAIL: b does not lead its session\n");
		/* just resumed, the parent may not have said its new pid yet */
		if(getppid() != shm->parent)
			usleep(200000);
		if(getppid() != shm->parent)
			say("FAIL: b's parent is %d, not %d\n", getppid(), shm->parent);
		shm->b++;
		usleep(10000);
	}
}

int
main(int argc, char **argv)
{
	int p[2], sv[2], status, waited = 0;
	long n, r, g, b;
	pid_t z;

	if(argc != 3){
		fprintf(stderr, "usage: tree log trigger\n");
		return 2;
	}
	shm = mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0);
	logfd = open(argv[1], O_CREAT|O_TRUNC|O_WRONLY, 0600);
	if(shm == MAP_FAILED || logfd < 0 || pipe(p) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0){
		say("FAIL: setup\n");
		return 1;
	}
	shm->parent = getpid();
	if(fork() == 0){
		close(p[1]);
		close(sv[0]);
		childa(p[0], sv[1]);
	}
	close(p[0]);
	close(sv[1]);
	if(fork() == 0)
		childb();
	if((z = fork()) == 0)
		_exit(7);
	(void)z;
	setvbuf(stdout, NULL, _IOLBF, 0);
	g = b = 0;
	for(n = 0; ; n++){
		shm->parent = getpid();
		if(write(p[1], &n, sizeof n) != sizeof n || read(sv[0], &r, sizeof r) != sizeof r){
			say("FAIL: parent lost a: %s\n", strerror(errno));
			return 1;
		}
		if(r != 2*n)
			say("FAIL: a answered %ld to %ld\n", r, n);
		logline("p", n);
		if(n > 0 && n % 10 == 0){
			/* the others run on: their counts move between our looks */
			if(shm->g == g || shm->b == b)
				say("FAIL: g or b stopped (g %ld, b %ld)\n", shm->g, shm->b);
			g = shm->g;
			b = shm->b;
			if(getpgid(shm->a) != shm->a)
				say("FAIL: a (%d) is in group %d\n", shm->a, getpgid(shm->a));
		}
		if(!waited && access(argv[2], F_OK) == 0){
			waited = 1;
			if(waitpid(-1, &status, WNOHANG) <= 0)
				say("FAIL: no zombie to wait for\n");
			else if(WIFEXITED(status))
				say("zombie %d\n", WEXITSTATUS(status));
			else
				say("FAIL: zombie status %#x\n", status);
		}
		say("tick %ld\n", n);
		usleep(50000);
	}
}
