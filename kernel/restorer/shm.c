/*
 * Shared memory that lives on outside the process: a file mapped
 * shared is mapped again from the file (what the process wrote is in
 * it), a SysV segment is attached again if it is still there, else
 * made again, under its key, from the saved pages.
 */
#include "rst.h"

enum {
	SYS_shmget = 29, SYS_shmat = 30, SYS_shmctl = 31,
	IPC_RMID = 0, IPC_STAT = 2, IPC_CREAT = 01000, IPC_EXCL = 02000,
	SHM_DEST = 01000,
	O_RDWR = 2,
};

/* stage 1: every shared file must open before anything is lost */
void
openshared(void)
{
	Ivma *v;
	uint32_t i, n;
	long fd;

	v = sect(Svma, &n);
	for(i = 0; i < n; i++)
		if(v[i].kind == Vshfile){
			fd = sys3(SYS_open, blobstr(v[i].path), O_RDWR|O_CLOEXEC, 0);
			if(fd < 0)
				fail("cannot reopen shared mapping", blobstr(v[i].path));
			sys1(SYS_close, fd);
		}
}

/* stage 2: the fd to map v from */
long
sharedfd(Ivma *v)
{
	long fd;

	fd = sys3(SYS_open, blobstr(v->path), O_RDWR|O_CLOEXEC, 0);
	if(fd < 0)
		fail("cannot reopen shared mapping", blobstr(v->path));
	return fd;
}

/* segments made again, by their old ids: a second attach takes the same */
static struct {
	int	old;
	int	id;
} made[32];
static int nmade;

/* id is the segment s was, if it is still there */
static int
same(long id, Isysv *s)
{
	uint64_t ds[16];	/* struct shmid64_ds: key at 0, segsz at 48 */

	return id >= 0 && sys3(SYS_shmctl, id, IPC_STAT, ds) == 0 &&
		(int32_t)ds[0] == s->key && ds[6] == s->size;
}

/*
 * The process knows its segment by id: ask for the old one (root can,
 * through shm_next_id; otherwise the segment gets a new id).
 */
static void
wantid(int shmid)
{
	char buf[16], *e;
	long fd;

	fd = sys3(SYS_open, "/proc/sys/kernel/shm_next_id", 1|O_CLOEXEC, 0);
	if(fd < 0)
		return;
	e = shmid < 0 ? seprint(buf, buf + sizeof buf, "-1") : fmtnum(buf, buf + sizeof buf, shmid, 10);
	sys3(SYS_write, fd, buf, e - buf);
	sys1(SYS_close, fd);
}

/* attach v's segment at its address; 1 if it was made anew and wants its pages */
int
attachshm(Ivma *v)
{
	Isysv *s = (Isysv *)((char *)sect(Sblob, 0) + v->file);
	long id = -1, other;
	int i, fresh = 0;

	for(i = 0; i < nmade; i++)
		if(made[i].old == s->shmid)
			id = made[i].id;
	if(id < 0 && same(s->shmid, s))
		id = s->shmid;
	if(id < 0 && s->key != 0 && !same(id = sys3(SYS_shmget, s->key, 0, 0), s))
		id = -1;
	if(id < 0){
		wantid(s->shmid);
		id = sys3(SYS_shmget, s->key, s->size, IPC_CREAT|IPC_EXCL|(s->mode & 0777));
		wantid(-1);	/* used, or not to be left for another */
		fresh = 1;
		/* another process of the image made it first */
		if(id == -EEXIST && same(other = sys3(SYS_shmget, s->key, 0, 0), s)){
			id = other;
			fresh = 0;
		}else if(id < 0)
			fail("cannot make the SysV segment again", id == -EEXIST ? "its key is taken" : 0);
		if(fresh && nmade < (int)(sizeof made/sizeof made[0])){
			made[nmade].old = s->shmid;
			made[nmade++].id = id;
		}
	}
	if(sys3(SYS_shmat, id, v->start, 0) != (long)v->start)
		fail("cannot attach the SysV segment", 0);
	/* removed while attached: it goes when the last one lets go, as it would have */
	if(fresh && (s->mode & SHM_DEST))
		sys3(SYS_shmctl, id, IPC_RMID, 0);
	return fresh;
}
