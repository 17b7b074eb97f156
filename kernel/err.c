/*
 * Plan 9 style error strings.  The engine says what went wrong in
 * words; errnum maps the words to an errno for the file server.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "persist.h"

static __thread char errbuf[256];

/* first match wins: a string is matched anywhere in the error */
static const struct {
	const char	*s;
	int	eno;
} errtab[] = {
	{"process exited",		ESRCH},
	{"permission denied",		EACCES},
	{"in progress",			EBUSY},
	{"is traced by",		EBUSY},
	{"unknown control message",	EINVAL},
	{"wrong #args",			EINVAL},
	{"bad clone option",		EINVAL},
	{"bad name",			EINVAL},
	{"bad flag",			EINVAL},
	{"message too long",		EINVAL},
	{"empty control message",	EINVAL},
	{"unsupported",			EOPNOTSUPP},
	{"no space",			ENOSPC},
	{"file too large",		EFBIG},
	{"persistfs",			EDEADLK},	/* cannot freeze (stop, kill, clone) persistfs */
	{"no such file",		ENOENT},
	{"cannot stop",			EBUSY},
	{"image",			ENOEXEC},
	{"cpu lacks",			ENOEXEC},
	{"did not stop",		ETIMEDOUT},
	{"not frozen",			EINVAL},
	{"out of memory",		ENOMEM},
	{"try again",			EAGAIN},
};

char *
errstr(void)
{
	return errbuf;
}

void
werrstr(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof errbuf, fmt, ap);
	va_end(ap);
}

int
errnum(const char *err)
{
	size_t i;

	for(i = 0; i < sizeof errtab/sizeof errtab[0]; i++)
		if(strstr(err, errtab[i].s) != NULL)
			return errtab[i].eno;
	return EIO;
}
