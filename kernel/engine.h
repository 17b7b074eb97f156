/* libpersist internals: shared by the engine's files, not exported */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>
#include "persist.h"
#include "image.h"

enum {
	Ppresent	= 1ULL<<63,	/* a pagemap entry's page is there */
	Pswapped	= 1ULL<<62,
	Pfile	= 1ULL<<61,	/* page cache or shared: not changed privately */
	Pclean	= 1ULL<<58,	/* ours, in a pagemap entry (the kernel's bit is 0): read ahead, not written since */
	Pask	= 1ULL<<59,	/* ours: written since, the entry itself not read yet */
	Stopwait	= 5000,	/* ms to wait for a thread to reach a stop */
	Maxthreads	= 256,	/* threads of one process we take */
};

/* ptrace.c: one stopped thread */
typedef struct Tracee Tracee;
struct Tracee {
	pid_t	pid;		/* thread group */
	pid_t	tid;
	struct user_regs_struct	found;	/* registers as the thread stopped */
	struct user_regs_struct	regs;	/* the same, syscall restart applied: what it resumes with */
	struct user_regs_struct	image;	/* what the image resumes with */
	int	seized;
	int	injected;	/* registers were changed: set regs back before detach */
	uint64_t	sysaddr;	/* a syscall instruction to inject at */
	int	stopped;	/* reached its stop */
	int	stopsig;	/* SIGTRAP, or the signal of a group stop */
	pid_t	born;		/* a child an injected clone made (traced if the options say so) */
};

/* all the threads of a process, the main one first */
typedef struct Group Group;
struct Group {
	Tracee	t[Maxthreads];
	int	n;
};

int	gseize(Group *g, pid_t pid);	/* g zeroed first, then again to add new threads */
int	gwait(Group *g, int ms);
void	gdetach(Group *g, int stop);
int	tseize(Tracee *t, pid_t pid, pid_t tid);
int	tinterrupt(Tracee *t);
int	twait(Tracee *t, int ms);
long	tinject(Tracee *t, long nr, long a, long b, long c, long d, long e, long f);
int	tdetach(Tracee *t, int stop);
int	tsysaddr(Tracee *t);
int	waitstop(pid_t tid, int *status, int ms);
int	tread(pid_t pid, uint64_t addr, void *buf, size_t n);
int	twrite(pid_t pid, uint64_t addr, const void *buf, size_t n);

/* tree.c: a process and its descendants, all stopped */
typedef struct Member Member;
struct Member {
	pid_t	pid, ppid, pgid, sid;
	int	parent;		/* index, -1 for the root */
	int	zombie;
	int	stopped;	/* in a job-control stop when found */
	int	status;		/* a zombie's wait status */
	uint64_t	tty;		/* controlling terminal (dev), 0 none */
	pid_t	tpgid;		/* its foreground group */
	Group	*g;		/* a live one's threads, held */
};

typedef struct Tree Tree;
struct Tree {
	Member	m[Nmember];
	int	n;
	char	ids[2][128];	/* the root's Uid: and Gid: lines, which every process matches */
};

int	treeseize(Tree *t, pid_t pid, int single, Pfreeze *opt);
void	treedetach(Tree *t, int stop);
int	treecheck(Tree *t);

/* procfs.c */
int	procstate(pid_t pid, char *state);	/* state letter from stat */
int	childpids(pid_t pid, pid_t *k, int max);
pid_t	livetid(pid_t pid);
int	threadof(pid_t pid, pid_t tid);	/* a thread that can stop: the main one unless it ended */
char	*readfile(const char *path, size_t *len);
int	statfields(pid_t pid, uint64_t *f, int nf);
int	statusline(pid_t pid, const char *key, char *buf, size_t n);
int	tracer(pid_t pid);
int	nthreads(pid_t pid);
int	seccomped(pid_t pid);
int	seccompmode(pid_t tid);
int	foreignns(pid_t pid);
int	plainids(pid_t pid);
int	procstr(pid_t pid, const char *name, char *buf, size_t n);

/* image.c: building an image */
typedef struct Buf Buf;
struct Buf {
	char	*p;
	size_t	n;
	size_t	cap;
};

typedef struct Wback Wback;	/* image.c */
typedef struct Img Img;
struct Img {
	int	fd;
	Wback	*wb;	/* writes page data back as it comes: the root's, or none */
	uint64_t	off;	/* next page data offset */
	Ihdr	hdr;
	Iproc	proc;
	Isigact	sig[Nsig];
	Buf	thr, vma, run, fds, file, blob;
	Buf	tree, share, shm;	/* the root's only */
	Pstats	*st;
};

