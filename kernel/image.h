/*
 * The image format, shared by the writer (kernel/) and the restorer
 * (kernel/restorer/, freestanding: this header uses nothing but stdint).
 *
 *	[restorer ELF][pad to page]
 *	[page data, page aligned]		hashed per run (phash)
 *	[Ihdr][sections]			metadata, hashed
 *	[Itrail]				last 32 bytes
 *
 * Page data comes first so it can be streamed while memory is read.
 * All offsets (Isect.off, Irun.off, Ihdr.dataoff) are file offsets.
 * Integers are little-endian; the image is for one arch (Ihdr.arch).
 */
#include <stdint.h>

enum {
	Ipage		= 4096,
	Iversion	= 3,
	Iarch		= 62,	/* EM_X86_64 */
	Nauxv		= 64,	/* u64 words, pairs */
	Nrlim		= 16,
	Nsig		= 64,
	Ncpu		= 8,
	Nmember		= 64,	/* processes in one image */
	/* what the restorer makes once for all the processes: at most this many */
	Npipe		= 64,	/* pipes */
	Npair		= 32,	/* unix socket pairs */
	Npty		= 16,	/* pty pairs */
	Nshare		= 512,	/* Ishare entries */
	Nshm		= 64,	/* Ishm objects */
	Nil		= 0xffffffff,	/* no string, no index */
};

#define Hmagic	"persist"	/* Ihdr.magic, NUL padded */
#define Tmagic	"\npersist"	/* Itrail.magic: `tail -c 32 image` shows it */
#define Pmagic	"persist tramp"	/* first bytes of the page a restore leaves behind */

/* Ihdr.flags */
enum {
	Hlean	= 1<<0,
	Hlazy	= 1<<1,	/* private memory maps the image's pages (PERSIST_PAGES overrides) */
};

/* section types: the one table of what an image holds */
enum {
	Sproc,		/* one Iproc */
	Sthread,	/* Ithread[] */
	Svma,		/* Ivma[] in address order */
	Srun,		/* Irun[] runs of saved pages */
	Sfd,		/* Ifd[] */
	Sfile,		/* Ifile[]: identities of mapped files (lean images) */
	Ssig,		/* Isigact[Nsig] */
	Sblob,		/* strings (NUL terminated) and xsave areas, by offset */
	Stree,		/* Imember[]: the processes, the root first (root's header only) */
	Sshare,		/* Ishare[]: fds of several processes that are one open file */
	Sshm,		/* Ishm[]: shared memory objects mapped more than once */
	Nsect,
};

typedef struct Isect Isect;
struct Isect {
	uint32_t	count;
	uint32_t	esize;	/* size of one entry */
	uint64_t	off;
	uint64_t	size;
};

/* cpu feature words, Ihdr.cpu[]: what the process may have chosen code paths by */
enum {
	C1ecx, C1edx, C7ebx, C7ecx, C7edx, C81ecx, C81edx, C71eax,
};

typedef struct Ihdr Ihdr;
struct Ihdr {
	char	magic[8];	/* Hmagic */
	uint32_t	version;
	uint32_t	arch;
	uint32_t	flags;
	uint32_t	hdrsize;	/* sizeof(Ihdr) */
	uint64_t	metasize;	/* bytes from Ihdr to end of sections */
	uint64_t	metasum;	/* hash of bytes [hdrsize, metasize) */
	uint64_t	dataoff;	/* page data, page aligned */
	uint64_t	datasize;
	uint32_t	cpu[Ncpu];
	uint64_t	xcr0;		/* xsave features enabled where frozen */
	uint32_t	xsize;		/* xsave area size where frozen */
	uint32_t	pid;
	uint32_t	uid;
	uint32_t	gid;
	uint64_t	when;		/* unix seconds */
	char	comm[16];
	char	kernel[64];	/* uname release where frozen */
	Isect	sect[Nsect];
	uint64_t	hdrsum;		/* hash of this header with hdrsum 0 */
};

typedef struct Itrail Itrail;
struct Itrail {
	char	magic[8];	/* Tmagic */
	uint64_t	hdroff;	/* file offset of Ihdr */
	uint64_t	size;	/* whole file, this trailer included */
	uint64_t	sum;	/* hash of the three fields above */
};

