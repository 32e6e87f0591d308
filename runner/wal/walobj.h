/*
 * walobj: the head of a stored WAL file (kbackup-format(5), "WAL archive").
 *
 * Each archived file is one object in the container format; its plain
 * stream is this fixed head followed by the file's bytes.  The head binds
 * the bytes to the file's name (a swapped object is refused by name, not
 * only by what the WAL inside says), carries their size and SHA-256 (an
 * end-to-end check after decompression), and what list, verify and restore
 * need without reading the segment: the database system identifier, the
 * timeline of its first page, when it was completed and the time of its
 * last commit (walseg.h).
 *
 *   0   8  magic "KBWAL\0v1"
 *   8   1  kind: 0 segment, 1 partial segment, 2 backup history, 3 timeline history
 *   9   1  flags: 1 the commit times are complete, 2 ended by a WAL switch
 *  10   2  the first page's magic (0 for history files)
 *  12   4  the first page's timeline (0 for history files)
 *  16   8  size of the file in bytes
 *  24   8  database system identifier (0 for history files)
 *  32   8  completed: the file's last change, Unix seconds
 *  40   8  last commit, abort or restore point, Unix microseconds (0: none)
 *  48   8  number of those records
 *  56  32  SHA-256 of the file
 *  88  48  the file's name, NUL-padded
 * 136  24  zero
 *
 * Integers are big-endian, as in the container.
 */
#ifndef KB_WALOBJ_H
#define KB_WALOBJ_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "engines/pg_wal.h"

#define WALOBJ_HEAD_LEN		160
#define WALOBJ_TIMES_COMPLETE	0x1
#define WALOBJ_SWITCHED		0x2

struct walobj_head {
	enum pg_wal_kind	 kind;
	uint8_t		 flags;
	uint16_t	 pg_magic;
	uint32_t	 tli;
	uint64_t	 size;
	uint64_t	 sysid;
	time_t		 completed;
	int64_t		 last_xact_us;
	uint64_t	 nxact;
	unsigned char	 sha256[32];
	char		 name[PG_WAL_NAME_MAX];
};

void	 walobj_encode(const struct walobj_head *, unsigned char out[WALOBJ_HEAD_LEN]);
/* Checks everything that can be checked alone; -1 with what is wrong. */
int	 walobj_decode(const unsigned char in[WALOBJ_HEAD_LEN], struct walobj_head *,
	    char *err, size_t errlen);

#endif
