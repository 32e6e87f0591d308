/*
 * autolevel: compression = zstd:auto, the zstd level that follows the
 * dump's speed.
 *
 * The pipeline reads the dump from a pipe.  Before each read it says how
 * full the pipe was: a pipe found (nearly) full at a quarter of the reads of
 * a window of input means the dump tool had been waiting for us,
 * compression was making the dump wait, and the level goes down one step; a
 * pipe found empty at three quarters of them (and never full) means we
 * waited for the dump, the zstd workers idled, and the level goes up one.  On a
 * machine whose cores the dump and the workers share, a higher level can
 * also slow the dump by taking its CPU while the pipe stays empty: a step up
 * after which the dump's rate fell by more than AUTOLEVEL_SLOWER is taken
 * back, and the level stays below it for a while.  That shared CPU is
 * also measured: a window in which the machine's processors had less than
 * AUTOLEVEL_IDLE_LOW of their time idle goes down a step whatever the pipe
 * says (the workers' cycles are the dump's), and a step up needs at least
 * AUTOLEVEL_IDLE_HIGH idle (where the system tells: cpustat.h).  The pipe
 * alone misses this: a dump slowed by a lack of CPU writes slowly, and the
 * pipe looks empty.  The workers take the new
 * level from their next job on (zstd's own mid-stream parameter update):
 * one zstd stream, which restore reads as any other.
 */
#ifndef KB_AUTOLEVEL_H
#define KB_AUTOLEVEL_H

#include <stddef.h>
#include <stdint.h>

#include "common/cpustat.h"

#define AUTOLEVEL_START		1
#define AUTOLEVEL_MIN		1
/*
 * Not higher: from level 7 on zstd's tables grow (4 MiB and more per worker,
 * against 0.75 MiB at level 3) for a few per cent of ratio, and the memory
 * bound of kbackup.conf(5) holds for up to this level.
 */
#define AUTOLEVEL_MAX		6
#define AUTOLEVEL_WINDOW	(32 * 1024 * 1024)	/* input bytes between decisions */
#define AUTOLEVEL_SLOWER	0.93	/* a step up that left the dump slower than this: back */
#define AUTOLEVEL_IDLE_LOW	0.10	/* less idle CPU than this: down */
#define AUTOLEVEL_IDLE_HIGH	0.25	/* a step up needs this much */

struct autolevel {
	int		 level;
	int		 ceiling;	/* not above this until ceiling_windows have passed */
	unsigned	 ceiling_windows;
	int		 stepped_up;	/* the last decision went up */
	double		 rate_before;	/* the dump's rate in the window before that step */
	uint64_t	 window;	/* bytes of this window */
	int64_t		 window_ms;	/* when it began */
	unsigned	 reads, full, empty;
	/* The processors' time: cpustat_sample, or the tests' own. */
	int		(*sample)(struct cpustat *);
	struct cpustat	 cpu_start;	/* at the window's first read */
	int		 cpu_known;	/* cpu_start was sampled */
	double		 idle;		/* the last window's idle share; -1 unknown */
	uint64_t	 bytes[AUTOLEVEL_MAX + 1];	/* input compressed at each level */
};

void	 autolevel_init(struct autolevel *, int64_t now_ms);
/*
 * One read of n bytes; avail: what the pipe held before it, of cap.
 * Returns the level for what follows.
 */
int	 autolevel_read(struct autolevel *, size_t avail, size_t cap, size_t n,
	    int64_t now_ms);
/* The lowest and highest level that compressed anything (both START if none did). */
void	 autolevel_range(const struct autolevel *, int *min, int *max);
/* "3: 120.0 MiB, 4: 300.5 MiB" into buf. */
void	 autolevel_describe(const struct autolevel *, char *buf, size_t len);

#endif