typedef struct Iproc Iproc;
struct Iproc {
	/* prctl(PR_SET_MM_MAP) fields */
	uint64_t	startcode, endcode, startdata, enddata;
	uint64_t	startbrk, brk, startstack;
	uint64_t	argstart, argend, envstart, envend;
	uint64_t	auxv[Nauxv];
	uint32_t	nauxv;		/* words used */
	uint32_t	personality;
	uint32_t	umask;
	uint32_t	cwd;		/* blob offset */
	char	comm[16];
	uint64_t	itimer[3][4];	/* real, virtual, prof: interval s/us, value s/us */
	uint64_t	rlim[Nrlim][2];	/* cur, max */
	uint32_t	nrlim;
	uint32_t	nsig;		/* signals pending for the process: siginfo (128 bytes each) */
	uint32_t	sig;		/* at this blob offset */
	int32_t	nice;
	uint32_t	nonewprivs;
	uint32_t	dumpable;
	uint32_t	subreaper;
	uint32_t	pdeathsig;	/* PR_SET_PDEATHSIG */
	uint64_t	cpus[16];	/* affinity of the main thread, 1024 cpus */
	uint32_t	ntimer;		/* POSIX timers: Itimer entries */
	uint32_t	timer;		/* at this blob offset */
	uint64_t	cap[5];		/* capability sets: Cinh, Cprm, Ceff, Cbnd, Camb */
	uint64_t	timerslack;	/* ns, PR_SET_TIMERSLACK */
	uint32_t	keepcaps;	/* PR_SET_KEEPCAPS */
	uint32_t	thpdisable;	/* PR_SET_THP_DISABLE */
	uint32_t	seccomp;	/* 0 none, 1 strict, 2 filter */
	uint32_t	nfilter;	/* seccomp filters, oldest first: */
	uint32_t	filter;		/* at this blob offset, each u32 count, u32 0, count sock_filters */
	uint32_t	filterlen;	/* bytes there */
	uint32_t	root;		/* blob offset of its root directory (chroot), Nil for / */
	uint32_t	ngroups;	/* supplementary groups: u32 gids */
	uint32_t	groups;		/* at this blob offset */
	uint32_t	pad;
};

/* Iproc.cap[], in /proc/pid/status order */
enum {
	Cinh, Cprm, Ceff, Cbnd, Camb, Ncap,
};

typedef struct Itimer Itimer;
struct Itimer {			/* a POSIX timer (timer_create) */
	int32_t	id;
	int32_t	clock;
	int32_t	signo;
	int32_t	notify;		/* SIGEV_*, with SIGEV_THREAD_ID */
	int32_t	tid;		/* for SIGEV_THREAD_ID: the thread, as it was */
	int32_t	pad;
	uint64_t	value;		/* sigev_value */
	uint64_t	interval;	/* ns */
	uint64_t	left;		/* ns to the next expiry, 0: disarmed */
};

typedef struct Isigact Isigact;
struct Isigact {		/* the kernel's struct sigaction, x86_64 */
	uint64_t	handler;
	uint64_t	flags;
	uint64_t	restorer;
	uint64_t	mask;
};

typedef struct Ithread Ithread;
struct Ithread {
	uint32_t	tid;
	uint32_t	xsize;		/* bytes of xsave area at blob offset xsave */
	uint64_t	regs[27];	/* struct user_regs_struct, restart already applied */
	uint64_t	sigmask;
	uint64_t	tidaddr;	/* set_tid_address; holds glibc's cached tid */
	uint64_t	rseq;		/* rseq area, 0: none */
	uint32_t	rseqlen;
	uint32_t	rseqsig;
	uint64_t	robust;		/* robust list head, len */
	uint64_t	robustlen;
	uint64_t	sssp;		/* sigaltstack */
	uint64_t	sssize;
	uint32_t	ssflags;
	uint32_t	xsave;		/* blob offset */
	char	comm[16];	/* the thread's name */
	uint32_t	nsig;		/* signals pending for the thread: siginfo (128 bytes each) */
	uint32_t	sig;		/* at this blob offset */
};

/* Ivma.kind */
enum {
	Vanon,		/* private anonymous (and [heap]) */
	Vstack,		/* [stack]: grows down */
	Vfile,		/* private file mapping, contents in the image */
	Vlean,		/* private file mapping from the file (Sfile), changed pages in the image */
	Vshanon,	/* shared anonymous */
	Vvdso,		/* [vdso]: the running kernel's goes here */
	Vvvar,		/* [vvar] */
	Vvclock,	/* [vvar_vclock] */
	Vshfile,	/* shared mapping of a file, mapped again from the file by path */
	Vsysv,		/* SysV shared memory: file is the blob offset of its Isysv; pages saved */
};

typedef struct Isysv Isysv;
struct Isysv {			/* a SysV segment, as /proc/sysvipc/shm showed it */
	int32_t	key;
	int32_t	shmid;
	uint32_t	mode;		/* permissions, SHM_DEST (01000) if removed while attached */
	uint32_t	pad;
	uint64_t	size;
};

