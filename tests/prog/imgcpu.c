/* cflags: -Ikernel */
/*
 * imgcpu image [feature ...]: mark an image as needing cpu features,
 * by default fma4 (absent on every Intel and on AMD since Zen).  Finds
 * the Itrail at the end, the Ihdr at trail.hdroff, sets the bits in
 * hdr.cpu[] and recomputes hdrsum, so the image is well formed and only
 * the cpu check can refuse it.  Features are cpuinfo names from the
 * table below or word.bit (word: index into Ihdr.cpu).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "image.h"

static const Icpufeat feats[] = {
	{"sse4a",	C81ecx,	6},
	{"xop",		C81ecx,	11},
	{"fma4",	C81ecx,	16},
	{"tbm",		C81ecx,	21},
	{"avx512f",	C7ebx,	16},
	{"avx512_fp16",	C7edx,	23},
	{"amx_tile",	C7edx,	24},
};

static void
fatal(const char *s)
{
	fprintf(stderr, "imgcpu: %s\n", s);
	exit(1);
}

static void
setfeat(Ihdr *h, const char *name)
{
	unsigned w, b;
	size_t i;

	for(i = 0; i < sizeof feats/sizeof feats[0]; i++)
		if(strcmp(name, feats[i].name) == 0){
			h->cpu[feats[i].word] |= 1u << feats[i].bit;
			return;
		}
	if(sscanf(name, "%u.%u", &w, &b) != 2 || w >= Ncpu || b > 31)
		fatal("unknown feature");
	h->cpu[w] |= 1u << b;
}

int
main(int argc, char **argv)
{
	Itrail t;
	Ihdr h;
	off_t end;
	int fd, i;

	if(argc < 2){
		fprintf(stderr, "usage: imgcpu image [feature ...]\n");
		return 2;
	}
	if((fd = open(argv[1], O_RDWR)) < 0){
		perror(argv[1]);
		return 1;
	}
	if((end = lseek(fd, 0, SEEK_END)) < (off_t)sizeof t ||
	    pread(fd, &t, sizeof t, end - sizeof t) != sizeof t ||
	    memcmp(t.magic, Tmagic, 8) != 0)
		fatal("no image trailer");
	if(pread(fd, &h, sizeof h, t.hdroff) != sizeof h ||
	    memcmp(h.magic, Hmagic, sizeof Hmagic) != 0 || h.hdrsize != sizeof h)
		fatal("no image header");
	if(argc == 2)
		setfeat(&h, "fma4");
	for(i = 2; i < argc; i++)
		setfeat(&h, argv[i]);
	h.hdrsum = 0;
	h.hdrsum = ihash(&h, sizeof h, 0);
	if(pwrite(fd, &h, sizeof h, t.hdroff) != sizeof h)
		fatal("cannot write header");
	if(close(fd) < 0)
		fatal("cannot close");
	return 0;
}
