/*
 * Memory: every mapping from /proc/pid/maps, and of its pages only
 * those that exist (pagemap) and are not all zero.  Pages are read a
 * batch at a time, small enough to stay in cache while it is scanned
 * for zeros, hashed and written: the image is streamed as they come.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "engine.h"

enum {
	Runmax	= 8<<20,		/* bytes in one run at most */
	Batch	= 256<<10,		/* bytes read per call */
	Sparse	= 1ULL<<30,	/* a map read ahead is at most 1 GiB */
	Sparseratio	= 16,		/* more by 16 times the rss of its process */
	Bigmap	= 64<<20,	/* reading the pagemap of a map this big in a stop takes a millisecond */
	Present	= Ppresent,
	Swapped	= Pswapped,
	/*
	 * A swap entry of the last type is a pte marker, not a page: what
	 * protecting a hole for a snap leaves (uffd-wp), or a guard page.
	 * The type shows only to root; to others a marker reads as swapped.
	 */
	Swaptype	= 0x1f,
	Marker	= 0x1f,
	Filepage	= Pfile,
};

typedef struct Map Map;
struct Map {
	Ivma	v;
	char	perms[5];
	char	path[4096];
	uint64_t	ino;
	uint64_t	*pm;	/* pagemap entries */
	int	now;	/* a snap reads it from the process in the stop, not from the copy */
	int	ahead;	/* a snap by tracking read it before the stop */
	Track	*tr;	/* and this is its record, in the stop and after */
};

struct Mem {
	Map	*m;
	int	n;
	Track	*tr;	/* a snap by tracking's: pages read ahead and not written since are not read again */
};

static const struct {
	char	name[16];
	int	kind;		/* -1: not saved at all */
} specials[] = {
	{"[vdso]", Vvdso}, {"[vvar]", Vvvar}, {"[vvar_vclock]", Vvclock},
	{"[vsyscall]", -1}, {"[stack]", Vstack}, {"[heap]", Vanon},
};

/* the page a restore leaves behind: not part of the process */
static int
istramp(pid_t pid, Map *p)
{
	char buf[24];
	uint64_t len;

	if(p->ino != 0 || p->perms[3] != 'p' || p->path[0] != 0 || p->v.end - p->v.start > 64*Ipage)
		return 0;
	if(tread(pid, p->v.start, buf, sizeof buf) < 0)
		return 0;
	memcpy(&len, buf + 16, 8);
	return memcmp(buf, Pmagic, sizeof Pmagic) == 0 && len == p->v.end - p->v.start;
}

/* the mapping's path still names its file, a regular one (not a device's memory) */
static int
named(Map *p)
{
	struct stat sb;

	return strstr(p->path, " (deleted)") == NULL && stat(p->path, &sb) == 0 &&
		S_ISREG(sb.st_mode) && sb.st_ino == p->ino;
}

/* 1: save, 0: skip, -1: refuse (errstr set) */
static int
classify(pid_t pid, Map *p, int lean)
{
	size_t i;
	int shared = p->perms[3] == 's';

	p->v.prot = (p->perms[0] == 'r' ? PROT_READ : 0) | (p->perms[1] == 'w' ? PROT_WRITE : 0) |
		(p->perms[2] == 'x' ? PROT_EXEC : 0);
	for(i = 0; i < sizeof specials/sizeof specials[0]; i++)
		if(strcmp(p->path, specials[i].name) == 0){
			p->v.kind = specials[i].kind;
			return specials[i].kind >= 0;
		}
	if(istramp(pid, p))
		return 0;
	if(shared){
		if(strncmp(p->path, "/SYSV", 5) == 0 && strstr(p->path, " (deleted)") != NULL){
			p->v.kind = Vsysv;	/* the segment again, or made again from the pages */
			return 1;
		}
		/* anonymous shared memory (and memfd, and POSIX shm unlinked: a semaphore) is saved by content */
		if(p->ino == 0 || strncmp(p->path, "/dev/zero", 9) == 0 || strncmp(p->path, "/memfd:", 7) == 0 ||
		   (strncmp(p->path, "/dev/shm/", 9) == 0 && strstr(p->path, " (deleted)") != NULL)){
			p->v.kind = Vshanon;
			p->v.ino = p->ino;	/* mapped by others of a tree too: one object */
			return 1;
		}
		if(p->perms[1] == 'w' && !named(p)){
			werrstr("unsupported: shared writable mapping of %s", p->path);
			return -1;
		}
		/* writable: what it changed is in the file, mapped again; read-only: a private copy reads the same */
		p->v.kind = p->perms[1] == 'w' ? Vshfile : Vfile;
		return 1;
	}
	if(p->ino == 0 || p->path[0] == 0 || p->path[0] == '['){
		p->v.kind = Vanon;
		return 1;
	}
	p->v.kind = lean && strstr(p->path, " (deleted)") == NULL ? Vlean : Vfile;
	return 1;
}

