/*
 * persistfs: the file server.  Knows files, not processes: each
 * operation is a table lookup and at most one engine call.
 */
#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "persist.h"

#define nelem(a)	(sizeof(a)/sizeof((a)[0]))

/*
 * Inode numbers are computed, like qids.  Fixed nodes sit below 256;
 * a process's directory is pid<<8 and its files pid<<8|Qfile; run/
 * entries count up from Qrunbase, far above any pid<<8.  A saved/
 * entry is Qsavedbase|n<<8, its files that |Qsfile, where n is the
 * entry name's place in a table kept in memory: stable while the
 * server runs, new after a restart (entries are read from disk).
 */
enum {
	Qroot	= FUSE_ROOT_ID,
	Qrun,
	Qsaved,

	Qdir	= 0,	/* file index of /<pid> itself */
	Qctl,
	Qstatus,
	Qimage,
	Qerr,
	Qstats,
	Qclones,

	Qsdir	= 0,	/* file index of saved/<name> itself */
	Qsimage,
	Qsstatus,
	Qscmdline,
	Qsmaps,
	Qsfds,
	Qswhen,
};

#define Qrunbase	(1ULL<<40)
#define QPATH(pid, f)	(((uint64_t)(pid)<<8) | (f))
#define QPID(q)		((pid_t)((q)>>8))
#define QFILE(q)	((int)((q)&0xff))
#define Qsavedbase	(1ULL<<48)
#define ISSAVED(q)	((q) >= Qsavedbase)
#define ISRUN(q)	((q) >= Qrunbase && !ISSAVED(q))
#define ISPROC(q)	((q) >= 256 && (q) < Qrunbase)

/* errors raised by the file server itself */
#define Ebadctl		"unknown control message"
#define Ebadarg		"wrong #args"
#define Eempty		"empty control message"
#define Etoolong	"message too long"
#define Ebadname	"bad name"
#define Ebadflag	"bad flag"
#define Eperm		"permission denied"
#define Ebusy		"freeze in progress"
#define Ebadclone	"bad clone option"

enum {
	Maxmsg	= 1024,		/* longest ctl message */
	Errlen	= 256,
	Clonelen	= 1024,	/* pids of copies kept for clones, newest last */
};

typedef struct Dent Dent;
struct Dent {
	char	*name;
	uint64_t	ino;
	mode_t	mode;
};

/* one open file or directory: fuse_file_info.fh points at it */
typedef struct Fid Fid;
struct Fid {
	uint64_t	ino;
	int	fd;		/* image or run/ backing file to read, or -1 */
	int	wfd;		/* run/ backing file to write, or -1 */
	int	wrote;		/* run/: resume on flush */
	char	*buf;		/* text snapshot */
	size_t	len;
	Dent	*dent;		/* directory snapshot */
	int	ndent;
};

/* per-process state, keyed by pid and start time */
typedef struct Proc Proc;
struct Proc {
	pid_t	pid;
	uint64_t	start;
	char	saved[NAME_MAX+1];	/* entry of the last freeze or snap, or "" */
	int	busy;
	char	err[Errlen];
	Pstats	stats;
	char	clones[Clonelen];
	struct timespec	mtime;	/* of the last operation */
	Proc	*next;
};

/* main.c */
extern pthread_mutex_t	fslock;	/* all of the server's state; engine calls run without it */
extern char	*mntpt;
extern char	*store;
extern int	debug;
void	trace(fuse_req_t, const char *, ...) __attribute__((format(printf, 2, 3)));
struct timespec	proctime(uint64_t);

/* tree.c */
extern const struct fuse_lowlevel_ops	fsops;
Fid	*fidalloc(uint64_t);
int	dentadd(Fid *, const char *, uint64_t, mode_t);
void	mkentry(struct fuse_entry_param *, struct stat *, uint64_t);

/* proc.c */
Proc	*procget(Pinfo *, int);
void	procgc(void);
int	procadopt(void);
int	imagepath(Proc *, char *, size_t);
void	procsaved(Proc *, const char *);
void	procrename(const char *, const char *);
int	storepath(char *, size_t, const char *, const char *);
DIR	*storeopen(const char *);
int	procstatus(Pinfo *, Proc *, char *, size_t);
int	procerr(Pinfo *, Proc *, char *, size_t);
int	procstats(Pinfo *, Proc *, char *, size_t);
int	procclones(Pinfo *, Proc *, char *, size_t);
void	procaddclone(Proc *, pid_t);

/* ctl.c */
void	ctlwrite(fuse_req_t, pid_t, const char *, size_t);
int	badname(const char *);

/* saved.c */
int	savedinit(void);
int	savedpath(char *, size_t, const char *, const char *);
int	savedfreeze(Pinfo *, Proc *, const char *, Pfreeze *);
int	savedlookup(uint64_t, const char *, struct stat *);
int	savedstat(uint64_t, struct stat *);
int	savedlist(Fid *);
int	savedopen(Fid *, int);
int	savedunlink(fuse_req_t, uint64_t, const char *);
int	savedrmdir(fuse_req_t, uint64_t, const char *);
int	savedrename(fuse_req_t, uint64_t, const char *, uint64_t, const char *, unsigned);

/* run.c */
int	runlookup(const char *, struct stat *);
int	runstat(uint64_t, struct stat *);
int	runlist(Fid *);
void	runcreate(fuse_req_t, const char *, struct fuse_file_info *);
int	runopen(fuse_req_t, Fid *, int);
void	runread(fuse_req_t, Fid *, size_t, off_t);
void	runwrite(fuse_req_t, Fid *, const char *, size_t, off_t);
int	runtrunc(uint64_t, off_t);
void	runflush(fuse_req_t, Fid *);
int	runremove(const char *);
int	runinit(void);