typedef struct Ivma Ivma;
struct Ivma {
	uint64_t	start;
	uint64_t	end;
	uint64_t	pgoff;		/* file offset of start */
	uint32_t	prot;		/* PROT_* */
	uint32_t	kind;
	uint32_t	path;		/* blob offset or Nil */
	uint32_t	file;		/* Sfile index (Vlean), Sshm index (Vshanon), Isysv blob offset (Vsysv) or Nil */
	uint32_t	run;		/* first Irun */
	uint32_t	nrun;
	uint64_t	ino;		/* shared mapping: its object's inode where frozen */
	uint32_t	advice;		/* A* bits: what madvise, mlock, mseal said of it */
	uint32_t	pad;
};

/* Ivma.advice */
enum {
	Adontfork	= 1<<0,	/* MADV_DONTFORK */
	Awipeonfork	= 1<<1,	/* MADV_WIPEONFORK */
	Adontdump	= 1<<2,	/* MADV_DONTDUMP */
	Ahuge		= 1<<3,	/* MADV_HUGEPAGE */
	Anohuge		= 1<<4,	/* MADV_NOHUGEPAGE */
	Amergeable	= 1<<5,	/* MADV_MERGEABLE */
	Arandom		= 1<<6,	/* MADV_RANDOM */
	Asequential	= 1<<7,	/* MADV_SEQUENTIAL */
	Alocked		= 1<<8,	/* mlock */
	Asealed		= 1<<9,	/* mseal */
};

typedef struct Irun Irun;
struct Irun {
	uint64_t	addr;
	uint64_t	npages;
	uint64_t	off;		/* page aligned */
	uint64_t	sum;		/* phash of the run's bytes */
};

/* Ifd.kind */
enum {
	Dfile,		/* regular file: reopen path, seek pos; arg blob offset and count of Ilock */
	Ddir,		/* directory: reopen path */
	Ddev,		/* device other than a terminal: reopen path */
	Dtty,		/* terminal: the runner's terminal, else /dev/null; arg blob offset, length of its termios */
	Dstd,		/* fd 0-2 on a pipe or socket: the runner's fd of that number */
	Dnull,		/* /dev/null instead (control files of persistfs itself) */
	Dfifo,		/* named pipe: reopen path without blocking, then the saved flags */
	Dpipe,		/* pipe with both ends in the process: arg ino, data blob offset, length */
	Deventfd,	/* arg count, semaphore */
	Dsignalfd,	/* arg mask */
	Dtimerfd,	/* arg clockid, value ns, interval ns */
	Depoll,		/* arg blob offset and count of Iwatch */
	Dgone,		/* file deleted while open (or memfd): arg blob offset and length of its contents */
	Dlisten,	/* listening socket: arg domain, type, blob offset and length of its address */
	Dsockpair,	/* unix socket whose peer the process holds: arg ino | peer<<32, type, blob offset and length of what waits (datagrams: u32 length, bytes; each) */
	Dinet,		/* UDP, or TCP not connected: arg domain | type<<32, blob offset and length of its record */
	Dptm,		/* pty master: arg its number, blob offset and length of the slave's termios and winsize */
	Dpts,		/* pty slave whose master the image holds: arg that master's number */
	Dinotify,	/* arg blob offset and count of Inotify, in wd order */
	Dunix,		/* unix datagram socket by name: arg blob offset and length of its address, of its peer's (0: none) */
};

typedef struct Ifd Ifd;
struct Ifd {
	int32_t	fd;
	uint32_t	kind;
	uint32_t	flags;		/* O_* as open(2) takes them, and FD_CLOEXEC as O_CLOEXEC */
	uint32_t	path;		/* blob offset or Nil */
	uint64_t	pos;
	uint64_t	arg[4];		/* by kind */
};

typedef struct Iwatch Iwatch;
struct Iwatch {			/* one fd an epoll set watches */
	int32_t	fd;
	uint32_t	events;
	uint64_t	data;
};

/* Ilock.kind: a lock a Dfile holds (arg[0] blob offset, arg[1] count of Ilock) */
enum {
	Lflock,		/* flock(2): the open file's */
	Lposix,		/* fcntl F_SETLK: the process's */
	Lofd,		/* fcntl F_OFD_SETLK: the open file's */
};

typedef struct Ilock Ilock;
struct Ilock {
	uint32_t	kind;
	uint32_t	write;	/* 1: exclusive, 0: shared */
	uint64_t	start;
	uint64_t	len;	/* 0: to the end of the file, however long */
};

typedef struct Inotify Inotify;
struct Inotify {		/* one inotify watch */
	int32_t	wd;
	uint32_t	mask;
	uint32_t	path;		/* blob offset: a name of the inode watched */
	uint32_t	pad;
};

typedef struct Ifile Ifile;
struct Ifile {
	uint32_t	path;
	uint32_t	pad;
	uint64_t	size;
	uint64_t	sum;		/* hash of the whole file */
};

/*
 * An image of a process tree holds one header and section set per
 * process; the root's (the one the trailer finds) also has Stree,
 * Sshare and Sshm.  A one-process image has a one-entry Stree.
 */
