/* the restorer: state shared by its stages */
#include "sys.h"
#include "image.h"

enum {
	Nvdso	= 4,		/* [vvar] [vvar_vclock] [vdso] */
	Stack	= 64*1024,	/* restorer's own stack in the hole */
	Tstack	= 16*1024,	/* each other thread's, while it sets itself up */
	Top	= 0x7ffffffff000UL,	/* 47-bit user address space */
};

typedef struct Piece Piece;
struct Piece {
	uint64_t	start;
	uint64_t	end;
	uint32_t	kind;	/* Vvdso, Vvvar, Vvclock */
};

typedef struct Rctx Rctx;
struct Rctx {
	char	name[32];	/* for messages: basename of argv[0] */
	int	imgfd;
	int	readyfd;	/* tells persistfs the outcome, or -1 */
	char	*meta;		/* Ihdr and sections, in the hole: this process's */
	char	*metas[Nmember];	/* every process's, by Imember index */
	uint64_t	hdroffs[Nmember];
	Imember	*mb;		/* the tree, from the root's metadata */
	uint32_t	nmb;
	uint32_t	me;		/* which of them this process is */
	int	stopped;	/* it was stopped: it stops before it goes on */
	Ishare	*share;
	uint32_t	nshare;
	Ishm	*shm;
	uint32_t	nshm;
	uint64_t	hdroff;	/* file offset of the Ihdr */
	Piece	cur[Nvdso];	/* this kernel's vdso pieces */
	int	ncur;
	uint64_t	hole;	/* restorer's home while it works */
	uint64_t	holelen;
	uint64_t	park;	/* where the vdso waits while memory is rebuilt */
	uint64_t	tramp;	/* page left behind: trampoline and frame */
	uint64_t	tramplen;
	uint64_t	tstacks;	/* stacks of the other threads */
	int	*tmpfd;		/* per Ifd: the open file it becomes */
	int	*leanfd;	/* per Ifile */
	int	cwdfd;
	int	rootfd;		/* chroot here, or -1 */
	int	maxfd;		/* highest saved fd */
	int	redirect;	/* saved vdso is not this kernel's: call through to ours */
	int	sumlater;	/* page runs are checked as they are read in */
	int	mappages;	/* private memory maps the image's pages */
	uint32_t	cpu[Ncpu];
	uint64_t	xcr0;
	uint32_t	xsize;
};

extern Rctx ctx;

/* rst.c */
void	fail(const char *what, const char *detail) __attribute__((noreturn));
void	*sect(int type, uint32_t *count);
void	usemeta(uint32_t k);
const char	*blobstr(uint32_t off);
int	above(int fd, int base);
const char	*getenv(char **envp, const char *name);
/* check.c */
void	checkimage(void);
void	checkcpu(void);
/* vdso.c */
void	findvdso(char **envp);
void	parkvdso(void);
void	placevdso(void);
void	patchvdso(Ivma *v);
/* mem.c */
void	premakeshm(void);
int	shmobject(uint32_t j);	/* the fd of Sshm object j */
void	rebuildmem(void);
void	setmm(void);
/* fds.c */
void	premakefds(void);
long	ptyslave(uint32_t num, int flags);
void	openfds(void);
void	placefds(void);
/* shm.c */
void	openshared(void);
long	sharedfd(Ivma *v);
int	attachshm(Ivma *v);
/* inotify.c */
long	inotify(Ifd *f);
/* unix.c */
void	unlinksock(char *sa, uint64_t len);
long	unix1(Ifd *f);
void	unixconnects(void);
/* locks.c */
void	openlocks(Ifd *f, long fd);
void	posixlocks(void);
/* inet.c */
long	inet1(Ifd *f);
/* tree.c */
void	growtree(void);
void	settle(void);
/* task.c */
void	resumetask(void) __attribute__((noreturn));
uint64_t	planlen(void);
/* start.S */
void	jumpstack(void (*fn)(void *), void *arg, void *sp) __attribute__((noreturn));
extern char tramp[], tramp_end[], ttramp[], ttramp_end[];
long	rclone(long flags, void *stack, void (*fn)(void *), void *arg);
