/* cpu feature words as an image records them (used by engine and restorer) */

static inline void
cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
		: "a"(leaf), "c"(sub));
}

static inline void
readcpu(uint32_t *cpu, uint64_t *xcr0, uint32_t *xsize)
{
	uint32_t r[4], max, lo, hi;

	for(max = 0; max < Ncpu; max++)
		cpu[max] = 0;
	*xcr0 = 0;
	*xsize = 0;
	cpuid(0, 0, r);
	max = r[0];
	cpuid(1, 0, r);
	cpu[C1ecx] = r[2];
	cpu[C1edx] = r[3];
	if(max >= 7){
		cpuid(7, 0, r);
		cpu[C7ebx] = r[1];
		cpu[C7ecx] = r[2];
		cpu[C7edx] = r[3];
		if(r[0] >= 1){
			cpuid(7, 1, r);
			cpu[C71eax] = r[0];
		}
	}
	cpuid(0x80000000, 0, r);
	if(r[0] >= 0x80000001){
		cpuid(0x80000001, 0, r);
		cpu[C81ecx] = r[2];
		cpu[C81edx] = r[3];
	}
	if(cpu[C1ecx] & 1<<27){	/* osxsave */
		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		*xcr0 = (uint64_t)hi<<32 | lo;
		cpuid(0xd, 0, r);
		*xsize = r[1];
	}
}

