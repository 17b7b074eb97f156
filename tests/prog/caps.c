/*
 * caps: gives up some capabilities (bounding set, effective, permitted,
 * inheritable, ambient) and sets pdeathsig, keepcaps, timer slack and
 * THP-disable, then prints "tick N" each 100 ms, checking each time
 * that all of it is as it made it: "FAIL: why" if not.  Run as root;
 * a resumed copy run by root would have every capability again unless
 * the image gives them up.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>

static uint64_t
status(const char *key)
{
	char line[256];
	size_t k = strlen(key);
	uint64_t v = ~0ULL;
	FILE *f;

	f = fopen("/proc/self/status", "r");
	while(f != NULL && fgets(line, sizeof line, f) != NULL)
		if(strncmp(line, key, k) == 0 && line[k] == ':')
			v = strtoull(line + k + 1, NULL, 16);
	if(f != NULL)
		fclose(f);
	return v;
}

int
main(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	uint64_t eff, prm, inh, bnd, amb;
	int sig;
	long n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if(prctl(PR_CAPBSET_DROP, CAP_NET_RAW) < 0 || syscall(SYS_capget, &h, d) < 0){
		printf("FAIL: cannot drop capabilities: run as root\n");
		return 1;
	}
	/* inheritable: CAP_KILL and CAP_CHOWN; permitted and effective: less CAP_SYS_ADMIN, CAP_NET_ADMIN */
	d[0].inheritable = 1 << CAP_KILL | 1 << CAP_CHOWN;
	d[0].effective &= ~(1 << CAP_SYS_ADMIN | 1 << CAP_NET_ADMIN);
	d[0].permitted &= ~(1 << CAP_SYS_ADMIN | 1 << CAP_NET_ADMIN);
	if(syscall(SYS_capset, &h, d) < 0 ||
	   prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0) < 0 ||
	   prctl(PR_SET_PDEATHSIG, SIGUSR2) < 0 || prctl(PR_SET_KEEPCAPS, 1) < 0 ||
	   prctl(PR_SET_TIMERSLACK, 123457) < 0 || prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0){
		printf("FAIL: cannot set up\n");
		return 1;
	}
	eff = status("CapEff");
	prm = status("CapPrm");
	inh = status("CapInh");
	bnd = status("CapBnd");
	amb = status("CapAmb");
	for(n = 0; ; n++){
		if(status("CapEff") != eff || status("CapPrm") != prm || status("CapInh") != inh ||
		   status("CapBnd") != bnd || status("CapAmb") != amb)
			printf("FAIL: capabilities eff %llx prm %llx inh %llx bnd %llx amb %llx\n",
				(unsigned long long)status("CapEff"), (unsigned long long)status("CapPrm"),
				(unsigned long long)status("CapInh"), (unsigned long long)status("CapBnd"),
				(unsigned long long)status("CapAmb"));
		if(prctl(PR_GET_PDEATHSIG, &sig) < 0 || sig != SIGUSR2)
			printf("FAIL: pdeathsig %d\n", sig);
		if(prctl(PR_GET_KEEPCAPS) != 1 || prctl(PR_GET_TIMERSLACK) != 123457 ||
		   prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) != 1)
			printf("FAIL: keepcaps %d timerslack %d thp-disable %d\n", prctl(PR_GET_KEEPCAPS),
				prctl(PR_GET_TIMERSLACK), prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
		printf("tick %ld\n", n);
		usleep(100000);
	}
}
