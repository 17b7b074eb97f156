/*
 * Pseudo-terminals: a master, and the slaves of a master the image
 * also holds, are made again as a new pair (its number may differ).
 * A slave whose master is outside the image stays what any terminal
 * is: the runner's.  Bytes queued in the pair are not carried.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <asm/termbits.h>
#include "engine.h"

/* f->arg: pty number, blob offset and length of its slave's termios then winsize */
int
ptm1(pid_t pid, int fd, Ifd *f, Img *m)
{
	struct termios tio;
	struct winsize ws;
	char path[64];
	unsigned n;
	int dup, s, r = -1;

	dup = peerfd(pid, fd);
	if(dup < 0)
		return -1;
	if(ioctl(dup, TIOCGPTN, &n) < 0){
		werrstr("unsupported: fd %d is a pty master without a number", fd);
		goto out;
	}
	memset(&ws, 0, sizeof ws);
	ioctl(dup, TIOCGWINSZ, &ws);
	/* the modes are the slave's: a look at it changes nothing */
	snprintf(path, sizeof path, "/dev/pts/%u", n);
	s = open(path, O_RDONLY|O_NOCTTY|O_NONBLOCK|O_CLOEXEC);
	if(s < 0 || ioctl(s, TCGETS, &tio) < 0){
		werrstr("cannot read the modes of %s: %s", path, strerror(errno));
		if(s >= 0)
			close(s);
		goto out;
	}
	close(s);
	f->kind = Dptm;
	f->arg[0] = n;
	f->arg[1] = m->blob.n;
	f->arg[2] = sizeof tio + sizeof ws;
	if(bufadd(&m->blob, &tio, sizeof tio) < 0 || bufadd(&m->blob, &ws, sizeof ws) < 0)
		goto out;
	r = 0;
out:
	close(dup);
	return r;
}