/*
 * The stack in pieces (a map registered with a userfaultfd, say, grows
 * as a second one) is one stack again: restored apart, the piece below
 * would keep the stack from growing.
 */
static int
joinstack(Map *m, int n)
{
	int i;

	for(i = 1; i < n; i++)
		if(m[i].v.kind == Vstack && m[i-1].v.kind == Vanon && m[i-1].path[0] == 0 &&
		   m[i-1].v.end == m[i].v.start && strcmp(m[i-1].perms, m[i].perms) == 0){
			m[i].v.start = m[i-1].v.start;
			memmove(&m[i-1], &m[i], (n - i) * sizeof m[0]);
			n--;
			i--;
		}
	return n;
}

static int
parsemaps(pid_t pid, Map **out, int *nout, int lean)
{
	char path[64], *s, *l, *nl;
	Map *m = NULL, *q;
	int n = 0, cap = 0, off, r;

	snprintf(path, sizeof path, "/proc/%d/maps", pid);
	s = readfile(path, NULL);
	if(s == NULL){
		werrstr("process exited");
		return -1;
	}
	for(l = s; *l; l = nl + 1){
		nl = strchr(l, '\n');
		if(nl == NULL)
			break;
		*nl = 0;
		if(n == cap){
			cap = cap ? 2*cap : 64;
			q = realloc(m, cap * sizeof *m);
			if(q == NULL)
				goto nomem;
			m = q;
		}
		memset(&m[n], 0, sizeof m[n]);
		if(sscanf(l, "%lx-%lx %4s %lx %*s %lu %n", &m[n].v.start, &m[n].v.end,
		    m[n].perms, &m[n].v.pgoff, &m[n].ino, &off) < 5){
			werrstr("cannot parse %s", path);
			goto fail;
		}
		snprintf(m[n].path, sizeof m[n].path, "%s", l + off);
		m[n].v.path = Nil;
		m[n].v.file = Nil;
		r = classify(pid, &m[n], lean);
		if(r < 0)
			goto fail;
		if(r > 0)
			n++;
	}
	free(s);
	n = joinstack(m, n);
	*out = m;
	*nout = n;
	return 0;
nomem:
	werrstr("out of memory");
fail:
	free(s);
	free(m);
	return -1;
}

static int
wanted(Map *p, uint64_t i)
{
	uint64_t e = p->pm[i];

	if(e & Pclean)
		return 0;
	switch(p->v.kind){
	case Vvdso:
		return 1;	/* kept whole: a restore on another kernel redirects its entry points */
	case Vfile:
		/* the contents travel with the image: all of it, but unreadable gaps */
		return p->v.prot != PROT_NONE || (e & Present);
	case Vlean:
		return (e & Present) && !(e & Filepage);
	case Vanon:
	case Vstack:
	case Vshanon:
	case Vsysv:
		return (e & Present) || ((e & Swapped) && (e & Swaptype) != Marker);
	}
	return 0;
}

