/*
 * cpustat: how busy the machine's processors are, from /proc/stat (Linux).
 *
 * zstd:auto (runner/stream/autolevel) asks between two samples what share
 * of the processors' time was idle: none means the compression workers and
 * the dump tool share the cores, and every cycle the workers take at a
 * higher level is one the dump does not get.
 */
#ifndef KB_CPUSTAT_H
#define KB_CPUSTAT_H

#include <stdint.h>

struct cpustat {
	uint64_t	idle;	/* idle and iowait, in clock ticks since boot */
	uint64_t	total;	/* all of the line's fields but guest time (counted in user) */
};

/* 0 and a sample of all processors; -1 where the system does not tell (no /proc/stat). */
int	 cpustat_sample(struct cpustat *);
/* The idle share, 0 to 1, between two samples; -1 if no time passed between them. */
double	 cpustat_idle(const struct cpustat *before, const struct cpustat *after);

#endif
