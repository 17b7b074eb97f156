/*
 * Shared memory.  SysV: a mapping named /SYSV<key> whose inode is the
 * segment's id.  Its key, id, mode and size come from
 * /proc/sysvipc/shm, so that the restorer can attach the same segment
 * if it is still there, or make it again with the saved pages.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "engine.h"

static int
findseg(uint64_t shmid, Isysv *s)
{
	char *t, *l;
	long key, id, size;
	unsigned mode;

	t = readfile("/proc/sysvipc/shm", NULL);
	if(t == NULL)
		return -1;
	for(l = strchr(t, '\n'); l != NULL; l = strchr(l + 1, '\n'))
		if(sscanf(l + 1, "%ld %ld %o %ld", &key, &id, &mode, &size) == 4 && (uint64_t)id == shmid){
			s->key = key;
			s->shmid = id;
			s->mode = mode;
			s->size = size;
			free(t);
			return 0;
		}
	free(t);
	return -1;
}

/*
 * Shared memory (SysV, anonymous, memfd) may hold pages others wrote
 * that this process never touched, which its pagemap does not show:
 * the pages the memory itself holds are marked present in pm, found
 * with SEEK_DATA on the mapping's file, which allocates nothing.
 * Without the file (map_files needs privilege) every page is.
 */
void
shmpages(pid_t pid, Ivma *v, uint64_t *pm)
{
	char path[96];
	uint64_t n = (v->end - v->start) / Ipage, i;
	off_t data, hole, end = v->pgoff + (v->end - v->start);
	int fd;

	snprintf(path, sizeof path, "/proc/%d/map_files/%lx-%lx", pid, (unsigned long)v->start, (unsigned long)v->end);
	fd = open(path, O_RDONLY|O_CLOEXEC);
	if(fd < 0){
		for(i = 0; i < n; i++)
			pm[i] |= Ppresent;
		return;
	}
	for(data = v->pgoff; data < end && (data = lseek(fd, data, SEEK_DATA)) >= 0 && data < end; data = hole){
		hole = lseek(fd, data, SEEK_HOLE);
		if(hole < 0 || hole > end)
			hole = end;
		for(i = (data - v->pgoff) / Ipage; i < n && v->pgoff + i*Ipage < (uint64_t)hole; i++)
			pm[i] |= Ppresent;
	}
	close(fd);
}

/* v maps the segment shmid: its Isysv into the blob, v->file saying where */
int
addshm(Img *m, Ivma *v, uint64_t shmid)
{
	Isysv s;

	memset(&s, 0, sizeof s);
	if(findseg(shmid, &s) < 0){
		werrstr("unsupported: SysV segment %llu not found", (unsigned long long)shmid);
		return -1;
	}
	/* shmat maps a segment whole: a part of one cannot be attached again */
	if(v->pgoff != 0 || v->end - v->start != ((s.size + Ipage - 1) & ~(uint64_t)(Ipage - 1))){
		werrstr("unsupported: part of SysV segment %d is mapped", s.shmid);
		return -1;
	}
	while(m->blob.n % 8)
		bufadd(&m->blob, "", 1);
	v->file = m->blob.n;
	return bufadd(&m->blob, &s, sizeof s);
}