/* the pagemap of p, from pid's pagemap fd (and shared memory's own, pid's map_files) */
/* how many of its pages are to be read (some known only later: Pask) */
static int64_t
readpagemap(int fd, pid_t pid, Map *p, Track *tr, Pstats *st)
{
	uint64_t np, j, total = st->pagestotal;
	int64_t n = 0;

	if(p->pm != NULL || p->v.kind == Vvvar || p->v.kind == Vvclock)
		return 0;
	np = (p->v.end - p->v.start) / Ipage;
	p->pm = calloc(np, 8);
	if(p->pm == NULL){
		werrstr("out of memory");
		return -1;
	}
	/* tracked, only the pages written since they were read ahead, and those later (askpages) */
	if((tr == NULL || trackpages(tr, &p->v, p->pm) < 0) &&
	   pread(fd, p->pm, np * 8, p->v.start / Ipage * 8) != (ssize_t)(np * 8)){
		werrstr("cannot read pagemap");
		return -1;
	}
	if(p->v.kind == Vshanon || p->v.kind == Vsysv)
		shmpages(pid, &p->v, p->pm);	/* others' pages too */
	for(j = 0; j < np; j++)
		if(wanted(p, j)){
			st->pagestotal++;
			if(p->pm[j] & Present)
				st->rss += Ipage;
		}else if(p->pm[j] & Pask)
			n++;
	return n + st->pagestotal - total;
}

/* the entries of p's pages written since they were read ahead, from the pagemap fd */
static int
askpages(int fd, Map *p, Pstats *st)
{
	uint64_t np, i, j, k;

	if(p->pm == NULL)
		return 0;
	np = (p->v.end - p->v.start) / Ipage;
	for(i = 0; i < np; i = j){
		for(; i < np && !(p->pm[i] & Pask); i++)
			;
		for(j = i; j < np && (p->pm[j] & Pask); j++)
			;
		if(j > i && pread(fd, p->pm + i, (j - i) * 8, (p->v.start / Ipage + i) * 8) != (ssize_t)((j - i) * 8)){
			werrstr("cannot read pagemap");
			return -1;
		}
		/* rss: these were counted when read ahead */
		for(k = i; k < j; k++)
			st->pagestotal += wanted(p, k);
	}
	return 0;
}

int
iszero(const char *p)
{
	const uint64_t *w = (const uint64_t *)p;
	uint64_t acc = 0;
	int i;

	for(i = 0; i < Ipage/8; i++)
		acc |= w[i];
	return acc == 0;
}

/*
 * read npages at addr into buf: process_vm_readv, or /proc/pid/mem when
 * pid is 0 (a forked copy: the pins of process_vm_readv would unshare,
 * that is copy, every page it shares with the process; /proc/pid/mem
 * does not pin); then page by page for what the one call refuses
 */
int
readpages(pid_t pid, int memfd, uint64_t addr, char *buf, uint64_t np)
{
	uint64_t i;

	if(pid > 0 ? tread(pid, addr, buf, np * Ipage) == 0 :
	   pread(memfd, buf, np * Ipage, addr) == (ssize_t)(np * Ipage))
		return 0;
	for(i = 0; i < np; i++)
		if(pread(memfd, buf + i*Ipage, Ipage, addr + i*Ipage) != Ipage)
			memset(buf + i*Ipage, 0, Ipage);	/* beyond end of file: reads as a hole */
	return 0;
}

/* the run being written: its pages are hashed and written a batch at a time */
typedef struct Run Run;
struct Run {
	Irun	r;		/* npages 0: none */
	Phash	h;
};

/* the run is whole: record it */
static int
runend(Img *img, Map *p, Run *run)
{
	if(run->r.npages == 0)
		return 0;
	run->r.sum = phend(&run->h);
	if(p->v.nrun == 0)
		p->v.run = img->run.n / sizeof run->r;
	p->v.nrun++;
	img->st->pageswritten += run->r.npages;
	if(bufadd(&img->run, &run->r, sizeof run->r) < 0)
		return -1;
	run->r.npages = 0;
	return 0;
}

/*
 * np pages at addr, after the run's (if any); tracked, pages read
 * ahead once are written again where they were, a run of their own
 */
static int
runadd(Img *img, Map *p, Run *run, uint64_t addr, const char *buf, uint64_t np)
{
	uint64_t k, off;
	int64_t at;

	for(; np > 0; np -= k, addr += k*Ipage, buf += k*Ipage){
		k = np;
		at = -1;
		if(p->tr != NULL)
			k = trackplace(p->tr, addr, np, &at);
		if(at >= 0 && (runend(img, p, run) < 0 || imgput(img, buf, k * Ipage, at) < 0))
			return -1;
		if(at < 0 && imgpages(img, buf, k * Ipage, &off) < 0)
			return -1;
		if(run->r.npages == 0){
			run->r.addr = addr;
			run->r.off = at >= 0 ? (uint64_t)at : off;
			phinit(&run->h);
		}
		phadd(&run->h, buf, k * Ipage);
		run->r.npages += k;
		if(at >= 0 && runend(img, p, run) < 0)
			return -1;
	}
	return 0;
}

