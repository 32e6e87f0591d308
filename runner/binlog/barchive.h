/*
 * barchive: the binary log archive of a MariaDB/MySQL definition in a
 * location (kbackup-format(5), "Binary log archive"): its layout, storing
 * and fetching a piece, and the runs of pieces without a gap.
 *
 *   BASE/binlog/FILE/FROM-TO        bytes [FROM, TO) of binary log FILE
 *   BASE/binlog/FILE/FROM-TO.last   the same, and the file ends there
 *   BASE/binlog/H/FILE/...          the same, of history H (2 and up)
 *   BASE/binlog/H/link              where history H continues H-1 (blink.h)
 *
 * FROM and TO are 20 decimal digits, so that keys sort as offsets do.  A
 * piece is one object in the container format (bobj.h), created only where
 * absent and never replaced; the pieces of a file follow one another
 * without a hole from offset 0, and the file after FILE (its sequence
 * number plus one) starts once FILE has its ".last" piece.  A run is such
 * a sequence of pieces from one file's offset 0 on: what can be replayed
 * from there.  It stops at a gap (the first missing piece is named) or at
 * the newest piece.  A history is one server's log (blink.h): a run goes on
 * into the next history where its link says, and a replay of such a run is
 * one segment per history.
 */
#ifndef KB_BARCHIVE_H
#define KB_BARCHIVE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "runner/runner.h"
#include "runner/stream/keys.h"
#include "runner/wal/archive.h"
#include "runner/binlog/blink.h"
#include "runner/binlog/bobj.h"

#define BINLOG_KEY_MAX	(BOBJ_NAME_MAX + 64)

struct binlog_piece {
	char		 name[BOBJ_NAME_MAX];
	char		 base[BOBJ_NAME_MAX];	/* the name without its sequence number */
	uint32_t	 seq;
	uint32_t	 hist;			/* its history, 1 the first */
	uint64_t	 from;
	uint64_t	 to;
	int		 last;
	char		*key;
};

struct binlog_archive {
	struct location		*loc;
	const struct keyring	*kr;
	char			*base;
	struct binlog_piece	*v;		/* by (hist, base, seq, from) */
	size_t			 n;
	struct binlog_link	*links;		/* by hist */
	size_t			 nlinks;
	/*
	 * Pieces whose bytes the chain of v holds already (binlog_chain()):
	 * what a second archiver of the same server stored with other piece
	 * boundaries.  Never replayed; pruned with their file.
	 */
	struct binlog_piece	*spare;
	size_t			 nspare;
};

/*
 * Keeps in v[0..*n) (sorted) the pieces a replay follows: per file, the
 * chain from offset 0 that reaches furthest (a .last piece first) along
 * piece boundaries, and every piece not inside that chain's bytes (what
 * lies past a gap stays, so that the gap is seen).  The pieces inside it
 * but off it move to *spare (appended, *nspare counts them).  Two
 * archivers of one server store the same bytes with other boundaries;
 * without this their pieces would interleave and look like a gap.
 */
void	 binlog_chain(struct binlog_piece *v, size_t *n, struct binlog_piece **spare,
	    size_t *nspare);

/* A run: pieces v[first..end) follow one another. */
struct binlog_run {
	size_t		first;
	size_t		end;
	/* What is missing right after it while newer pieces exist, or "". */
	char		gap[BINLOG_KEY_MAX];
	time_t		last_event;	/* the newest event up to its last piece (one head read) */
};

char	*binlog_prefix(const char *base);		/* BASE/binlog/ */
char	*binlog_piece_key(const char *base, uint32_t hist, const char *name, uint64_t from,
	    uint64_t to, int last);
/* "mysql-bin.000010" after "mysql-bin.000009" (the width kept, at least six digits). */
int	 binlog_next_name(const char *name, char *buf, size_t len);

int	 binlog_archive_open(struct location *, const char *base, const struct keyring *,
	    struct binlog_archive *, char *err, size_t errlen);
void	 binlog_archive_close(struct binlog_archive *);
/* Where the stored pieces of name in history hist end: 0 when there are none. */
uint64_t binlog_archive_end(const struct binlog_archive *, uint32_t hist, const char *name,
	    int *last);
/* The index of the newest piece (of the newest history), or SIZE_MAX when there is none. */
size_t	 binlog_archive_newest(const struct binlog_archive *);
/* The newest history: its pieces' or its link's (1 when the archive has no link). */
uint32_t binlog_archive_hist(const struct binlog_archive *);
/* The link that starts history hist, or NULL. */
const struct binlog_link *binlog_link_of(const struct binlog_archive *, uint32_t hist);
/*
 * The history a dump's position is in: the newest whose writer is the
 * dump's server (server 0, a dump that does not record it: the first).
 * 0 when the archive follows no server of that id.
 */
uint32_t binlog_dump_hist(const struct binlog_archive *, const char *file, uint32_t server);

/*
 * The run from file name's offset 0 in history hist (-1 when the archive
 * has no piece of it at offset 0: *missing gets that piece's name).
 */
int	 binlog_run_from(struct binlog_archive *, uint32_t hist, const char *name,
	    struct binlog_run *, char *missing, size_t missinglen, char *err,
	    size_t errlen);

/*
 * Stores bytes [from, from + len) of file name (whole events) as one piece
 * in loc; a piece stored there already with the same bytes succeeds.
 * server: the id of the file's writer (bobj_file_server()).
 * newest: the newest event time archived before it, which its head's
 * newest time is not below (a replay writes events with their old times:
 * the window must not shrink behind them).
 */
int	 binlog_store_piece(struct location *, const struct keyring *, const char *base,
	    uint32_t hist, const char *name, uint32_t server, uint64_t from,
	    const unsigned char *buf, size_t len, int last, time_t newest, const struct wal_store_opts *, char *err,
	    size_t errlen);
/* SHA-256 of fd's bytes [start, start + size); fails when fewer are there. */
int	 binlog_sha256_range(int fd, off_t start, uint64_t size, unsigned char md[32],
	    char *err, size_t errlen);
/* The head of piece i (its first frame only), checked against its key. */
int	 binlog_piece_head(struct binlog_archive *, size_t i, struct bobj_head *, char *err,
	    size_t errlen);
/*
 * Appends piece i to out_fd (a regular file, at its end), every frame, the
 * head's name, offset and size and the bytes' SHA-256 checked; h (may be
 * NULL) gets its head.  out_fd -1: verify's read, every frame and the head
 * checked and the bytes discarded (not kept, so not hashed again: the
 * frames' tags already cover every stored byte).
 */
int	 binlog_fetch_piece(struct binlog_archive *, size_t i, int out_fd,
	    struct bobj_head *h, char *err, size_t errlen);
/*
 * Appends the file of piece i (which starts it, at offset 0) to out_fd, as
 * far as its pieces follow one another; *len the bytes.
 */
int	 binlog_fetch_file(struct binlog_archive *, size_t i, int out_fd, uint64_t *len,
	    char *err, size_t errlen);

#endif
