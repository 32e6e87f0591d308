/*
 * marker: a running job's marker object to and from JSON.  See marker.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/util.h"
#include "common/xjson.h"
#include "runner/catalog/marker.h"

int
marker_stale(time_t now, time_t mtime)
{
	return now - mtime > MARKER_STALE || mtime - now > MARKER_STALE;
}

char *
marker_to_text(const struct marker *m)
{
	json_t	*o;
	char	 when[21];

	time_to_rfc3339(m->started, when);
	o = json_pack("{s:i, s:s, s:s, s:s, s:I, s:s}", "version", 1, "id", m->id,
	    "runner_id", m->runner_id, "host", m->host, "pid", (json_int_t)m->pid,
	    "started", when);
	return xjson_dumps(o, JSON_PRESERVE_ORDER);
}

int
marker_parse(const char *buf, size_t len, struct marker *m, char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*o;
	const char	*id, *rid, *host, *started;
	json_int_t	 version, pid;
	time_t		 t;
	int		 rc = -1;

	memset(m, 0, sizeof(*m));
	if (len > MARKER_JSON_MAX)
		return errf(err, errlen, "larger than %d bytes", MARKER_JSON_MAX);
	if ((o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return errf(err, errlen, "not JSON: %s", jerr.text);
	if (json_unpack_ex(o, &jerr, JSON_STRICT, "{s:I, s:s, s:s, s:s, s:I, s:s}", "version",
	    &version, "id", &id, "runner_id", &rid, "host", &host, "pid", &pid, "started",
	    &started) == -1)
		errf(err, errlen, "not a marker: %s", jerr.text);
	else if (version != 1 || backup_id_parse(id, &t) == -1 || strlen(rid) >= sizeof(m->runner_id) ||
	    rfc3339_to_time(started, &m->started) == -1)
		errf(err, errlen, "not a marker of version 1");
	else {
		strlcpy(m->id, id, sizeof(m->id));
		strlcpy(m->runner_id, rid, sizeof(m->runner_id));
		strlcpy(m->host, host, sizeof(m->host));
		m->pid = (long)pid;
		rc = 0;
	}
	json_decref(o);
	return rc;
}

void
marker_describe(const struct marker *m, char *buf, size_t len)
{
	char	when[21];

	time_to_rfc3339(m->started, when);
	snprintf(buf, len, "runner %s on host %s, pid %ld, since %s", m->runner_id, m->host,
	    m->pid, when);
}
