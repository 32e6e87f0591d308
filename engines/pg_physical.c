/*
 * pg_physical: physical base backups of PostgreSQL.  See pg_physical.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "engines/pg_physical.h"

int
pg_physical_is(const json_t *details)
{
	const char	*m = json_string_value(json_object_get(details, "method"));

	return m != NULL && strcmp(m, "physical") == 0;
}

json_t *
pg_physical_details_json(const struct pg_physical_details *d)
{
	char	sys[24], start[PG_WAL_LSN_MAX], stop[PG_WAL_LSN_MAX];
	char	first[PG_WAL_NAME_MAX], last[PG_WAL_NAME_MAX];

	snprintf(sys, sizeof(sys), "%llu", (unsigned long long)d->sysid);
	pg_wal_lsn_format(d->start_lsn, start);
	pg_wal_lsn_format(d->stop_lsn, stop);
	pg_wal_segment_name(d->timeline, d->first_segno, d->segsize, first);
	pg_wal_segment_name(d->stop_timeline, d->last_segno, d->segsize, last);
	return json_pack("{s:s, s:s, s:i, s:s, s:I, s:I, s:I, s:s, s:s, s:s, s:s, s:s}",
	    "method", "physical", "server_version", d->server_version,
	    "server_version_num", d->server_version_num, "system_identifier", sys,
	    "wal_segment_size", (json_int_t)d->segsize, "timeline", (json_int_t)d->timeline,
	    "stop_timeline", (json_int_t)d->stop_timeline, "start_lsn", start, "stop_lsn", stop,
	    "first_segment", first, "last_segment", last, "wal_method", d->wal_method);
}

static int
get_lsn(const json_t *o, const char *key, uint64_t *lsn, char *err, size_t errlen)
{
	const char	*s = json_string_value(json_object_get(o, key));

	if (s == NULL || pg_wal_lsn_parse(s, lsn) == -1)
		return errf(err, errlen, "details: %s: not an LSN", key);
	return 0;
}

static int
get_segment(const json_t *o, const char *key, uint64_t segsize, uint32_t tli,
    uint64_t *segno, char *err, size_t errlen)
{
	const char		*s = json_string_value(json_object_get(o, key));
	struct pg_wal_name	 n;

	if (s == NULL || pg_wal_name_parse(s, segsize, &n) == -1 || n.kind != PG_WAL_SEGMENT)
		return errf(err, errlen, "details: %s: not a segment name", key);
	if (n.tli != tli)
		return errf(err, errlen, "details: %s: of timeline %u, not %u", key, n.tli, tli);
	*segno = n.segno;
	return 0;
}

static int
get_tli(const json_t *o, const char *key, uint32_t *tli, char *err, size_t errlen)
{
	json_int_t	v = json_integer_value(json_object_get(o, key));

	if (v < 1 || v > UINT32_MAX)
		return errf(err, errlen, "details: %s: not a timeline", key);
	*tli = (uint32_t)v;
	return 0;
}

int
pg_physical_details_parse(const json_t *o, struct pg_physical_details *d, char *err,
    size_t errlen)
{
	const char	*s;

	memset(d, 0, sizeof(*d));
	if (!pg_physical_is(o))
		return errf(err, errlen, "not a physical backup");
	if ((s = json_string_value(json_object_get(o, "server_version"))) == NULL ||
	    strlcpy(d->server_version, s, sizeof(d->server_version)) >=
	    sizeof(d->server_version))
		return errf(err, errlen, "details: server_version");
	d->server_version_num = (int)json_integer_value(json_object_get(o,
	    "server_version_num"));
	if ((s = json_string_value(json_object_get(o, "system_identifier"))) == NULL ||
	    strlen(s) == 0 || strlen(s) > 20 || strspn(s, "0123456789") != strlen(s))
		return errf(err, errlen, "details: system_identifier");
	d->sysid = strtoull(s, NULL, 10);
	d->segsize = (uint64_t)json_integer_value(json_object_get(o, "wal_segment_size"));
	if (!pg_wal_segsize_valid(d->segsize))
		return errf(err, errlen, "details: wal_segment_size");
	if (get_tli(o, "timeline", &d->timeline, err, errlen) == -1 ||
	    get_tli(o, "stop_timeline", &d->stop_timeline, err, errlen) == -1 ||
	    get_lsn(o, "start_lsn", &d->start_lsn, err, errlen) == -1 ||
	    get_lsn(o, "stop_lsn", &d->stop_lsn, err, errlen) == -1 ||
	    get_segment(o, "first_segment", d->segsize, d->timeline, &d->first_segno, err,
	    errlen) == -1 ||
	    get_segment(o, "last_segment", d->segsize, d->stop_timeline, &d->last_segno, err,
	    errlen) == -1)
		return -1;
	if (d->stop_lsn < d->start_lsn || d->last_segno < d->first_segno ||
	    d->stop_timeline < d->timeline)
		return errf(err, errlen, "details: the backup stops before it starts");
	if ((s = json_string_value(json_object_get(o, "wal_method"))) == NULL ||
	    (strcmp(s, "push") != 0 && strcmp(s, "stream") != 0))
		return errf(err, errlen, "details: wal_method");
	strlcpy(d->wal_method, s, sizeof(d->wal_method));
	return 0;
}
