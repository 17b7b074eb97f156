/*
 * SysV shared memory: a mapping named /SYSV<key> whose inode is the
 * segment's id.  Its key, id, mode and size come from
 * /proc/sysvipc/shm, so that the restorer can attach the same segment
 * if it is still there, or make it again with the saved pages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine.h"

static int
findseg(uint64_t shmid, Ishm *s)
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

/* v maps the segment shmid: its Ishm into the blob, v->file saying where */
int
addshm(Img *m, Ivma *v, uint64_t shmid)
{
	Ishm s;

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
