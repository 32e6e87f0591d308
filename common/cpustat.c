/*
 * cpustat: idle and total processor time from /proc/stat.  See cpustat.h.
 */
#include <inttypes.h>
#include <stdio.h>

#include "common/cpustat.h"

int
cpustat_sample(struct cpustat *s)
{
	FILE		*f;
	uint64_t	 v[8] = { 0 };
	int		 n, i;

	if ((f = fopen("/proc/stat", "re")) == NULL)
		return -1;
	/* cpu user nice system idle iowait irq softirq steal [guest guest_nice] */
	n = fscanf(f, "cpu %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
	    " %" SCNu64 " %" SCNu64 " %" SCNu64, &v[0], &v[1], &v[2], &v[3], &v[4],
	    &v[5], &v[6], &v[7]);
	fclose(f);
	if (n < 4)
		return -1;
	s->idle = v[3] + v[4];
	s->total = 0;
	for (i = 0; i < 8; i++)
		s->total += v[i];
	return 0;
}

double
cpustat_idle(const struct cpustat *before, const struct cpustat *after)
{
	uint64_t	total, idle;

	if (after->total <= before->total || after->idle < before->idle)
		return -1;
	total = after->total - before->total;
	idle = after->idle - before->idle;
	return idle >= total ? 1.0 : (double)idle / (double)total;
}
