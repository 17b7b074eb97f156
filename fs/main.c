/*
 * persistfs: setup and the request loop.
 *
 *	persistfs [-f] [-d] [-s storedir] [mountpoint]
 *
 * -f stays in the foreground; -d logs one line per operation to
 * stderr and implies -f.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include "fs.h"

enum {
	Gcms	= 5000,		/* how often dead processes' state is dropped */
};

char	*mntpt;
char	*store;
int	debug;

static uint64_t	btime;		/* boot time, seconds since the epoch */
static long	hz;

static void
usage(void)
{
	fprintf(stderr, "usage: persistfs [-f] [-d] [-s storedir] [mountpoint]\n");
	exit(1);
}

void
trace(fuse_req_t req, const char *fmt, ...)
{
	const struct fuse_ctx *ctx;
	va_list ap;

	if(!debug)
		return;
	if(req != NULL){
		ctx = fuse_req_ctx(req);
		fprintf(stderr, "persistfs: pid %d uid %d: ", ctx->pid, ctx->uid);
	}else
		fprintf(stderr, "persistfs: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* wall clock time of a process start given in clock ticks since boot */
struct timespec
proctime(uint64_t ticks)
{
	struct timespec ts;

	ts.tv_sec = btime + ticks/hz;
	ts.tv_nsec = (ticks%hz) * (1000000000/hz);
	return ts;
}

static int
readbtime(void)
{
	char line[256];
	unsigned long long t;
	FILE *f;

	hz = sysconf(_SC_CLK_TCK);
	if(hz <= 0)
		hz = 100;
	if((f = fopen("/proc/stat", "r")) == NULL)
		return -1;
	while(fgets(line, sizeof line, f) != NULL)
		if(sscanf(line, "btime %llu", &t) == 1){
			btime = t;
			break;
		}
	fclose(f);
	return 0;
}

/* absolute, without following the last component (it may be a dead mount) */
static char *
abspath(const char *p)
{
	char *s, *r, cwd[PATH_MAX];
	size_t n;

	if((r = realpath(p, NULL)) != NULL)
		return r;
	if(p[0] == '/')
		s = strdup(p);
	else if(getcwd(cwd, sizeof cwd) == NULL)
		return NULL;
	else if(asprintf(&s, "%s/%s", cwd, p) < 0)
		return NULL;
	if(s == NULL)
		return NULL;
	n = strlen(s);
	while(n > 1 && s[n-1] == '/')
		s[--n] = '\0';
	return s;
}

/* mountinfo escapes blanks as \040 */
static void
unescape(char *s)
{
	char *d;

	for(d = s; *s != '\0'; d++){
		if(s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
		    s[2] <= '7' && s[3] >= '0' && s[3] <= '7'){
			*d = (s[1]-'0')<<6 | (s[2]-'0')<<3 | (s[3]-'0');
			s += 4;
		}else
			*d = *s++;
	}
	*d = '\0';
}

/* is a fuse file system mounted at path? */
static int
fusemounted(const char *path)
{
	char *line, *f, *sp, *at, *type;
	size_t n;
	int i, found;
	FILE *fp;

	if((fp = fopen("/proc/self/mountinfo", "r")) == NULL)
		return 0;
	line = NULL;
	n = 0;
	found = 0;
	while(getline(&line, &n, fp) > 0){
		for(i = 1, f = strtok_r(line, " \n", &sp); f != NULL && i < 5; i++)
			f = strtok_r(NULL, " \n", &sp);
		at = f;
		while(f != NULL && strcmp(f, "-") != 0)
			f = strtok_r(NULL, " \n", &sp);
		type = strtok_r(NULL, " \n", &sp);
		if(at == NULL || type == NULL)
			continue;
		unescape(at);
		if(strcmp(at, path) == 0 && strncmp(type, "fuse", 4) == 0)
			found = 1;
	}
	free(line);
	fclose(fp);
	return found;
}

/*
 * A server that died leaves its mount behind, answering ENOTCONN to
 * everyone.  Nobody can use it, so detach it and take its place
 * rather than make the user run fusermount first.
 */
static int
checkmount(const char *path)
{
	struct stat st;
	int tries;

	for(tries = 0; tries < 8 && fusemounted(path); tries++){
		if(stat(path, &st) == 0 || errno != ENOTCONN){
			fprintf(stderr, "persistfs: %s: already mounted\n", path);
			return -1;
		}
		if(umount2(path, MNT_DETACH) < 0){
			fprintf(stderr, "persistfs: %s: stale mount: %s\n", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int
mkdirp(const char *path, mode_t mode)
{
	char buf[PATH_MAX], *p;

	if(path[0] == '\0'){
		errno = ENOENT;
		return -1;
	}
	if(snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf){
		errno = ENAMETOOLONG;
		return -1;
	}
	for(p = buf+1; *p != '\0'; p++){
		if(*p != '/')
			continue;
		*p = '\0';
		if(mkdir(buf, mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if(mkdir(buf, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int
setup(const char *mnt, const char *dir)
{
	char *s;

	if((mntpt = abspath(mnt)) == NULL){
		fprintf(stderr, "persistfs: %s: %s\n", mnt, strerror(errno));
		return -1;
	}
	if(checkmount(mntpt) < 0)
		return -1;
	if(mkdirp(mntpt, 0755) < 0){
		fprintf(stderr, "persistfs: %s: %s\n", mntpt, strerror(errno));
		return -1;
	}
	/* skipdir must name the mount the way the kernel shows it */
	if((s = realpath(mntpt, NULL)) != NULL){
		free(mntpt);
		mntpt = s;
	}
	if(mkdirp(dir, 0755) < 0 || (store = realpath(dir, NULL)) == NULL){
		fprintf(stderr, "persistfs: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	if(readbtime() < 0){
		fprintf(stderr, "persistfs: /proc/stat: %s\n", strerror(errno));
		return -1;
	}
	if(procadopt() < 0 || runinit() < 0 || savedinit() < 0){
		fprintf(stderr, "persistfs: %s: %s\n", store, strerror(errno));
		return -1;
	}
	return 0;
}

/* termination signals come through the fd too, so poll wakes for them */
static int
sigsetup(void)
{
	sigset_t mask;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if(sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -1;
	if((fd = signalfd(-1, &mask, SFD_NONBLOCK|SFD_CLOEXEC)) < 0)
		fprintf(stderr, "persistfs: signalfd: %s\n", strerror(errno));
	return fd;
}

/* returns 1 when a termination signal arrived */
static int
drainsig(int fd)
{
	struct signalfd_siginfo si;
	int quit;

	quit = 0;
	while(read(fd, &si, sizeof si) == sizeof si)
		if(si.ssi_signo != SIGCHLD){
			trace(NULL, "signal %d", si.ssi_signo);
			quit = 1;
		}
	return quit;
}

pthread_mutex_t fslock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Children of this thread only (__WNOTHREAD): freeze, snap and clone
 * run on threads of their own, whose tracees a wait for any child of
 * the process would steal.  Resumed processes are forked here, and
 * orphans come to the leader, this thread.
 */
static void
reap(void)
{
	pid_t pid;
	int st;

	while((pid = waitpid(-1, &st, WNOHANG|__WNOTHREAD)) > 0)
		trace(NULL, "reaped %d status %#x", pid, st);
}

static uint64_t
msnow(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec*1000ULL + ts.tv_nsec/1000000;
}

/* one thread serves requests; long ctl messages run on threads of their own (ctl.c) */
static int
serve(struct fuse_session *se, int sfd)
{
	struct fuse_buf buf = { .mem = NULL };
	struct pollfd pfd[2];
	uint64_t lastgc;
	int n, ret;

	pfd[0].fd = fuse_session_fd(se);
	pfd[0].events = POLLIN;
	pfd[1].fd = sfd;
	pfd[1].events = POLLIN;
	lastgc = msnow();
	ret = 0;
	while(!fuse_session_exited(se)){
		if(poll(pfd, 2, Gcms) < 0){
			if(errno == EINTR)
				continue;
			fprintf(stderr, "persistfs: poll: %s\n", strerror(errno));
			ret = 1;
			break;
		}
		if((pfd[1].revents & POLLIN) && drainsig(sfd))
			break;
		if(pfd[0].revents != 0){
			n = fuse_session_receive_buf(se, &buf);
			if(n == -EINTR || n == -EAGAIN)
				continue;
			if(n < 0){
				fprintf(stderr, "persistfs: receive: %s\n", strerror(-n));
				ret = 1;
			}
			if(n <= 0)	/* 0: unmounted */
				break;
			pthread_mutex_lock(&fslock);
			fuse_session_process_buf(se, &buf);
			pthread_mutex_unlock(&fslock);
		}
		pthread_mutex_lock(&fslock);
		reap();
		if(msnow() - lastgc >= Gcms){
			procgc();
			lastgc = msnow();
		}
		pthread_mutex_unlock(&fslock);
	}
	free(buf.mem);
	return ret;
}

int
main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se;
	char *dir;
	int c, fg, sfd, ret;

	fg = 0;
	dir = "/var/lib/persist";
	while((c = getopt(argc, argv, "fds:")) != -1)
		switch(c){
		case 'f':
			fg = 1;
			break;
		case 'd':
			debug = fg = 1;
			break;
		case 's':
			dir = optarg;
			break;
		default:
			usage();
		}
	if(argc - optind > 1)
		usage();
	if(setup(optind < argc ? argv[optind] : "/persist", dir) < 0)
		return 1;

	ret = 1;
	if(fuse_opt_add_arg(&args, "persistfs") < 0 ||
	    fuse_opt_add_arg(&args, "-o") < 0 ||
	    fuse_opt_add_arg(&args,
	    "fsname=persist,subtype=persistfs,allow_other,default_permissions") < 0)
		goto out;
	if((se = fuse_session_new(&args, &fsops, sizeof fsops, NULL)) == NULL)
		goto out;
	if(fuse_session_mount(se, mntpt) != 0)
		goto destroy;
	if((sfd = sigsetup()) < 0)
		goto unmount;
	if(fuse_daemonize(fg) != 0)
		goto closesig;
	/* resumed processes are our children: reap them, never leave zombies */
	if(prctl(PR_SET_CHILD_SUBREAPER, 1) < 0){
		fprintf(stderr, "persistfs: subreaper: %s\n", strerror(errno));
		goto closesig;
	}
	trace(NULL, "serving %s from %s", mntpt, store);
	ret = serve(se, sfd);
closesig:
	close(sfd);
unmount:
	fuse_session_unmount(se);
destroy:
	fuse_session_destroy(se);
out:
	fuse_opt_free_args(&args);
	return ret;
}
