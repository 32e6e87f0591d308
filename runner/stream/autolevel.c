/*
 * autolevel: the zstd level of compression = zstd:auto.  See autolevel.h.
 */
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "runner/stream/autolevel.h"

#define CEILING_WINDOWS	8	/* how long a step up that slowed the dump is not tried again */

void
autolevel_init(struct autolevel *a, int64_t now_ms)
{
	memset(a, 0, sizeof(*a));
	a->level = AUTOLEVEL_START;
	a->ceiling = AUTOLEVEL_MAX;
	a->window_ms = now_ms;
	a->sample = cpustat_sample;
	a->idle = -1;
}

/* The idle share of the processors' time over this window; -1 if unknown. */
static double
window_idle(struct autolevel *a)
{
	struct cpustat	now;

	if (!a->cpu_known || a->sample(&now) == -1)
		return -1;
	return cpustat_idle(&a->cpu_start, &now);
}

/* The end of a window: the level for the next one. */
static void
decide(struct autolevel *a, int64_t now_ms)
{
	double	rate, idle, secs = (double)(now_ms - a->window_ms) / 1000.0;

	a->idle = idle = window_idle(a);
	rate = (double)a->window / (secs > 0.001 ? secs : 0.001);
	if (a->ceiling_windows > 0 && --a->ceiling_windows == 0)
		a->ceiling = AUTOLEVEL_MAX;
	if (a->stepped_up && rate < a->rate_before * AUTOLEVEL_SLOWER) {
		a->ceiling = a->level - 1;
		a->ceiling_windows = CEILING_WINDOWS;
		a->level--;
		a->stepped_up = 0;
	} else if ((a->full * 4 > a->reads || (idle >= 0 && idle < AUTOLEVEL_IDLE_LOW)) &&
	    a->level > AUTOLEVEL_MIN) {
		a->level--;
		a->stepped_up = 0;
	} else if (a->full == 0 && a->empty * 4 > a->reads * 3 &&
	    (idle < 0 || idle >= AUTOLEVEL_IDLE_HIGH) && a->level < a->ceiling) {
		a->rate_before = rate;
		a->level++;
		a->stepped_up = 1;
	} else
		a->stepped_up = 0;
	a->window = 0;
	a->window_ms = now_ms;
	a->reads = a->full = a->empty = 0;
}

int
autolevel_read(struct autolevel *a, size_t avail, size_t cap, size_t n, int64_t now_ms)
{
	if (a->window == 0)
		a->cpu_known = a->sample(&a->cpu_start) == 0;
	a->bytes[a->level] += n;
	a->window += n;
	a->reads++;
	if (avail == 0)
		a->empty++;
	else if (avail >= cap - cap / 4)
		a->full++;
	if (a->window >= AUTOLEVEL_WINDOW)
		decide(a, now_ms);
	return a->level;
}

void
autolevel_range(const struct autolevel *a, int *min, int *max)
{
	int	l;

	*min = *max = 0;
	for (l = AUTOLEVEL_MIN; l <= AUTOLEVEL_MAX; l++)
		if (a->bytes[l] > 0) {
			if (*min == 0)
				*min = l;
			*max = l;
		}
	if (*min == 0)
		*min = *max = AUTOLEVEL_START;
}

void
autolevel_describe(const struct autolevel *a, char *buf, size_t len)
{
	char	size[16], one[40];
	int	l;

	buf[0] = '\0';
	for (l = AUTOLEVEL_MIN; l <= AUTOLEVEL_MAX; l++) {
		if (a->bytes[l] == 0)
			continue;
		format_bytes(a->bytes[l], size);
		snprintf(one, sizeof(one), "%s%d: %s", buf[0] != '\0' ? ", " : "", l, size);
		strlcat(buf, one, len);
	}
	if (buf[0] == '\0')
		strlcpy(buf, "none", len);
}