/* a zero page of p is a page, not a hole: a lean map's covers its file's, a vdso is kept whole */
static int
keepzero(Map *p)
{
	return p->v.kind == Vlean || p->v.kind == Vvdso;
}

/* pages [i, i+np) of p, all wanted, at most Runmax: read a batch at a time, drop zero pages, write */
static int
savechunk(Img *img, Map *p, pid_t from, int memfd, char *buf, uint64_t i, uint64_t np)
{
	uint64_t addr, at, n, j, first;
	Run run;

	run.r.npages = 0;
	for(at = 0; at < np; at += n){
		n = np - at < Batch/Ipage ? np - at : Batch/Ipage;
		addr = p->v.start + (i + at)*Ipage;
		readpages(from, memfd, addr, buf, n);
		first = 0;
		for(j = 0; j < n; j++){
			if(keepzero(p) || !iszero(buf + j*Ipage))
				continue;
			img->st->pageszero++;
			if(runadd(img, p, &run, addr + first*Ipage, buf + first*Ipage, j - first) < 0 ||
			   runend(img, p, &run) < 0)
				return -1;
			first = j + 1;
		}
		if(runadd(img, p, &run, addr + first*Ipage, buf + first*Ipage, n - first) < 0)
			return -1;
		img->st->pagesdone += n;
	}
	return runend(img, p, &run);
}

static int
savemap(Img *img, Map *p, pid_t from, int memfd, char *buf)
{
	uint64_t np = (p->v.end - p->v.start) / Ipage, i, j;

	if(p->pm == NULL)
		return 0;
	for(i = 0; i < np; i = j){
		if(!wanted(p, i)){
			j = i + 1;
			continue;
		}
		for(j = i; j < np && j - i < Runmax/Ipage && wanted(p, j); j++)
			;
		if(savechunk(img, p, from, memfd, buf, i, j - i) < 0)
			return -1;
	}
	return 0;
}

