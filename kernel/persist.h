/*
 * libpersist: the engine.  Knows processes, not files.
 * Every call returns 0 (or a pid) on success and -1 on error; the
 * error is then a short Plan 9 style string from errstr(), and
 * errnum() maps it to an errno (the one table of them is in err.c).
 */
#include <stdint.h>
#include <sys/types.h>

enum {
	Fsnap	= 1<<0,	/* leave the process running after the image is made */
	Flean	= 1<<1,	/* record identity of mapped files instead of their contents */
	Fsingle	= 1<<2,	/* the process alone, not its descendants */
	Flazy	= 1<<3,	/* resume maps the image's pages instead of copying them */
	Fcopy	= 1<<4,	/* snap: memory from a forked copy, not read ahead while the process runs */
};

typedef struct Pstats Pstats;
struct Pstats {
	int	procs;		/* processes: the one named and its descendants */
	int	threads;
	int	vmas;
	int	fds;
	char	fdkinds[128];	/* saved fds by kind: "file 2 tty 1 pipe 2" */
	uint64_t	pagestotal;	/* pages to consider */
	uint64_t	pagesdone;	/* pages scanned so far */
	uint64_t	pageswritten;	/* non-zero pages written */
	uint64_t	pageszero;	/* present but all-zero pages skipped */
	uint64_t	imagesize;
	uint64_t	rss;		/* resident bytes of the target */
	double	stopms;		/* seize and stop every thread */
	double	stoppedms;	/* how long the target was held stopped */
	double	reapms;		/* snap: the second stop, to reap the copy */
	int	fromcopy;	/* snap: memory was read from a copy */
	uint64_t	pagesahead;	/* snap: pages read before the stop, while the process ran */
	uint64_t	pagesagain;	/* snap: pages written during that and read again, still before the stop */
	double	memms;		/* read memory */
	double	writems;	/* write image */
	double	syncms;		/* fsync + rename */
	double	totalms;
};

typedef struct Pfreeze Pfreeze;
struct Pfreeze {
	int	flags;		/* Fsnap, Flean */
	const char	*skipdir;	/* fds open below this path restore as /dev/null */
	pid_t	writer;		/* thread id that asked for the freeze (fuse_req_ctx), or 0 */
	/*
	 * When writer is one of the target's threads, it is blocked in our
	 * write(2) and cannot stop until it is answered: the engine seizes
	 * and interrupts the target, then calls release (which replies), and
	 * only then waits for the stop.  The process is captured just as the
	 * write returns.
	 */
	void	(*release)(void *arg);
	void	*arg;
	Pstats	*stats;		/* may be nil; updated as the freeze goes */
};

typedef struct Pcred Pcred;
struct Pcred {
	uid_t	uid;
	gid_t	gid;
	int	ngroups;
	gid_t	groups[64];
	int	oldpid;		/* root asked: the image may have the pid it had (if free) */
};

typedef struct Pinfo Pinfo;
struct Pinfo {
	pid_t	pid;
	uid_t	uid;
	gid_t	gid;
	char	name[64];	/* comm */
	char	state[16];	/* Running, Sleeping, Stopped, Traced, Zombie, ... */
	uint64_t	start;	/* start time in clock ticks, tells pid reuse apart */
};

/* freeze.c: make an image of pid at path (written as path.tmp, fsync, rename).
 * Without Fsnap the process is left stopped (SIGSTOP, not traced). */
int	pfreeze(pid_t pid, const char *path, Pfreeze *opt);

/* describe.c: write cmdline, maps and fds of pid as files in dir */
int	pdescribe(pid_t pid, const char *dir);

/* ctl.c: plain process control */
int	pthaw(pid_t pid);	/* continue a frozen or stopped process (ctl thaw and start) */
int	pkill(pid_t pid);	/* SIGKILL; continue it first so it dies at once */
int	pstop(pid_t pid);	/* SIGSTOP, no image */
int	pinfo(pid_t pid, Pinfo *info);	/* from /proc; -1 "process exited" */

/* resume.c: check an image without running it */
int	pcheck(const char *path);
/* fork, become cred (nil: stay as we are, root), exec the image; returns
 * the new pid once the restorer says the process is back, or -1 and its
 * error.  With cred nil or cred->oldpid, the process gets the pid it had
 * if that is free: choosing a pid is root's to ask for, never a user's. */
pid_t	presume(const char *path, const Pcred *cred);
/* the owner recorded in an image */
int	pimageuid(const char *path, uid_t *uid, gid_t *gid);

/* err.c */
char	*errstr(void);
void	werrstr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int	errnum(const char *err);	/* errno for an error string (prefix match) */

typedef struct Pclone Pclone;
struct Pclone {
	const char	*stdio[3];	/* nil: share the target's; else a path the copy opens */
	int	waitms;		/* how long to wait for a system call; 0: default */
	pid_t	writer;		/* as in Pfreeze */
	void	(*release)(void *arg);
	void	*arg;
	double	ms;		/* out: how long the target was held */
};

/* clone.c: a detached copy of pid, made at its next system call; returns its pid */
pid_t	pclone(pid_t pid, Pclone *opt);
