/*
 * walseg: what kbackup reads in a WAL segment it archives or restores.
 *
 * Two things, both from the bytes alone, fed in any chunking:
 *
 *   identity  the first page's header says which segment this is: a WAL
 *             page magic, its own address (segment number x size), a
 *             timeline no later than the name's, the database system
 *             identifier, the segment and page sizes.  A file that fails
 *             is not the segment its name says (swapped, truncated at the
 *             start, another cluster's): refused.
 *   times     the commit, abort and restore-point records' timestamps (the
 *             times recovery_target_time is compared with): the last one,
 *             and how many.  The recoverable window of kbackup-format(5)
 *             ends at the last one the archive holds.  A record walk that
 *             meets something it does not expect stops there and says so
 *             (times_complete = 0): the times found so far are a lower
 *             bound, which only shortens the window.
 *
 * Only what recovery itself relies on is read: page headers (magic, info
 * flags, address, timeline, continuation length) and record headers (total
 * length, resource manager, info), as xlogreader.c reads them; WAL is in
 * the server's byte order, little-endian on every platform PostgreSQL
 * packages are built for.  Record CRCs are PostgreSQL's to check at replay.
 */
#ifndef KB_WALSEG_H
#define KB_WALSEG_H

#include <stddef.h>
#include <stdint.h>

#define WALSEG_REC_KEEP	(64 * 1024)	/* records kept whole to read their times */

struct walseg_info {
	uint16_t	 magic;		/* XLOG_PAGE_MAGIC: the server's major version */
	uint32_t	 tli;		/* the first page's timeline */
	uint64_t	 sysid;
	uint32_t	 blcksz;
	int64_t		 last_xact_us;	/* Unix microseconds; 0: none */
	uint64_t	 nxact;
	int		 switched;	/* ended by an XLOG_SWITCH record */
	int		 times_complete;
	char		 stopped[128];	/* !times_complete: where and why the walk stopped */
};

struct walseg_scan {
	/* What the name says. */
	uint32_t	 tli;
	uint64_t	 segno;
	uint64_t	 segsize;
	struct walseg_info info;
	/* Page assembly. */
	unsigned char	*page;
	size_t		 pagefill;
	uint64_t	 pageno;
	uint64_t	 fed;
	int		 identified;	/* the first page checked out */
	int		 failed;
	char		 err[256];
	/* Record walk. */
	int		 walking;	/* 0 once it ended or stopped */
	uint32_t	 last_tli;	/* page timelines never go back */
	uint64_t	 skip;		/* continuation of a record of the previous segment */
	int		 in_rec;
	uint32_t	 rec_total;
	uint32_t	 rec_have;
	int		 rec_keep;
	unsigned char	*rec;		/* WALSEG_REC_KEEP bytes */
};

void	 walseg_begin(struct walseg_scan *, uint32_t tli, uint64_t segno, uint64_t segsize);
/* -1 once the identity check failed (err in s->err); the walk never fails. */
int	 walseg_feed(struct walseg_scan *, const void *, size_t);
/*
 * The whole segment was fed: fails when it is shorter or longer than the
 * segment size or was never identified.  Fills *info.
 */
int	 walseg_end(struct walseg_scan *, struct walseg_info *, char *err, size_t errlen);
void	 walseg_free(struct walseg_scan *);

/* The identity check alone, on the first bytes of a segment (at least 40). */
int	 walseg_identify(const void *buf, size_t len, uint32_t tli, uint64_t segno,
	    uint64_t segsize, struct walseg_info *, char *err, size_t errlen);

#endif
