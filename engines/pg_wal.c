/*
 * pg_wal: WAL file names and LSNs.  See pg_wal.h.
 */
#include <stdio.h>
#include <string.h>

#include "engines/pg_wal.h"

int
pg_wal_segsize_valid(uint64_t size)
{
	return size >= (1 << 20) && size <= (1 << 30) && (size & (size - 1)) == 0;
}

/* n hex digits (upper case, as PostgreSQL writes them) at s into *v. */
static int
hex_field(const char *s, size_t n, uint64_t *v)
{
	size_t	i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			*v = *v << 4 | (uint64_t)(s[i] - '0');
		else if (s[i] >= 'A' && s[i] <= 'F')
			*v = *v << 4 | (uint64_t)(s[i] - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

static int
segment_part(const char *name, uint64_t segsize, struct pg_wal_name *n)
{
	uint64_t	tli, hi, lo, per = UINT64_C(0x100000000) / segsize;

	if (hex_field(name, 8, &tli) == -1 || hex_field(name + 8, 8, &hi) == -1 ||
	    hex_field(name + 16, 8, &lo) == -1)
		return -1;
	/* Timeline 0 does not exist; the low part counts segments of one 4 GiB "log". */
	if (tli == 0 || lo >= per)
		return -1;
	n->tli = (uint32_t)tli;
	n->segno = hi * per + lo;
	return 0;
}

int
pg_wal_name_parse(const char *name, uint64_t segsize, struct pg_wal_name *n)
{
	size_t		len = strlen(name);
	uint64_t	v;

	memset(n, 0, sizeof(*n));
	if (!pg_wal_segsize_valid(segsize))
		return -1;
	if (len == 16 && strcmp(name + 8, ".history") == 0) {
		if (hex_field(name, 8, &v) == -1 || v == 0)
			return -1;
		n->kind = PG_WAL_HISTORY;
		n->tli = (uint32_t)v;
		return 0;
	}
	if (len < PG_WAL_SEG_NAME_LEN || segment_part(name, segsize, n) == -1)
		return -1;
	if (len == PG_WAL_SEG_NAME_LEN) {
		n->kind = PG_WAL_SEGMENT;
		return 0;
	}
	if (strcmp(name + PG_WAL_SEG_NAME_LEN, ".partial") == 0) {
		n->kind = PG_WAL_PARTIAL;
		return 0;
	}
	if (len == PG_WAL_SEG_NAME_LEN + 16 && name[PG_WAL_SEG_NAME_LEN] == '.' &&
	    strcmp(name + PG_WAL_SEG_NAME_LEN + 9, ".backup") == 0 &&
	    hex_field(name + PG_WAL_SEG_NAME_LEN + 1, 8, &v) == 0 && v < segsize) {
		n->kind = PG_WAL_BACKUP;
		n->offset = (uint32_t)v;
		return 0;
	}
	return -1;
}

void
pg_wal_segment_name(uint32_t tli, uint64_t segno, uint64_t segsize, char *buf)
{
	uint64_t	per = UINT64_C(0x100000000) / segsize;

	snprintf(buf, PG_WAL_NAME_MAX, "%08X%08X%08X", tli, (uint32_t)(segno / per),
	    (uint32_t)(segno % per));
}

void
pg_wal_name_format(const struct pg_wal_name *n, uint64_t segsize, char *buf)
{
	switch (n->kind) {
	case PG_WAL_HISTORY:
		snprintf(buf, PG_WAL_NAME_MAX, "%08X.history", n->tli);
		break;
	case PG_WAL_SEGMENT:
		pg_wal_segment_name(n->tli, n->segno, segsize, buf);
		break;
	case PG_WAL_PARTIAL:
		pg_wal_segment_name(n->tli, n->segno, segsize, buf);
		strlcat(buf, ".partial", PG_WAL_NAME_MAX);
		break;
	case PG_WAL_BACKUP:
		pg_wal_segment_name(n->tli, n->segno, segsize, buf);
		snprintf(buf + PG_WAL_SEG_NAME_LEN, PG_WAL_NAME_MAX - PG_WAL_SEG_NAME_LEN,
		    ".%08X.backup", n->offset);
		break;
	}
}

int
pg_wal_lsn_parse(const char *s, uint64_t *lsn)
{
	const char	*slash = strchr(s, '/');
	size_t		 a, b, i;
	uint64_t	 hi = 0, lo = 0;
	char		 c;

	if (slash == NULL)
		return -1;
	a = (size_t)(slash - s);
	b = strlen(slash + 1);
	if (a < 1 || a > 8 || b < 1 || b > 8)
		return -1;
	for (i = 0; i < a + 1 + b; i++) {
		if (i == a)
			continue;
		c = s[i];
		if (c >= 'a' && c <= 'f')
			c = (char)(c - 'a' + 'A');
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
			return -1;
		if (i < a)
			hi = hi << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'A' + 10);
		else
			lo = lo << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'A' + 10);
	}
	*lsn = hi << 32 | lo;
	return 0;
}

void
pg_wal_lsn_format(uint64_t lsn, char buf[PG_WAL_LSN_MAX])
{
	snprintf(buf, PG_WAL_LSN_MAX, "%X/%X", (uint32_t)(lsn >> 32), (uint32_t)lsn);
}
