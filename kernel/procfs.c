/* reading /proc */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "engine.h"

/* the whole of a (small, /proc) file, NUL terminated; nil on error */
char *
readfile(const char *path, size_t *len)
{
	int fd;
	char *p, *q;
	size_t n = 0, cap = 4096;
	ssize_t r;

	fd = open(path, O_RDONLY|O_CLOEXEC);
	if(fd < 0)
		return NULL;
	p = malloc(cap);
	while(p != NULL){
		if(n + 1 >= cap){
			q = realloc(p, cap *= 2);
			if(q == NULL){
				free(p);
				p = NULL;
				break;
			}
			p = q;
		}
		r = read(fd, p + n, cap - n - 1);
		if(r < 0){
			free(p);
			p = NULL;
			break;
		}
		if(r == 0){
			p[n] = 0;
			break;
		}
		n += r;
	}
	close(fd);
	if(p != NULL && len != NULL)
		*len = n;
	return p;
}

/* fields of /proc/pid/stat from field 3 (state) on, numbers only: f[0] is field 4 */
int
statfields(pid_t pid, uint64_t *f, int nf)
{
	char path[64], *s, *p;
	int i;

	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	s = readfile(path, NULL);
	if(s == NULL)
		return -1;
	p = strrchr(s, ')');
	if(p == NULL || p[1] == 0){
		free(s);
		return -1;
	}
	p += 4;		/* ") S " */
	for(i = 0; i < nf; i++)
		f[i] = strtoull(p, &p, 10);
	free(s);
	return 0;
}

int
procstate(pid_t pid, char *state)
{
	char path[64], *s, *p;

	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	s = readfile(path, NULL);
	if(s == NULL)
		return -1;
	p = strrchr(s, ')');
	if(p == NULL || p[1] == 0 || p[2] == 0){
		free(s);
		return -1;
	}
	state[0] = p[2];
	state[1] = 0;
	free(s);
	return 0;
}

