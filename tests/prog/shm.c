/*
 * shm DIR NAME KEY: shared memory that outlives the process, each
 * holding a counter: the file DIR/shared mapped shared (four pages,
 * the counter on the third), the POSIX shm object NAME (shm_open), the
 * SysV segment of key KEY (hex), a SysV segment with no key,
 * removed while attached, and shared anonymous memory.  Every 100 ms, for each, check that it holds
 * what was last put there, that the file and the named objects seen
 * another way (pread, a second attach) hold it too, then count on;
 * print "N ok" or "N FAIL: why".  Once the file DIR/go exists, print
 * "other: TEXT", what the last page of the SysV segment of KEY holds
 * (this process never touches it before).
 *
 * shm put KEY TEXT: put TEXT on the last page of the segment of KEY.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/shm.h>

enum {
	Size	= 4*4096,
	Off	= 2*4096 + 8,	/* the counter, on the third page */
};

static int filefd, posixfd, keyid;

static long
filewise(int fd)
{
	long v;

	return pread(fd, &v, sizeof v, Off) == sizeof v ? v : -1;
}

static long
keywise(int ignored)
{
	char *p = shmat(keyid, NULL, SHM_RDONLY);
	long v;

	if(p == (void *)-1)
		return -1;
	memcpy(&v, p + Off, sizeof v);
	shmdt(p);
	return v;
}

static struct {
	char	*name;
	char	*p;
	long	(*other)(int);
	int	*fd;
} maps[] = {
	{"file", NULL, filewise, &filefd},
	{"posix shm", NULL, filewise, &posixfd},
	{"sysv key", NULL, keywise, NULL},
	{"sysv private", NULL, NULL, NULL},
	{"shared anonymous", NULL, NULL, NULL},
};

enum {
	Nmaps	= sizeof maps/sizeof maps[0],
};

static int
put(const char *key, const char *text)
{
	char *p;

	p = shmat(shmget(strtol(key, NULL, 16), 0, 0), NULL, 0);
	if(p == (void *)-1)
		return 1;
	snprintf(p + Size - 4096, 4096, "%s", text);
	return 0;
}

int
main(int argc, char **argv)
{
	char path[4096], go[4096];
	long n, v;
	int id, told = 0;
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if(argc == 4 && strcmp(argv[1], "put") == 0)
		return put(argv[2], argv[3]);
	if(argc != 4)
		return 2;
	snprintf(go, sizeof go, "%s/go", argv[1]);
	snprintf(path, sizeof path, "%s/shared", argv[1]);
	filefd = open(path, O_RDWR|O_CREAT|O_TRUNC|O_CLOEXEC, 0644);
	posixfd = shm_open(argv[2], O_RDWR|O_CREAT|O_TRUNC, 0600);
	keyid = shmget(strtol(argv[3], NULL, 16), Size, IPC_CREAT|0600);
	id = shmget(IPC_PRIVATE, Size, 0600);
	if(filefd < 0 || posixfd < 0 || keyid < 0 || id < 0 || ftruncate(filefd, Size) < 0 || ftruncate(posixfd, Size) < 0)
		return 1;
	maps[0].p = mmap(NULL, Size, PROT_READ|PROT_WRITE, MAP_SHARED, filefd, 0);
	maps[1].p = mmap(NULL, Size, PROT_READ|PROT_WRITE, MAP_SHARED, posixfd, 0);
	maps[2].p = shmat(keyid, NULL, 0);
	maps[3].p = shmat(id, NULL, 0);
	shmctl(id, IPC_RMID, NULL);
	maps[4].p = mmap(NULL, Size, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0);
	for(i = 0; i < Nmaps; i++)
		if(maps[i].p == MAP_FAILED || maps[i].p == (void *)-1)
			return 1;
	for(n = 0;; n++){
		for(i = 0; i < Nmaps; i++){
			memcpy(&v, maps[i].p + Off, sizeof v);
			if(v != n)
				break;
			if(maps[i].other != NULL && (v = maps[i].other(maps[i].fd ? *maps[i].fd : 0)) != n)
				break;
			v = n + 1;
			memcpy(maps[i].p + Off, &v, sizeof v);
		}
		if(i < Nmaps){
			printf("%ld FAIL: %s holds %ld\n", n, maps[i].name, v);
			for(;;)
				pause();
		}
		printf("%ld ok\n", n);
		if(!told && access(go, F_OK) == 0){
			printf("other: %.64s\n", maps[2].p + Size - 4096);
			told = 1;
		}
		usleep(100000);
	}
}
