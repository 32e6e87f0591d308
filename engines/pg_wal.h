/*
 * pg_wal: the names PostgreSQL gives its WAL files, and positions in WAL
 * (the engine records them in a physical backup's details; runner/wal/
 * archives the files).
 *
 *   TTTTTTTTXXXXXXXXYYYYYYYY           a segment: timeline T, segment number
 *                                      X * (4 GiB / segment size) + Y
 *   TTTTTTTTXXXXXXXXYYYYYYYY.partial   the last, incomplete segment of a
 *                                      timeline a promotion left
 *   TTTTTTTTXXXXXXXXYYYYYYYY.OOOOOOOO.backup   a backup history file
 *   TTTTTTTT.history                   a timeline's history
 *
 * An LSN is a byte position in the WAL of all timelines ("16/B374D848": the
 * high and low 32 bits in hex).  Segment sizes are powers of two from 1 MiB
 * to 1 GiB (initdb --wal-segsize).
 */
#ifndef KB_PG_WAL_H
#define KB_PG_WAL_H

#include <stddef.h>
#include <stdint.h>

#define PG_WAL_NAME_MAX		48	/* longest name above, NUL included */
#define PG_WAL_SEG_NAME_LEN	24
#define PG_WAL_SEG_SIZE_DEFAULT	(16 * 1024 * 1024)
#define PG_WAL_LSN_MAX		24	/* "FFFFFFFF/FFFFFFFF" and a NUL */

enum pg_wal_kind {
	PG_WAL_SEGMENT,
	PG_WAL_PARTIAL,
	PG_WAL_BACKUP,	/* backup history file */
	PG_WAL_HISTORY
};

struct pg_wal_name {
	enum pg_wal_kind	 kind;
	uint32_t	 tli;
	uint64_t	 segno;		/* not for PG_WAL_HISTORY */
	uint32_t	 offset;	/* PG_WAL_BACKUP: the backup's start offset */
};

/* 1 if size is a segment size PostgreSQL allows. */
int	 pg_wal_segsize_valid(uint64_t size);
/* Parses a file name; -1 if it is none of the four forms.  segsize: the archive's. */
int	 pg_wal_name_parse(const char *name, uint64_t segsize, struct pg_wal_name *);
/* The file name of n (buf of PG_WAL_NAME_MAX bytes). */
void	 pg_wal_name_format(const struct pg_wal_name *, uint64_t segsize, char *buf);
/* The segment name of (tli, segno) (buf of PG_WAL_NAME_MAX bytes). */
void	 pg_wal_segment_name(uint32_t tli, uint64_t segno, uint64_t segsize, char *buf);

/* "16/B374D848" */
int	 pg_wal_lsn_parse(const char *, uint64_t *);
void	 pg_wal_lsn_format(uint64_t, char buf[PG_WAL_LSN_MAX]);

#endif