int	bufadd(Buf *b, const void *p, size_t n);
uint32_t	imgstr(Img *m, const char *s);
int	imgcreate(Img *m, const char *path, uint64_t size);
int	imgpages(Img *m, const void *p, size_t n, uint64_t *off);
int	imgput(Img *m, const void *p, size_t n, uint64_t off);
int	imgfinish(Img *m, int n);	/* m[0] the root, m[i] Imember i */
int	imgsync(Img *m);
void	imgfree(Img *m);

/* dump*.c: the parts of a stopped process */
int	dumpproc(Group *g, Img *m);
int	dumpmem(Tracee *t, Img *m, int lean);
int	dumpfds(pid_t pid, Img *m, const char *skipdir);
int	anonfd(pid_t pid, int fd, const char *link, const char *info, Ifd *f, Img *m);
int	treefds(Tree *t, Img *m);	/* what the processes share: treeimg.c */
int	treemem(Tree *t, Img *m);
int	pipefd(pid_t pid, int fd, uint64_t ino, Ifd *f, Img *m);
int	pipedata(pid_t pid, int fd, Ifd *f, Img *m);
int	peerfd(pid_t pid, int fd);
int	termios1(pid_t pid, int fd, Ifd *f, Img *m);
int	fdlocks(pid_t pid, Img *m);
int	addshm(Img *m, Ivma *v, uint64_t shmid);
void	shmpages(pid_t pid, Ivma *v, uint64_t *pm);
int	inotify1(pid_t pid, int fd, const char *info, Ifd *f, Img *m);
int	unixdgram1(int dup, int fd, Ifd *f, Img *m);
int	inet1(int s, int fd, int domain, int type, Ifd *f, Img *m);	/* inetfds.c */
int	ptm1(pid_t pid, int fd, Ifd *f, Img *m);	/* ptyfds.c */

/* dumpmem.c in parts, for a snap that reads most of it from a copy */
enum {
	Mall,		/* every map, from the process */
	Mnow,		/* the maps marked now, from the process, in the stop */
	Mlater,		/* the rest, from the copy */
	Mahead,		/* the maps a snap by tracking reads before its stop */
};
typedef struct Mem Mem;
Mem	*memopen(pid_t pid, int lean);	/* the maps of pid as they are */
int	memnow(Mem *mm, uint64_t start, uint64_t end);
void	memabsent(Mem *mm, const char *copymaps);
void	memnowshared(Mem *mm);
int	memsave(Mem *mm, Img *m, pid_t from, int phase);
int	memclose(Mem *mm, Img *m);
void	memfree(Mem *mm);

/* vmflags.c: the advice of each map, from smaps */
typedef struct Advice Advice;
struct Advice {
	uint64_t	start, end;
	uint32_t	bits;
};
int	vmadvice(pid_t pid, Advice **a, int *n);
void	memadvise(Mem *mm, Advice *a, int n);	/* dumpmem.c */

/* track.c: a snap's memory read ahead while the process runs, what it writes meanwhile read again in the stop */
typedef struct Track Track;
Track	*trackstart(pid_t pid, Img *m, int lean);	/* nil: the kernel or the process cannot */
int	trackmap(Track *tr, uint64_t start, uint64_t end, int keepzero);
int	trackpages(Track *tr, Ivma *v, uint64_t *pm);	/* v's pages Pclean or Pask */
int	tracked(Track *tr, Ivma *v);
int	trackruns(Track *tr, Ivma *v, uint64_t *pm, Buf *runs);
uint64_t	trackplace(Track *tr, uint64_t addr, uint64_t np, int64_t *off);
int	trackagain(Track *tr, Img *m, uint64_t few);	/* a second pass, if the first saw many pages written */
double	trackheld(Track *tr);
void	trackfree(Track *tr);
int	memahead(Mem *mm, Img *m, pid_t pid, Track *tr);
void	memtrack(Mem *mm, Track *tr);
int64_t	mempages(Mem *mm, Img *m, pid_t pid);
int	readpages(pid_t pid, int memfd, uint64_t addr, char *buf, uint64_t np);
int	iszero(const char *page);

/* snapcopy.c: a snap's memory read from a forked copy */
typedef struct Snap Snap;
Snap	*snapprep(pid_t pid, Img *m, int lean);	/* before the stop; m: read ahead into it (track.c) */
int	snapstop(Snap *sn, Group *g, Img *m, int lean, double tstop);	/* lets g go */
int	snaprest(Snap *sn, Img *m);
void	snapfree(Snap *sn);
pid_t	snappid(Snap *sn);

double	now(void);	/* ms */
