/*
 * Resuming: an image is a program, so resuming is running it.  The
 * restorer reports through a pipe (PERSIST_READY) whether the process
 * is back or why not.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <linux/sched.h>
#include "engine.h"

/* the trailer and header, checked as the restorer would */
static int
readhdr(const char *path, Ihdr *h)
{
	Itrail t;
	struct stat sb;
	uint64_t sum;
	char buf[1024];
	int fd, r = -1;

	fd = open(path, O_RDONLY|O_CLOEXEC);
	if(fd < 0){
		werrstr("image: %s", strerror(errno));
		return -1;
	}
	if(fstat(fd, &sb) < 0 || sb.st_size < (off_t)(sizeof t + offsetof(Ihdr, sect)) ||
	   pread(fd, &t, sizeof t, sb.st_size - sizeof t) != sizeof t ||
	   memcmp(t.magic, Tmagic, 8) != 0){
		werrstr("not an image: no trailer: truncated or not made by persist");
		goto out;
	}
	if(ihash(&t, 24, 0) != t.sum || t.size != (uint64_t)sb.st_size){
		werrstr("truncated or corrupt image");
		goto out;
	}
	/*
	 * Each image carries its own restorer, so an older version runs as
	 * well as ours: only the fields up to sect[], the same in every
	 * version, are read here.  The header's last 8 bytes are its hash.
	 */
	memset(h, 0, sizeof *h);
	if(pread(fd, buf, offsetof(Ihdr, sect), t.hdroff) != offsetof(Ihdr, sect) ||
	   memcmp(buf, Hmagic, 8) != 0){
		werrstr("corrupt image: bad header");
		goto out;
	}
	memcpy(h, buf, offsetof(Ihdr, sect));
	if(h->version < 1 || h->version > Iversion || h->arch != Iarch){
		werrstr("image version or architecture not supported");
		goto out;
	}
	if(h->hdrsize < offsetof(Ihdr, sect) + 8 || h->hdrsize > sizeof buf ||
	   pread(fd, buf, h->hdrsize, t.hdroff) != h->hdrsize){
		werrstr("corrupt image: bad header");
		goto out;
	}
	memcpy(&sum, buf + h->hdrsize - 8, 8);
	memset(buf + h->hdrsize - 8, 0, 8);
	if(ihash(buf, h->hdrsize, 0) != sum){
		werrstr("corrupt image: header checksum mismatch");
		goto out;
	}
	r = 0;
out:
	close(fd);
	return r;
}

int
pcheck(const char *path)
{
	Ihdr h;

	return readhdr(path, &h);
}

int
pimageuid(const char *path, uid_t *uid, gid_t *gid)
{
	Ihdr h;

	if(readhdr(path, &h) < 0)
		return -1;
	*uid = h.uid;
	*gid = h.gid;
	return 0;
}

static void
become(const Pcred *c)
{
	if(c == NULL)
		return;
	/* raw calls: the child of a clone3 is one thread, whatever libc believes */
	if(syscall(SYS_setgroups, c->ngroups, c->groups) < 0 ||
	   syscall(SYS_setresgid, c->gid, c->gid, c->gid) < 0 ||
	   syscall(SYS_setresuid, c->uid, c->uid, c->uid) < 0)
		_exit(126);
}

/*
 * The runner of an image under the pid its root had, if that pid is
 * free: we may choose pids (clone3's set_tid), the image's code may
 * not, so it is done here, before the child becomes the owner.  Else
 * a plain fork and a new pid.
 */
static pid_t
forkas(pid_t want)
{
	struct clone_args a;
	pid_t tid = want;
	long r;

	memset(&a, 0, sizeof a);
	a.exit_signal = SIGCHLD;
	a.set_tid = (uintptr_t)&tid;
	a.set_tid_size = 1;
	r = want > 0 ? syscall(SYS_clone3, &a, sizeof a) : -1;
	return r < 0 ? fork() : r;
}

pid_t
presume(const char *path, const Pcred *cred)
{
	int p[2], fd, st, img;
	char env[32], msg[512], *envp[] = {env, NULL}, *argv[] = {"image", NULL};
	Ihdr h;
	pid_t pid;
	ssize_t n, r;

	if(readhdr(path, &h) < 0)
		return -1;
	/* exec through an fd opened here: the runner need not reach the store's directory */
	img = open(path, O_RDONLY|O_CLOEXEC);
	if(img < 0){
		werrstr("image: %s", strerror(errno));
		return -1;
	}
	if(pipe2(p, O_CLOEXEC) < 0){
		werrstr("pipe: %s", strerror(errno));
		close(img);
		return -1;
	}
	pid = forkas(cred == NULL || cred->oldpid ? (pid_t)h.pid : 0);
	if(pid < 0){
		werrstr("fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		close(img);
		return -1;
	}
	if(pid == 0){
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();
		become(cred);
		fd = open("/dev/null", O_RDWR);
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		fd = dup(p[1]);	/* without close-on-exec */
		snprintf(env, sizeof env, "PERSIST_READY=%d", fd);
		signal(SIGPIPE, SIG_DFL);
		execveat(img, "", argv, envp, AT_EMPTY_PATH);
		dprintf(fd, "image: %s\n", strerror(errno));
		_exit(127);
	}
	close(p[1]);
	close(img);
	n = 0;
	while(n < (ssize_t)sizeof msg - 1 && (r = read(p[0], msg + n, sizeof msg - 1 - n)) != 0){
		if(r < 0 && errno == EINTR)
			continue;
		if(r < 0)
			break;
		n += r;
	}
	close(p[0]);
	msg[n] = 0;
	if(strcmp(msg, "ok\n") == 0)
		return pid;
	waitpid(pid, &st, 0);
	msg[strcspn(msg, "\n")] = 0;
	if(n == 0)
		snprintf(msg, sizeof msg, "image: restorer died");
	werrstr("%s", msg);
	return -1;
}
