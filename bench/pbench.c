/*
 * pbench [-n runs] [MB[:TOUCHED] ...]: freeze, snap and resume times of
 * a process with an MB MiB heap (0: a small one), of which TOUCHED MiB
 * (default all) are written, each beside a peer measured in the same
 * run: gcore of the same process, writing the same number of bytes from
 * memory to a file with fsync (the bandwidth bound), and for the stops
 * of a snap, fork(2) of a process with as much memory touched; then
 * the snap pause of a process that writes as it runs.
 * Prints median (min-max) in ms and the ratio of medians.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "persist.h"

enum { Maxruns = 64 };

static char dir[] = "/var/tmp/pbenchXXXXXX";
static int runs = 7;

static double
ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int
cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

typedef struct Series Series;
struct Series {
	double	v[Maxruns];
	int	n;
};

static double
median(Series *s)
{
	qsort(s->v, s->n, sizeof s->v[0], cmpd);
	return s->v[s->n / 2];
}

static void
row(const char *what, Series *ours, const char *peer, Series *theirs)
{
	double a = median(ours), b = median(theirs);

	printf("%-22s %9.2f (%.2f-%.2f)  %-14s %9.2f (%.2f-%.2f)  ratio %.2f\n", what,
		a, ours->v[0], ours->v[ours->n-1], peer, b, theirs->v[0], theirs->v[theirs->n-1], a / b);
}

static void
die(const char *s)
{
	fprintf(stderr, "pbench: %s: %s\n", s, errstr()[0] ? errstr() : strerror(errno));
	exit(1);
}

/* pid frozen into img as flags say (snapped, with Fsnap), its stats in st */
static void
take(pid_t pid, const char *img, int flags, Pstats *st, const char *what)
{
	Pfreeze o;

	memset(&o, 0, sizeof o);
	o.stats = st;
	o.flags = flags;
	if(pfreeze(pid, img, &o) < 0)
		die(what);
}