/* a lean image names the file and how it was; the restorer checks it */
static int
addfile(Img *img, Map *p)
{
	Ifile f;
	struct stat sb;
	int fd;
	void *map;

	memset(&f, 0, sizeof f);
	fd = open(p->path, O_RDONLY|O_CLOEXEC);
	if(fd < 0 || fstat(fd, &sb) < 0){
		werrstr("cannot open %s: %s", p->path, strerror(errno));
		if(fd >= 0)
			close(fd);
		return -1;
	}
	f.path = imgstr(img, p->path);
	f.size = sb.st_size;
	f.sum = ihash("", 0, 0);
	if(sb.st_size > 0){
		map = mmap(NULL, sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if(map == MAP_FAILED){
			close(fd);
			werrstr("cannot map %s", p->path);
			return -1;
		}
		f.sum = ihash(map, sb.st_size, 0);
		munmap(map, sb.st_size);
	}
	close(fd);
	p->v.file = img->file.n / sizeof f;
	return bufadd(&img->file, &f, sizeof f);
}

static int
findfile(Img *img, Map *m, int i)
{
	int j;

	for(j = 0; j < i; j++)
		if(m[j].v.kind == Vlean && strcmp(m[j].path, m[i].path) == 0){
			m[i].v.file = m[j].v.file;
			return 0;
		}
	return addfile(img, &m[i]);
}

Mem *
memopen(pid_t pid, int lean)
{
	Mem *mm;

	mm = calloc(1, sizeof *mm);
	if(mm == NULL){
		werrstr("out of memory");
		return NULL;
	}
	if(parsemaps(pid, &mm->m, &mm->n, lean) < 0){
		free(mm);
		return NULL;
	}
	return mm;
}

/* maps within [start, end) are read from the process in the stop; returns how many were not yet */
int
memnow(Mem *mm, uint64_t start, uint64_t end)
{
	int i, k = 0;

	for(i = 0; i < mm->n; i++)
		if(mm->m[i].v.start >= start && mm->m[i].v.end <= end && !mm->m[i].now){
			mm->m[i].now = 1;
			k++;
		}
	return k;
}

/* maps a copy's maps text lacks (MADV_DONTFORK) are read from the process */
void
memabsent(Mem *mm, const char *copymaps)
{
	char line[48];
	int i, n;

	for(i = 0; i < mm->n; i++){
		n = snprintf(line, sizeof line, "\n%lx-%lx ", mm->m[i].v.start, mm->m[i].v.end);
		if(strncmp(copymaps, line + 1, n - 1) != 0 && strstr(copymaps, line) == NULL)
			mm->m[i].now = 1;
	}
}

/* a fork shares these: their pages present are the process's, not the copy's */
static int
shared(Map *p)
{
	return p->perms[3] == 's';
}

/* shared maps are read in the stop: what other processes write to them later is not the snapshot's */
void
memnowshared(Mem *mm)
{
	int i;

	for(i = 0; i < mm->n; i++)
		if(shared(&mm->m[i]))
			mm->m[i].now = 1;
}

/* the maps whose pages a phase saves */
static int
inphase(Map *p, int phase)
{
	if(phase == Mahead)
		return p->ahead;
	return phase == Mall || p->now == (phase == Mnow);
}

/*
 * The pages of the maps of this phase, read from pid from: Mall, every
 * map; Mnow, the maps marked now (and the pagemap of shared ones, which
 * a copy does not have); Mlater, the rest.
 */
int
memsave(Mem *mm, Img *img, pid_t from, int phase)
{
	char path[64], *buf = NULL;
	int i, pmfd, memfd, r = -1;
	Map *p;

	snprintf(path, sizeof path, "/proc/%d/pagemap", from);
	pmfd = open(path, O_RDONLY|O_CLOEXEC);
	snprintf(path, sizeof path, "/proc/%d/mem", from);
	memfd = open(path, O_RDONLY|O_CLOEXEC);
	buf = mmap(NULL, Batch, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
	if(pmfd < 0 || memfd < 0 || buf == MAP_FAILED){
		buf = NULL;
		werrstr("process exited");
		goto out;
	}
	/* all the pagemaps first: pagestotal is whole before pagesdone moves */
	for(i = 0; i < mm->n; i++){
		p = &mm->m[i];
		if((inphase(p, phase) || (phase == Mnow && shared(p))) &&
		   readpagemap(pmfd, from, p, mm->tr, img->st) < 0)
			goto out;
	}
	for(i = 0; i < mm->n; i++){
		p = &mm->m[i];
		if(inphase(p, phase) && (askpages(pmfd, p, img->st) < 0 ||
		   savemap(img, p, phase == Mlater ? 0 : from, memfd, buf) < 0))
			goto out;
	}
	r = 0;
out:
	if(buf != NULL)
		munmap(buf, Batch);
	if(memfd >= 0)
		close(memfd);
	if(pmfd >= 0)
		close(pmfd);
	return r;
}

/* in the stop, tracked: every map's pagemap; how many pages are to be read (many: a copy had better) */
int64_t
mempages(Mem *mm, Img *img, pid_t pid)
{
	char path[64];
	int64_t n = 0, k;
	int i, fd;

	snprintf(path, sizeof path, "/proc/%d/pagemap", pid);
	if((fd = open(path, O_RDONLY|O_CLOEXEC)) < 0)
		return -1;
	for(i = 0; i < mm->n; i++){
		/* a big map not read ahead: its pagemap alone takes long; a copy will read it */
		if(!tracked(mm->tr, &mm->m[i].v) && mm->m[i].v.end - mm->m[i].v.start > Bigmap){
			n = INT64_MAX / 2;
			continue;
		}
		if((k = readpagemap(fd, pid, &mm->m[i], mm->tr, img->st)) < 0){
			close(fd);
			return -1;
		}
		n += k;
	}
	close(fd);
	return n;
}

/*
 * A snap by tracking, before its stop: the private maps whose writes
 * can be tracked are protected and read while pid runs.
 */
int
memahead(Mem *mm, Img *img, pid_t pid, Track *tr)
{
	char buf[64];
	uint64_t most = Sparse;
	Map *p;
	int i;

	/* protecting holes costs page tables: a reservation far beyond what is used is read in the stop */
	if(statusline(pid, "VmRSS", buf, sizeof buf) == 0)
		most += strtoull(buf, NULL, 10) * 1024 * Sparseratio;
	for(i = 0; i < mm->n; i++){
		p = &mm->m[i];
		switch(p->v.kind){
		case Vanon:
		case Vstack:
		case Vfile:
		case Vlean:
			p->ahead = !shared(p) && p->v.end - p->v.start <= most &&
				trackmap(tr, p->v.start, p->v.end, keepzero(p)) == 0;
		}
	}
	return memsave(mm, img, pid, Mahead);
}

/* in the stop: pages tr read ahead and not written since are not read again */
void
memtrack(Mem *mm, Track *tr)
{
	int i;

	mm->tr = tr;
	for(i = 0; i < mm->n; i++)
		mm->m[i].tr = tr;
}

static int
byaddr(const void *a, const void *b)
{
	const Irun *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* each map's runs: those read in the stop and those read ahead that hold, in address order */
static int
mergeruns(Mem *mm, Img *img)
{
	Buf runs = {0};
	Ivma *v;
	size_t first;
	int i;

	for(i = 0; i < mm->n; i++){
		v = &mm->m[i].v;
		first = runs.n / sizeof(Irun);
		if(v->nrun > 0 && bufadd(&runs, img->run.p + v->run*sizeof(Irun), v->nrun*sizeof(Irun)) < 0)
			goto fail;
		if(mm->m[i].pm != NULL && trackruns(mm->tr, v, mm->m[i].pm, &runs) < 0)
			goto fail;
		v->run = first;
		v->nrun = runs.n / sizeof(Irun) - first;
		qsort(runs.p + first*sizeof(Irun), v->nrun, sizeof(Irun), byaddr);
	}
	free(img->run.p);
	img->run = runs;
	return 0;
fail:
	free(runs.p);
	return -1;
}

/* the table of maps, in address order, once their pages are saved */
int
memclose(Mem *mm, Img *img)
{
	Map *m = mm->m;
	int i;

	if(mm->tr != NULL && mergeruns(mm, img) < 0)
		return -1;
	for(i = 0; i < mm->n; i++){
		if(m[i].path[0] != 0 && m[i].path[0] != '[')
			m[i].v.path = imgstr(img, m[i].path);
		if(m[i].v.kind == Vlean && findfile(img, m, i) < 0)
			return -1;
		if(m[i].v.kind == Vsysv && addshm(img, &m[i].v, m[i].ino) < 0)
			return -1;
		if(bufadd(&img->vma, &m[i].v, sizeof m[i].v) < 0)
			return -1;
	}
	img->st->vmas = mm->n;
	return 0;
}

void
memfree(Mem *mm)
{
	int i;

	if(mm == NULL)
		return;
	for(i = 0; i < mm->n; i++)
		free(mm->m[i].pm);
	free(mm->m);
	free(mm);
}

/* the whole of it, the process stopped */
/* each map's advice, by its start: maps made since a were read have none */
void
memadvise(Mem *mm, Advice *a, int n)
{
	int i, j = 0;

	for(i = 0; i < mm->n; i++){
		while(j < n && a[j].start < mm->m[i].v.start)
			j++;
		if(j < n && a[j].start == mm->m[i].v.start)
			mm->m[i].v.advice = a[j].bits;
	}
}

int
dumpmem(Tracee *t, Img *img, int lean)
{
	Advice *a;
	Mem *mm;
	int r, n;

	mm = memopen(t->pid, lean);
	if(mm == NULL)
		return -1;
	if(vmadvice(t->pid, &a, &n) < 0){
		memfree(mm);
		return -1;
	}
	memadvise(mm, a, n);
	free(a);
	r = memsave(mm, img, t->pid, Mall) < 0 || memclose(mm, img) < 0 ? -1 : 0;
	memfree(mm);
	return r;
}
