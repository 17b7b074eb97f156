/*
 * notify DIR [deaf]: inotify watches on DIR/sub (IN_CREATE, wd 1),
 * DIR/a (IN_MODIFY, wd 3: wd 2 was a watch removed) and DIR
 * (IN_DELETE, wd 4).  Prints "tick N" every 100 ms and, for each
 * event, "ok create NAME", "ok modify" or "ok delete NAME" if it came
 * under the wd it belongs to, else "FAIL: why".  With deaf it never
 * reads its events.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>

int
main(int argc, char **argv)
{
	char path[4096], buf[4096] __attribute__((aligned(8)));
	struct inotify_event *e;
	struct pollfd pfd;
	int fd, wd[5], deaf = argc > 2;
	long n = 0;
	ssize_t r, i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if(argc < 2)
		return 2;
	fd = inotify_init1(0);
	snprintf(path, sizeof path, "%s/sub", argv[1]);
	wd[1] = inotify_add_watch(fd, path, IN_CREATE);
	snprintf(path, sizeof path, "%s/a", argv[1]);
	wd[2] = inotify_add_watch(fd, path, IN_MODIFY);
	inotify_rm_watch(fd, wd[2]);
	wd[3] = inotify_add_watch(fd, path, IN_MODIFY);
	wd[4] = inotify_add_watch(fd, argv[1], IN_DELETE);
	if(fd < 0 || wd[1] != 1 || wd[3] != 3 || wd[4] != 4){
		printf("FAIL: cannot watch\n");
		return 1;
	}
	read(fd, buf, sizeof buf);	/* the IN_IGNORED of wd 2 */
	pfd.fd = fd;
	pfd.events = POLLIN;
	for(;;){
		if(deaf || poll(&pfd, 1, 100) == 0){
			printf("tick %ld\n", n++);
			if(deaf)
				usleep(100000);
			continue;
		}
		r = read(fd, buf, sizeof buf);
		for(i = 0; i < r; i += sizeof *e + e->len){
			e = (struct inotify_event *)(buf + i);
			if(e->wd == 1 && (e->mask & IN_CREATE))
				printf("ok create %s\n", e->name);
			else if(e->wd == 3 && (e->mask & IN_MODIFY))
				printf("ok modify\n");
			else if(e->wd == 4 && (e->mask & IN_DELETE))
				printf("ok delete %s\n", e->name);
			else
				printf("FAIL: event wd %d mask %x name %s\n", e->wd, e->mask, e->len ? e->name : "");
		}
	}
}
