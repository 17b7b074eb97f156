/* plain process control and what status shows */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine.h"

static int
sig(pid_t pid, int s)
{
	if(kill(pid, s) < 0){
		werrstr(errno == ESRCH ? "process exited" : "permission denied");
		return -1;
	}
	return 0;
}

/* s to pid's descendants, each found before it is signalled */
static void
sigkids(pid_t pid, int s, int depth)
{
	pid_t k[Nmember];
	int i, n;

	if(depth > Nmember)
		return;
	n = childpids(pid, k, Nmember);
	for(i = 0; i < n; i++){
		sigkids(k[i], s, depth + 1);
		kill(k[i], s);
	}
}

/* the process and the tree below it, as freeze takes it */
static int
sigtree(pid_t pid, int s)
{
	if(kill(pid, 0) < 0)
		return sig(pid, s);
	sigkids(pid, s, 0);
	return sig(pid, s);
}

int
pthaw(pid_t pid)
{
	return sigtree(pid, SIGCONT);
}

int
pkill(pid_t pid)
{
	return sigtree(pid, SIGKILL);
}

int
pstop(pid_t pid)
{
	return sigtree(pid, SIGSTOP);
}

/* /proc/pid/stat state letters, as status says them */
static const struct {
	char	c;
	char	name[12];
} states[] = {
	{'R', "Running"}, {'S', "Sleeping"}, {'D', "Disk"}, {'T', "Stopped"},
	{'t', "Traced"}, {'Z', "Zombie"}, {'X', "Dead"}, {'I', "Idle"}, {'P', "Parked"},
};

int
pinfo(pid_t pid, Pinfo *in)
{
	char path[64], buf[64], *s, *p, *q;
	uint64_t f[19];
	size_t i;

	memset(in, 0, sizeof *in);
	in->pid = pid;
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	s = readfile(path, NULL);
	if(s == NULL)
		goto gone;
	p = strchr(s, '(');
	q = strrchr(s, ')');
	if(p == NULL || q == NULL || q[1] == 0){
		free(s);
		goto gone;
	}
	snprintf(in->name, sizeof in->name, "%.*s", (int)(q - p - 1), p + 1);
	snprintf(in->state, sizeof in->state, "%c", q[2]);
	for(i = 0; i < sizeof states/sizeof states[0]; i++)
		if(states[i].c == q[2])
			snprintf(in->state, sizeof in->state, "%s", states[i].name);
	free(s);
	if(statfields(pid, f, 19) < 0)
		goto gone;
	in->start = f[18];	/* field 22, starttime */
	if(statusline(pid, "Uid", buf, sizeof buf) < 0)
		goto gone;
	in->uid = strtoul(buf, NULL, 10);
	if(statusline(pid, "Gid", buf, sizeof buf) < 0)
		goto gone;
	in->gid = strtoul(buf, NULL, 10);
	return 0;
gone:
	werrstr("process exited");
	return -1;
}
