/*
 * An inotify fd made again: each inode watched again by path, in wd
 * order.  New wds count up from 1 (and never go back), so a number the
 * process had freed is passed over by watching and unwatching until
 * the next one is the saved one; the IN_IGNORED events that leaves
 * are read off as it goes.
 */
#include "rst.h"

enum {
	SYS_inotify_add_watch = 254, SYS_inotify_rm_watch = 255, SYS_inotify_init1 = 294,
	IN_DONT_FOLLOW = 0x02000000,	/* the path names the inode itself */
	FIONREAD = 0x541b,
};

static void
drain(long fd)
{
	char buf[4096];
	int n;

	while(sys3(SYS_ioctl, fd, FIONREAD, &n) == 0 && n > 0)
		if(sys3(SYS_read, fd, buf, n < (int)sizeof buf ? n : (int)sizeof buf) <= 0)
			break;
}

long
inotify(Ifd *f)
{
	Inotify *w = (Inotify *)((char *)sect(Sblob, 0) + f->arg[0]);
	const char *path;
	long fd, wd;
	uint64_t i;
	int passed = 0;

	fd = sys1(SYS_inotify_init1, (f->flags & O_NONBLOCK) | O_CLOEXEC);
	if(fd < 0)
		fail("cannot make an inotify", 0);
	for(i = 0; i < f->arg[1]; i++){
		path = blobstr(w[i].path);
		for(;;){
			wd = sys3(SYS_inotify_add_watch, fd, path, w[i].mask | IN_DONT_FOLLOW);
			if(wd < 0)
				fail("cannot watch again", path);
			if(wd >= w[i].wd)
				break;
			sys2(SYS_inotify_rm_watch, fd, wd);
			if(++passed % 4096 == 0)
				drain(fd);	/* before the queue overflows */
		}
		if(wd != w[i].wd)
			fail("cannot watch again under the same number", path);
		if(passed)
			drain(fd);
		passed = 0;
	}
	return fd;
}