static pid_t
spawn(char **argv)
{
	pid_t pid;
	int fd;

	pid = fork();
	if(pid == 0){
		fd = open("/dev/null", O_RDWR);
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		closefrom(3);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* the peer of a resume: fork+exec of the program, till it has touched its memory ("ready") */
static double
touchrun(char **argv)
{
	char buf[256];
	double t = ms();
	int p[2], n = 0;
	ssize_t r;
	pid_t pid;

	if(pipe(p) < 0)
		die("pipe");
	pid = fork();
	if(pid == 0){
		dup2(p[1], 1);
		closefrom(3);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while(n < (int)sizeof buf - 1 && (r = read(p[0], buf + n, sizeof buf - 1 - n)) > 0){
		n += r;
		buf[n] = 0;
		if(strstr(buf, "ready") != NULL)
			break;
	}
	t = ms() - t;
	close(p[0]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return t;
}

static double
gcore(pid_t pid)
{
	char core[256], spid[16];
	char *argv[] = {"/usr/bin/gcore", "-o", core, spid, NULL};
	double t;
	int st;

	snprintf(core, sizeof core, "%s/core", dir);
	snprintf(spid, sizeof spid, "%d", pid);
	t = ms();
	waitpid(spawn(argv), &st, 0);
	t = ms() - t;
	snprintf(core, sizeof core, "%s/core.%d", dir, pid);
	unlink(core);
	return t;
}

/* write n bytes of memory to a file and fsync: what any image writer pays */
static double
bound(size_t n)
{
	char path[256], *buf;
	double t;
	size_t off, k;
	int fd;

	buf = malloc(8<<20);
	memset(buf, 0x5a, 8<<20);
	snprintf(path, sizeof path, "%s/bound", dir);
	t = ms();
	fd = open(path, O_CREAT|O_TRUNC|O_WRONLY, 0600);
	for(off = 0; off < n; off += k){
		k = n - off < (8<<20) ? n - off : 8<<20;
		if(write(fd, buf, k) != (ssize_t)k)
			die("write");
	}
	fsync(fd);
	close(fd);
	t = ms() - t;
	unlink(path);
	free(buf);
	return t;
}

/* fork() of a process with mb MiB touched, as the target: this one */
static void
forks(int mb, Series *fk)
{
	char *heap;
	size_t n = (size_t)mb << 20;
	pid_t r;
	int i;
	double t;

	heap = n ? malloc(n) : NULL;
	if(heap != NULL)
		memset(heap, 1, n);
	for(i = 0; i < runs; i++){
		t = ms();
		r = fork();
		if(r == 0)
			_exit(0);
		fk->v[fk->n++] = ms() - t;
		waitpid(r, NULL, 0);
	}
	free(heap);
}

/* clone of the target beside fork() of a process of the same size */
static void
clonerow(pid_t pid, Series *fk)
{
	Series cl = {0};
	Pclone c;
	pid_t r;
	int i;
	double t;

	for(i = 0; i < runs; i++){
		memset(&c, 0, sizeof c);
		t = ms();
		r = pclone(pid, &c);
		if(r < 0)
			die("clone");
		cl.v[cl.n++] = ms() - t;
		kill(r, SIGKILL);
		waitpid(r, NULL, 0);
	}
	row("clone", &cl, "fork", fk);
}

/* until pid has mb MiB resident: its heap is filled */
static void
filled(pid_t pid, int mb)
{
	char path[64], line[128];
	long kb;
	int i;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", pid);
	for(i = 0; i < 600; i++){
		kb = 0;
		if((f = fopen(path, "r")) == NULL)
			die("target exited");
		while(fgets(line, sizeof line, f) != NULL)
			if(sscanf(line, "VmRSS: %ld", &kb) == 1)
				break;
		fclose(f);
		if(kb >= (long)mb << 10)
			break;
		usleep(50000);
	}
	usleep(200000);
}

static void
bench(int mb, int touched)
{
	char smb[16], stouched[16], img[256];
	char *argv[] = {"tests/prog/bigheap", smb, "100000", stouched, NULL};
	char *small[] = {"tests/prog/counter", NULL};
	Series fz = {0}, sn = {0}, pause = {0}, cpause = {0}, reap = {0}, gc = {0}, bd = {0}, rs = {0}, rl = {0}, fk = {0};
	Pstats st;
	pid_t pid, gpid, r;
	int i;

	snprintf(smb, sizeof smb, "%d", mb);
	snprintf(stouched, sizeof stouched, "%d", touched);
	snprintf(img, sizeof img, "%s/image", dir);
	pid = spawn(mb ? argv : small);
	/* gcore reads untouched pages too, and maps them: a twin of its own */
	gpid = spawn(mb ? argv : small);
	filled(pid, touched);
	filled(gpid, touched);
	for(i = 0; i < runs; i++){
		take(pid, img, Fsnap, &st, "snap");
		sn.v[sn.n++] = st.totalms;
		pause.v[pause.n++] = st.stoppedms;
		take(pid, img, Fsnap|Fcopy, &st, "snap -copy");
		cpause.v[cpause.n++] = st.stoppedms;
		reap.v[reap.n++] = st.reapms;
		take(pid, img, 0, &st, "freeze");
		fz.v[fz.n++] = st.totalms;
		pthaw(pid);
		gc.v[gc.n++] = gcore(gpid);
		bd.v[bd.n++] = bound(st.imagesize);
	}
	forks(touched, &fk);
	if(mb == 0)
		printf("\nsmall process");
	else if(touched < mb)
		printf("\nheap %d MiB, %d MiB of it touched", mb, touched);
	else
		printf("\nheap %d MiB", mb);
	printf(": rss %.1f MiB, image %.1f MiB (%.2f x rss)\n",
		st.rss / 1048576.0, st.imagesize / 1048576.0, (double)st.imagesize / (st.rss ? st.rss : 1));
	row("freeze", &fz, "gcore", &gc);
	row("snap", &sn, "gcore", &gc);
	row("freeze", &fz, "write+fsync", &bd);
	row("snap pause", &pause, "fork", &fk);
	row("snap -copy pause", &cpause, "fork", &fk);
	row("snap -copy reap pause", &reap, "fork", &fk);
	for(i = 0; i < runs; i++){
		double t = ms();

		r = presume(img, NULL);
		if(r < 0)
			die("resume");
		rs.v[i] = ms() - t;
		kill(r, SIGKILL);
		waitpid(r, NULL, 0);
	}
	rs.n = runs;
	/* an image that maps its memory rather than copying it in */
	take(pid, img, Flazy, &st, "freeze -lazy");
	pthaw(pid);
	for(i = 0; i < runs; i++){
		double t = ms();

		r = presume(img, NULL);
		if(r < 0)
			die("resume -lazy");
		rl.v[rl.n++] = ms() - t;
		kill(r, SIGKILL);
		waitpid(r, NULL, 0);
	}
	{
		Series ex = {0}, tx = {0};
		char *tr[] = {"/bin/true", NULL};

		for(i = 0; i < runs; i++){
			double t = ms();
			waitpid(spawn(tr), NULL, 0);
			ex.v[ex.n++] = ms() - t;
			if(mb > 0)
				tx.v[tx.n++] = touchrun(argv);
		}
		row("resume", &rs, "fork+exec", &ex);
		if(mb > 0)
			row("resume", &rs, "exec+touch", &tx);
		row("resume -lazy", &rl, "fork+exec", &ex);
		if(mb > 0)
			row("resume -lazy", &rl, "exec+touch", &tx);
	}
	clonerow(pid, &fk);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	kill(gpid, SIGKILL);
	waitpid(gpid, NULL, 0);
	unlink(img);
}

/*
 * The snap pause of a process that writes as it runs (scribble: 256
 * MiB, 16 random pages a millisecond): more than the stop would read is
 * written while its memory is read ahead, so it is read a second time
 * before the stop, else the pages come from a copy
 */
static void
writerrow(void)
{
	char *argv[] = {"tests/prog/scribble", "256", "16", "1000", NULL};
	Series pause = {0}, cpause = {0}, fk = {0};
	char img[256];
	int i, copies = 0;
	uint64_t again = 0;
	Pstats st;
	pid_t pid;

	snprintf(img, sizeof img, "%s/image", dir);
	pid = spawn(argv);
	filled(pid, 256);
	sleep(3);	/* its stack grown whole */
	for(i = 0; i < runs; i++){
		take(pid, img, Fsnap, &st, "snap");
		pause.v[pause.n++] = st.stoppedms;
		copies += st.fromcopy;
		again += st.pagesagain;
		take(pid, img, Fsnap|Fcopy, &st, "snap -copy");
		cpause.v[cpause.n++] = st.stoppedms;
	}
	forks(256, &fk);
	printf("\nwriter of 256 MiB, 16 pages a ms: %d of %d snaps by a copy, %.0f pages read again a snap\n",
		copies, runs, (double)again / runs);
	row("snap pause", &pause, "fork", &fk);
	row("snap -copy pause", &cpause, "fork", &fk);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unlink(img);
}

/*
 * The syscall rate of a target (getpid in a loop, counted in shared
 * memory) before any clone, while clones are made, and after: nothing
 * stays hooked, so before and after agree.
 */
static void
raterow(void)
{
	volatile uint64_t *cnt;
	double t, rate[3];
	pid_t pid, me, r;
	Pclone c;
	uint64_t n0;
	int i;

	cnt = mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0);
	pid = fork();
	if(pid == 0){
		closefrom(3);
		me = getpid();
		for(;;)
			if(syscall(SYS_getpid) == me)
				(*cnt)++;
	}
	usleep(100000);
	for(i = 0; i < 3; i++){
		n0 = *cnt;
		t = ms();
		while(ms() - t < 300)
			if(i == 1){
				memset(&c, 0, sizeof c);
				r = pclone(pid, &c);
				if(r > 0){
					kill(r, SIGKILL);
					waitpid(r, NULL, 0);
				}
			}else
				usleep(10000);
		rate[i] = (*cnt - n0) / (ms() - t) * 1e3;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	printf("\ntarget syscalls/s: before any clone %.0f, while cloning %.0f, after %.0f (after/before %.2f)\n",
		rate[0], rate[1], rate[2], rate[2] / rate[0]);
}

int
main(int argc, char **argv)
{
	char *s;
	int i = 1, mb;

	if(argc > 2 && strcmp(argv[1], "-n") == 0){
		runs = atoi(argv[2]);
		i = 3;
	}
	if(runs < 1 || runs > Maxruns){
		fprintf(stderr, "usage: pbench [-n runs] [MB[:TOUCHED] ...]\n");
		return 1;
	}
	if(mkdtemp(dir) == NULL)
		die("mkdtemp");
	printf("times in ms, median (min-max) of %d runs\n", runs);
	if(i == argc)
		bench(0, 0);
	for(; i < argc; i++){
		mb = atoi(argv[i]);
		s = strchr(argv[i], ':');
		bench(mb, s != NULL && atoi(s + 1) < mb ? atoi(s + 1) : mb);
	}
	writerrow();
	raterow();
	rmdir(dir);
	return 0;
}
