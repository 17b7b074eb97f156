/* string and i/o helpers for the freestanding restorer */
#include "sys.h"

void *
memcpy(void *d, const void *s, size_t n)
{
	void *r = d;

	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	return r;
}

void *
memset(void *d, int c, size_t n)
{
	void *r = d;

	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return r;
}

int
memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;

	for(; n > 0; n--, p++, q++)
		if(*p != *q)
			return *p - *q;
	return 0;
}

size_t
strlen(const char *s)
{
	size_t n;

	for(n = 0; s[n] != 0; n++)
		;
	return n;
}

int
strncmp(const char *a, const char *b, size_t n)
{
	for(; n > 0; n--, a++, b++)
		if(*a != *b || *a == 0)
			return (unsigned char)*a - (unsigned char)*b;
	return 0;
}

long
preadall(int fd, void *buf, size_t n, long off)
{
	char *p = buf;
	long r;
	size_t done = 0;

	while(done < n){
		r = sys4(SYS_pread64, fd, p + done, n - done, off + done);
		if(r == -EINTR)
			continue;
		if(r < 0)
			return r;
		if(r == 0)
			break;
		done += r;
	}
	return done;
}

int
writestr(int fd, const char *s)
{
	return sys3(SYS_write, fd, s, strlen(s));
}

char *
seprint(char *p, char *e, const char *s)
{
	while(p < e - 1 && *s)
		*p++ = *s++;
	*p = 0;
	return p;
}

char *
fmtnum(char *p, char *e, uint64_t v, int base)
{
	char t[24];
	int n = 0;

	do{
		t[n++] = "0123456789abcdef"[v % base];
		v /= base;
	}while(v != 0);
	while(n > 0 && p < e - 1)
		*p++ = t[--n];
	*p = 0;
	return p;
}

uint64_t
hexnum(const char **sp)
{
	const char *s = *sp;
	uint64_t v = 0;

	for(;; s++){
		if(*s >= '0' && *s <= '9')
			v = v*16 + *s - '0';
		else if(*s >= 'a' && *s <= 'f')
			v = v*16 + *s - 'a' + 10;
		else
			break;
	}
	*sp = s;
	return v;
}
