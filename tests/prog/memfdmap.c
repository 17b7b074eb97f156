/*
 * memfdmap: a memfd both held as an fd and mapped shared, one object:
 * each 100 ms write N through the map and read it through the fd, and
 * write N through the fd and read it through the map; "ok N" or "FAIL".
 */
#include <stdio.h>
#include <unistd.h>
#include <sys/mman.h>

int
main(void)
{
	long n, got, *map;
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = memfd_create("persist-mm", 0);
	if(fd < 0 || ftruncate(fd, 8192) < 0 ||
	   (map = mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED){
		printf("FAIL: setup\n");
		return 1;
	}
	for(n = 0; ; n++){
		map[0] = n;
		if(pread(fd, &got, sizeof got, 0) != sizeof got || got != n)
			printf("FAIL: map wrote %ld, fd read %ld\n", n, got);
		got = -n;
		if(pwrite(fd, &got, sizeof got, 4096) != sizeof got || map[4096/sizeof *map] != -n)
			printf("FAIL: fd wrote %ld, map read %ld\n", -n, map[4096/sizeof *map]);
		else
			printf("ok %ld\n", n);
		usleep(100000);
	}
}