enum {
	Mlive,		/* a process: its header at hdroff */
	Mzombie,	/* dead, not yet waited for: status is its wait status */
};

typedef struct Imember Imember;
struct Imember {
	uint32_t	pid;		/* as they were */
	uint32_t	ppid;
	uint32_t	pgid;
	uint32_t	sid;
	uint32_t	parent;		/* Imember index, Nil for the root */
	uint32_t	state;		/* Mlive, Mzombie */
	int32_t	status;
	uint32_t	ctty;		/* 1 + number of its controlling pty, one of the image's; 0 none */
	uint64_t	hdroff;		/* its Ihdr (Mlive) */
	uint32_t	tpgid;		/* that terminal's foreground group */
	uint32_t	stopped;	/* 1: it was stopped (job control): it comes back stopped */
};

typedef struct Ishare Ishare;
struct Ishare {			/* one fd of one process */
	uint32_t	member;
	uint32_t	fd;		/* index in that process's Sfd */
	uint32_t	group;		/* entries of a group are one open file; the first is opened */
	uint32_t	pad;
};

typedef struct Ishm Ishm;
struct Ishm {			/* made once, filled from every Ivma whose file is its index */
	uint64_t	ino;
	uint64_t	size;
};

/*
 * The image hash: four 64-bit lanes over 32-byte blocks, folded.
 * Not cryptographic; it catches truncation, bit rot and editing.
 */
static inline uint64_t
ihash(const void *p, uint64_t n, uint64_t seed)
{
	const unsigned char *b = p;
	uint64_t h[4], w, k = 0x9e3779b97f4a7c15ULL;
	uint64_t i, j;

	h[0] = seed ^ n; h[1] = seed + k; h[2] = ~seed; h[3] = seed * k;
	for(i = 0; i + 32 <= n; i += 32)
		for(j = 0; j < 4; j++){
			__builtin_memcpy(&w, b+i+8*j, 8);
			h[j] = (h[j] ^ w) * 0xff51afd7ed558ccdULL;
			h[j] ^= h[j] >> 29;
		}
	for(; i < n; i++)
		h[i&3] = (h[i&3] ^ b[i]) * 0xc4ceb9fe1a85ec53ULL;
	w = h[0] ^ (h[1]<<1 | h[1]>>63) ^ (h[2]<<2 | h[2]>>62) ^ (h[3]<<3 | h[3]>>61);
	w ^= w >> 33; w *= 0xff51afd7ed558ccdULL; w ^= w >> 33;
	return w;
}

/*
 * The page hash, Irun.sum: ihash's step in eight lanes over 64-byte
 * blocks.  Twice the independent multiplies hide their latency, so it
 * runs half as fast again on general registers (the restorer has no
 * others).  Each step is a bijection of its lane and of its word, and
 * so is each step of the fold: a change within one word always changes
 * the sum; the length goes in too.  Streamed, so that a run is hashed
 * piece by piece as it is read, while the piece is in cache; every
 * piece is a multiple of 64 bytes.
 */
typedef struct Phash Phash;
struct Phash {
	uint64_t	h[8];
	uint64_t	n;
};

static inline void
phinit(Phash *s)
{
	int j;

	for(j = 0; j < 8; j++)
		s->h[j] = (j+1) * 0x9e3779b97f4a7c15ULL;
	s->n = 0;
}

static inline void
phadd(Phash *s, const void *p, uint64_t n)
{
	const unsigned char *b = p;
	uint64_t h[8], w, i;
	int j;

	/* the lanes in registers: stores to s could alias p */
	for(j = 0; j < 8; j++)
		h[j] = s->h[j];
	for(i = 0; i + 64 <= n; i += 64)
#pragma GCC unroll 8
		for(j = 0; j < 8; j++){
			__builtin_memcpy(&w, b+i+8*j, 8);
			h[j] = (h[j] ^ w) * 0xff51afd7ed558ccdULL;
			h[j] ^= h[j] >> 29;
		}
	for(j = 0; j < 8; j++)
		s->h[j] = h[j];
	s->n += n;
}

static inline uint64_t
phend(Phash *s)
{
	uint64_t w = s->n;
	int j;

	for(j = 0; j < 8; j++){
		w = (w ^ s->h[j]) * 0xff51afd7ed558ccdULL;
		w ^= w >> 29;
	}
	w ^= w >> 33; w *= 0xc4ceb9fe1a85ec53ULL; w ^= w >> 33;
	return w;
}

static inline uint64_t
phash(const void *p, uint64_t n)
{
	Phash s;

	phinit(&s);
	phadd(&s, p, n);
	return phend(&s);
}

/* the features a resumed process may depend on: refuse where one is missing */
typedef struct Icpufeat Icpufeat;
struct Icpufeat {
	char	name[16];
	uint8_t	word;	/* C1ecx ... */
	uint8_t	bit;
};