/* the value after "key:" in /proc/pid/status */
int
statusline(pid_t pid, const char *key, char *buf, size_t n)
{
	char path[64], *s, *p, *e;
	size_t k = strlen(key);

	snprintf(path, sizeof path, "/proc/%d/status", pid);
	s = readfile(path, NULL);
	if(s == NULL)
		return -1;
	for(p = s; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if(strncmp(p, key, k) == 0 && p[k] == ':'){
			p += k + 1;
			p += strspn(p, " \t");
			e = strchr(p, '\n');
			if(e == NULL)
				e = p + strlen(p);
			snprintf(buf, n, "%.*s", (int)(e - p), p);
			free(s);
			return 0;
		}
	free(s);
	return -1;
}

/* a number from /proc/pid/status, -1 if the process is gone */
static int
statusint(pid_t pid, const char *key)
{
	char buf[32];

	if(statusline(pid, key, buf, sizeof buf) < 0)
		return -1;
	return atoi(buf);
}

int
tracer(pid_t pid)
{
	return statusint(pid, "TracerPid");
}

int
nthreads(pid_t pid)
{
	return statusint(pid, "Threads");
}

/* /proc/pid/name, first line, into buf */
int
procstr(pid_t pid, const char *name, char *buf, size_t n)
{
	char path[64], *s;

	snprintf(path, sizeof path, "/proc/%d/%s", pid, name);
	s = readfile(path, NULL);
	if(s == NULL)
		return -1;
	s[strcspn(s, "\n")] = 0;
	snprintf(buf, n, "%s", s);
	free(s);
	return 0;
}

/* pid's children, from every thread's list: at most max of them */
int
childpids(pid_t pid, pid_t *k, int max)
{
	char path[320], *c, *p;
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(path, sizeof path, "/proc/%d/task", pid);
	d = opendir(path);
	if(d == NULL)
		return 0;
	while((de = readdir(d)) != NULL){
		if(de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%s/children", pid, de->d_name);
		c = readfile(path, NULL);
		for(p = c; c != NULL && n < max && (k[n] = strtol(p, &p, 10)) > 0; n++)
			;
		free(c);
	}
	closedir(d);
	return n;
}

/* 0 none, 1 strict, 2 filter */
int
seccompmode(pid_t tid)
{
	return statusint(tid, "Seccomp");
}

/* under seccomp a filter could kill the calls we inject: say so, refuse */
int
seccomped(pid_t pid)
{
	int mode;

	mode = statusint(pid, "Seccomp");
	if(mode <= 0)
		return 0;
	werrstr("unsupported: seccomp %s mode", mode == 1 ? "strict" : "filter");
	return 1;
}

/*
 * A process in namespaces of its own would resume in the runner's:
 * other pids, mounts, network, hostname.  Refused by name.
 */
int
foreignns(pid_t pid)
{
	static const char *ns[] = {"pid", "user", "mnt", "net", "ipc", "uts", "time"};
	char path[64], mine[64], its[64];
	ssize_t a, b;
	size_t i;

	for(i = 0; i < sizeof ns/sizeof ns[0]; i++){
		snprintf(path, sizeof path, "/proc/self/ns/%s", ns[i]);
		a = readlink(path, mine, sizeof mine);
		snprintf(path, sizeof path, "/proc/%d/ns/%s", pid, ns[i]);
		b = readlink(path, its, sizeof its);
		if(a > 0 && b > 0 && (a != b || memcmp(mine, its, a) != 0)){
			werrstr("unsupported: process %d is in a %s namespace of its own", pid, ns[i]);
			return 1;
		}
	}
	return 0;
}

/*
 * A process an image may hold: one set of ids (not a setuid program
 * between its real and effective user), and dumpable unless it is
 * root's (the kernel then owns its /proc entry by root and lets no one
 * of its user trace it: its image would hand its memory to that user).
 */
int
plainids(pid_t pid)
{
	static const char *ids[] = {"Uid", "Gid"};
	char buf[128], path[64];
	unsigned v[4];
	struct stat sb;
	size_t i;

	for(i = 0; i < sizeof ids/sizeof ids[0]; i++){
		if(statusline(pid, ids[i], buf, sizeof buf) < 0 ||
		   sscanf(buf, "%u %u %u %u", &v[0], &v[1], &v[2], &v[3]) != 4){
			werrstr("process exited");
			return 0;
		}
		if(v[1] != v[0] || v[2] != v[0] || v[3] != v[0]){
			werrstr("permission denied: process %d runs with more than one %s", pid, i == 0 ? "user" : "group");
			return 0;
		}
		if(i == 0){
			/* the entries in it, not the directory, follow dumpability */
			snprintf(path, sizeof path, "/proc/%d/mem", pid);
			if(stat(path, &sb) < 0){
				werrstr("process exited");
				return 0;
			}
			if(v[0] != 0 && sb.st_uid != v[0]){
				werrstr("permission denied: process %d is not dumpable", pid);
				return 0;
			}
		}
	}
	return 1;
}

/* a thread of pid that can be stopped: the main one, unless it ended before the others */
pid_t
livetid(pid_t pid)
{
	char path[64], buf[512], *p;
	struct dirent *de;
	pid_t tid = -1;
	DIR *d;

	snprintf(path, sizeof path, "/proc/%d/task", pid);
	d = opendir(path);
	while(d != NULL && (de = readdir(d)) != NULL){
		tid = atoi(de->d_name);
		if(tid > 0 && procstr(tid, "stat", buf, sizeof buf) == 0 &&
		   (p = strrchr(buf, ')')) != NULL && p[1] == ' ' && p[2] != 'Z')
			break;
		tid = -1;
	}
	if(d != NULL)
		closedir(d);
	return tid;
}

/* tid (if any) is a thread of pid */
int
threadof(pid_t pid, pid_t tid)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/%d/task/%d", pid, tid);
	return tid > 0 && access(path, F_OK) == 0;
}
