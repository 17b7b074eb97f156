/*
 * sleeper nanosleep FILE: write 0, 1, 2 ... to FILE, one a second, each
 * wait a single nanosleep call, so a freeze almost surely lands inside it.
 *
 * sleeper pipe FILE [FIFO]: read lines from FIFO (opened O_RDWR, so it
 * never sees end of file) or from stdin, and write "got: LINE" to FILE.
 * Before each read it writes "waiting N".  A freeze lands in read(2);
 * the resumed copy must receive a line written later.  Resuming the FIFO
 * case depends on the engine reopening a FIFO by path.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void
say(int fd, const char *fmt, ...)
{
	char buf[4200];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if(n >= (int)sizeof buf)
		n = sizeof buf - 1;
	if(write(fd, buf, n) != n){
		perror("write");
		_exit(1);
	}
}

static void
sleeper(int out)
{
	struct timespec ts;
	long n;

	for(n = 0;; n++){
		say(out, "%ld\n", n);
		ts.tv_sec = 1;
		ts.tv_nsec = 0;
		nanosleep(&ts, NULL);
	}
}

static int
echoer(int out, int in)
{
	char line[4096], c;
	ssize_t r;
	long n;
	int i;

	for(n = 0;; n++){
		say(out, "waiting %ld\n", n);
		/* a byte at a time: nothing read ahead hides in a buffer */
		for(i = 0; i < (int)sizeof line - 1; i++){
			if((r = read(in, &c, 1)) < 0){
				perror("read");
				return 1;
			}
			if(r == 0)
				return 0;
			if(c == '\n')
				break;
			line[i] = c;
		}
		line[i] = 0;
		say(out, "got: %s\n", line);
	}
}

int
main(int argc, char **argv)
{
	int out, in;

	if(argc < 3 || argc > 4 || (strcmp(argv[1], "nanosleep") != 0 &&
	    strcmp(argv[1], "pipe") != 0)){
		fprintf(stderr, "usage: sleeper nanosleep|pipe file [fifo]\n");
		return 2;
	}
	if((out = open(argv[2], O_WRONLY|O_CREAT|O_TRUNC, 0644)) < 0){
		perror(argv[2]);
		return 1;
	}
	if(strcmp(argv[1], "nanosleep") == 0)
		sleeper(out);
	in = 0;
	if(argc == 4 && (in = open(argv[3], O_RDWR)) < 0){
		perror(argv[3]);
		return 1;
	}
	return echoer(out, in);
}
