/*
 * File locks taken again.  flock and OFD locks belong to the open
 * file: taken in stage 1 on the fd just opened, which placefds only
 * moves.  POSIX locks belong to the process and go with any close of
 * the file by it, as stage 2 closes our temporary fds: so stage 1 only
 * checks that no one else holds them, and they are taken once every
 * fd is in place.
 */
#include "rst.h"

enum {
	SYS_flock = 73,
	F_GETLK = 5, F_SETLK = 6, F_OFD_SETLK = 37,
	F_RDLCK = 0, F_WRLCK = 1, F_UNLCK = 2,
	LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4,
};

typedef struct Flock Flock;
struct Flock {		/* struct flock, x86_64 */
	int16_t	type;
	int16_t	whence;
	int32_t	pad;
	int64_t	start;
	int64_t	len;
	int32_t	pid;
	int32_t	pad1;
};

static void
busy(Ifd *f)
{
	fail("file is locked by another process", blobstr(f->path));
}

static long
setlk(long fd, int cmd, Ilock *k)
{
	Flock fl;

	memset(&fl, 0, sizeof fl);
	fl.type = k->write ? F_WRLCK : F_RDLCK;
	fl.start = k->start;
	fl.len = k->len;
	return sys3(SYS_fcntl, fd, cmd, &fl) < 0 ? -1 : fl.type;
}

/* stage 1: fd is f's new open file */
void
openlocks(Ifd *f, long fd)
{
	Ilock *k = (Ilock *)((char *)sect(Sblob, 0) + f->arg[0]);
	uint64_t i;
	long r;

	for(i = 0; f->kind == Dfile && i < f->arg[1]; i++){
		switch(k[i].kind){
		case Lflock:
			r = sys2(SYS_flock, fd, (k[i].write ? LOCK_EX : LOCK_SH) | LOCK_NB);
			break;
		case Lofd:
			r = setlk(fd, F_OFD_SETLK, &k[i]);
			break;
		default:
			r = setlk(fd, F_GETLK, &k[i]) == F_UNLCK ? 0 : -1;
			break;
		}
		if(r < 0)
			busy(f);
	}
}

/* stage 2, every fd in place: the process's own locks */
void
posixlocks(void)
{
	Ifd *f;
	Ilock *k;
	uint32_t i, n;
	uint64_t j;

	f = sect(Sfd, &n);
	for(i = 0; i < n; i++){
		k = (Ilock *)((char *)sect(Sblob, 0) + f[i].arg[0]);
		for(j = 0; f[i].kind == Dfile && j < f[i].arg[1]; j++)
			if(k[j].kind == Lposix && setlk(f[i].fd, F_SETLK, &k[j]) < 0)
				busy(&f[i]);
	}
}
