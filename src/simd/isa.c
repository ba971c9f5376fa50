/*-------------------------------------------------------------------------
 *
 * isa.c
 *	  CPU feature detection (cpuid, XGETBV) and the choice of SIMD level.
 *
 * NOTES
 *	  The probe runs once (on first use) and is cached.  A feature bit alone
 *	  is not enough: the OS must also save the wide registers across
 *	  context switches, which XCR0 confirms.  Code compiled with an ISA's
 *	  flags (*_avx2.c, *_avx512.c) must only run after the matching
 *	  rv_cpu_has_*() said yes; rv_simd_level never exceeds what they say.
 *
 *	  No PostgreSQL headers: linked into the Check unit tests and
 *	  bench/bench_kernels as well as into ruvector.so.
 *
 * IDENTIFICATION
 *	  src/simd/isa.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "simd/isa.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define RV_X86 1
#endif

RvSimdLevel rv_simd_level = RV_SIMD_SCALAR;

/* ------------------------------------------------------------------------
 * CPU feature detection
 * ------------------------------------------------------------------------
 */

#ifdef RV_X86

/* cpuid leaf 1, ECX */
#define RV_CPUID1_FMA		(1u << 12)
#define RV_CPUID1_POPCNT	(1u << 23)
#define RV_CPUID1_OSXSAVE	(1u << 27)
#define RV_CPUID1_AVX		(1u << 28)
#define RV_CPUID1_F16C		(1u << 29)
/* cpuid leaf 7 subleaf 0, EBX and ECX */
#define RV_CPUID7B_AVX2		(1u << 5)
#define RV_CPUID7B_AVX512F	(1u << 16)
#define RV_CPUID7B_AVX512DQ (1u << 17)
#define RV_CPUID7B_AVX512BW (1u << 30)
#define RV_CPUID7B_AVX512VL (1u << 31)
#define RV_CPUID7C_VPOPCNTDQ (1u << 14)
/* XCR0: which register state the OS saves on a context switch */
#define RV_XCR0_YMM			0x06u	/* SSE + AVX upper halves */
#define RV_XCR0_ZMM			0xE6u	/* the above + opmask, ZMM0-15 upper, ZMM16-31 */

/*
 * Read XCR0.  Only valid once cpuid reported OSXSAVE; the instruction is
 * emitted by hand so this file needs no -mxsave.
 */
static uint64_t
read_xcr0(void)
{
	uint32_t	lo;
	uint32_t	hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t) hi << 32) | lo;
}

/*
 * Probe the CPU once: bit 0 = AVX2 set usable, bit 1 = AVX-512 set usable.
 * A feature bit alone is not enough: if the OS does not save YMM/ZMM state,
 * using those registers would corrupt them across context switches (or
 * fault), so XCR0 must confirm it.
 */
static int
probe_cpu(void)
{
	unsigned int eax,
				ebx,
				ecx,
				edx;
	unsigned int ecx1;
	uint64_t	xcr0;
	int			result = 0;
	const unsigned int need1 = RV_CPUID1_AVX | RV_CPUID1_FMA | RV_CPUID1_F16C |
		RV_CPUID1_POPCNT;

	if (!__get_cpuid(1, &eax, &ebx, &ecx1, &edx))
		return 0;
	if ((ecx1 & RV_CPUID1_OSXSAVE) == 0)
		return 0;
	if (__get_cpuid_max(0, NULL) < 7)
		return 0;
	__cpuid_count(7, 0, eax, ebx, ecx, edx);
	xcr0 = read_xcr0();

	/* -mavx2 code may use POPCNT too; every AVX2 CPU has it, but check */
	if ((ecx1 & need1) == need1 &&
		(ebx & RV_CPUID7B_AVX2) &&
		(xcr0 & RV_XCR0_YMM) == RV_XCR0_YMM)
	{
		const unsigned int need = RV_CPUID7B_AVX512F | RV_CPUID7B_AVX512DQ |
			RV_CPUID7B_AVX512BW | RV_CPUID7B_AVX512VL;

		result |= 1;
		/* the AVX-512 kernels also use FMA and F16C, checked just above */
		if ((ebx & need) == need &&
			(ecx & RV_CPUID7C_VPOPCNTDQ) &&
			(xcr0 & RV_XCR0_ZMM) == RV_XCR0_ZMM)
			result |= 2;
	}
	return result;
}

#else

static int
probe_cpu(void)
{
	return 0;
}

#endif							/* RV_X86 */

/*
 * Cached probe result; -1 until first asked.  Racing first calls from two
 * threads compute the same value, so no lock is needed.
 */
static int	cpu_features = -1;

static int
cpu_get_features(void)
{
	if (cpu_features < 0)
		cpu_features = probe_cpu();
	return cpu_features;
}

int
rv_cpu_has_avx2(void)
{
	return (cpu_get_features() & 1) != 0;
}

int
rv_cpu_has_avx512(void)
{
	return (cpu_get_features() & 2) != 0;
}

/*
 * The best supported level, unless RV_KERNELS asks for a lower one.
 */
RvSimdLevel
rv_simd_choose(void)
{
	const char *want = getenv("RV_KERNELS");
	RvSimdLevel ceiling = RV_SIMD_AVX512;

	if (want != NULL)
	{
		if (strcmp(want, "scalar") == 0)
			ceiling = RV_SIMD_SCALAR;
		else if (strcmp(want, "avx2") == 0)
			ceiling = RV_SIMD_AVX2;
	}

	if (ceiling >= RV_SIMD_AVX512 && rv_cpu_has_avx512())
		return RV_SIMD_AVX512;
	if (ceiling >= RV_SIMD_AVX2 && rv_cpu_has_avx2())
		return RV_SIMD_AVX2;
	return RV_SIMD_SCALAR;
}
