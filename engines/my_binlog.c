/*
 * my_binlog: the binary log position of a MariaDB or MySQL dump; see
 * my_binlog.h.
 */
#define _GNU_SOURCE	/* pipe2 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "engines/my_binlog.h"

#define TEE_CHUNK	(128 * 1024)

static void
tee_keep(struct my_binlog_tee *t, const char *buf, size_t n)
{
	size_t	k;

	if (t->headlen < MY_BINLOG_HEAD_MAX) {
		k = MY_BINLOG_HEAD_MAX - t->headlen;
		if (k > n)
			k = n;
		memcpy(t->head + t->headlen, buf, k);
		t->headlen += k;
	}
	if (n >= MY_BINLOG_TAIL_MAX) {
		memcpy(t->tail, buf + n - MY_BINLOG_TAIL_MAX, MY_BINLOG_TAIL_MAX);
		t->taillen = MY_BINLOG_TAIL_MAX;
		return;
	}
	if (t->taillen + n > MY_BINLOG_TAIL_MAX) {
		k = t->taillen + n - MY_BINLOG_TAIL_MAX;
		memmove(t->tail, t->tail + k, t->taillen - k);
		t->taillen -= k;
	}
	memcpy(t->tail + t->taillen, buf, n);
	t->taillen += n;
}

static void *
tee_main(void *arg)
{
	struct my_binlog_tee	*t = arg;
	char			*buf = xmalloc(TEE_CHUNK);
	ssize_t			 n;

	t->rc = -1;
	for (;;) {
		n = read(t->in_fd, buf, TEE_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			errf(t->err, sizeof(t->err), "reading the dump: %s", strerror(errno));
			break;
		}
		if (n == 0) {
			t->rc = 0;
			break;
		}
		tee_keep(t, buf, (size_t)n);
		if (write_all(t->pipe[1], buf, (size_t)n) == -1) {
			errf(t->err, sizeof(t->err), "the pipeline stopped reading: %s",
			    strerror(errno));
			break;
		}
	}
	free(buf);
	close(t->pipe[1]);
	t->pipe[1] = -1;
	return NULL;
}

int
my_binlog_tee_start(struct my_binlog_tee *t, int in_fd, int *out_fd, char *err,
    size_t errlen)
{
	t->in_fd = in_fd;
	t->headlen = t->taillen = 0;
	if (pipe2(t->pipe, O_CLOEXEC) == -1) {
		t->pipe[0] = t->pipe[1] = -1;
		return errf(err, errlen, "pipe: %s", strerror(errno));
	}
	if (pthread_create(&t->thread, NULL, tee_main, t) != 0) {
		close(t->pipe[0]);
		close(t->pipe[1]);
		t->pipe[0] = t->pipe[1] = -1;
		return errf(err, errlen, "cannot start a thread");
	}
	t->running = 1;
	*out_fd = t->pipe[0];
	return 0;
}

void
my_binlog_tee_abort(struct my_binlog_tee *t)
{
	if (t->running && t->pipe[0] != -1) {
		close(t->pipe[0]);
		t->pipe[0] = -1;
	}
}

int
my_binlog_tee_end(struct my_binlog_tee *t, char *err, size_t errlen)
{
	if (!t->running)
		return 0;
	pthread_join(t->thread, NULL);
	t->running = 0;
	if (t->pipe[0] != -1) {
		close(t->pipe[0]);
		t->pipe[0] = -1;
	}
	if (t->rc == -1)
		return errf(err, errlen, "%s", t->err);
	return 0;
}

int
my_binlog_dump_details(const struct my_binlog_tee *t, uint32_t server, time_t server_time,
    json_t **details, char *err, size_t errlen)
{
	struct my_binpos	 pos;
	char			*head, *tail;
	int			 rc;

	head = xmalloc(t->headlen + 1);
	memcpy(head, t->head, t->headlen);
	head[t->headlen] = '\0';
	tail = xmalloc(t->taillen + 1);
	memcpy(tail, t->tail, t->taillen);
	tail[t->taillen] = '\0';
	rc = my_binpos_scan(head, tail, &pos, err, errlen);
	free(head);
	free(tail);
	if (rc == -1)
		return -1;
	pos.server = server;
	pos.server_time = server_time;
	json_decref(*details);
	*details = my_binpos_details(&pos);
	return 0;
}

int
my_binlog_server_check(const char *answer, const char **dump_opts, char *err,
    size_t errlen)
{
	unsigned int	major = 0, minor = 0, patch = 0;

	if (strncmp(answer, "0\t", 2) == 0)
		return errf(err, errlen, "binlog = archive, but the server writes no binary log "
		    "(log_bin is off): set log_bin, binlog_format = ROW and server_id in its "
		    "my.cnf and restart it");
	if (strncmp(answer, "1\t", 2) != 0)
		return errf(err, errlen, "SELECT @@log_bin did not answer 0 or 1");
	if (strstr(answer, "MariaDB") != NULL)
		*dump_opts = "--master-data=2 --gtid";
	else if (sscanf(answer + 2, "%u.%u.%u", &major, &minor, &patch) == 3 &&
	    (major > 8 || (major == 8 && (minor > 0 || patch >= 26))))
		*dump_opts = "--source-data=2";	/* MySQL 8.0.26 renamed it */
	else
		*dump_opts = "--master-data=2";
	return 0;
}

/* What follows prefix on the first line of text that starts with it, or NULL. */
static const char *
line_after(const char *text, const char *prefix)
{
	size_t		 len = strlen(prefix);
	const char	*p = text;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, prefix, len) == 0)
			return p + len;
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return NULL;
}

/* A quoted value up to its closing quote into buf, blanks dropped if squeeze. */
static int
quoted(const char *p, char *buf, size_t len, int squeeze)
{
	size_t	n = 0;

	for (; *p != '\0' && *p != '\''; p++) {
		if (squeeze && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
			continue;
		if (n + 1 >= len)
			return -1;
		buf[n++] = *p;
	}
	buf[n] = '\0';
	return *p == '\'' ? 0 : -1;
}

static int
gtid_ok(const char *s)
{
	return strspn(s, "0123456789abcdefABCDEF:,-") == strlen(s);
}

static int
name_ok(const char *s)
{
	const unsigned char	*p;

	if (*s == '\0' || *s == '.')
		return 0;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= ' ' || *p == '/' || *p == '\\' || *p >= 0x7f)
			return 0;
	return 1;
}

static int
scan_file(const char *head, struct my_binpos *pos, char *err, size_t errlen)
{
	static const char *const lines[] = {
		"-- CHANGE MASTER TO MASTER_LOG_FILE='", "CHANGE MASTER TO MASTER_LOG_FILE='",
		"-- CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='",
		"CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='", NULL
	};
	const char	*p = NULL, *q;
	size_t		 i;
	char		*end;

	for (i = 0; lines[i] != NULL && p == NULL; i++)
		p = line_after(head, lines[i]);
	if (p == NULL)
		return errf(err, errlen, "the dump names no binary log position (no CHANGE "
		    "MASTER line at its start)");
	if (quoted(p, pos->file, sizeof(pos->file), 0) == -1 || !name_ok(pos->file))
		return errf(err, errlen, "the dump's CHANGE MASTER line names no binary log file");
	if ((q = strstr(p, "_LOG_POS=")) == NULL || (strchr(p, '\n') != NULL &&
	    q > strchr(p, '\n')))
		return errf(err, errlen, "the dump's CHANGE MASTER line has no position");
	errno = 0;
	pos->position = strtoull(q + 9, &end, 10);
	if (errno != 0 || end == q + 9 || (*end != ';' && *end != ','))
		return errf(err, errlen, "the dump's CHANGE MASTER line has no position");
	return 0;
}

int
my_binpos_scan(const char *head, const char *tail, struct my_binpos *pos, char *err,
    size_t errlen)
{
	static const char *const gtids[] = {
		"SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ '", "SET @@GLOBAL.GTID_PURGED='", NULL
	};
	const char	*p;
	size_t		 i;

	memset(pos, 0, sizeof(*pos));
	if (scan_file(head, pos, err, errlen) == -1)
		return -1;
	p = line_after(tail, "-- SET GLOBAL gtid_slave_pos='");
	for (i = 0; p == NULL && gtids[i] != NULL; i++)
		p = line_after(head, gtids[i]);
	if (p != NULL && (quoted(p, pos->gtid, sizeof(pos->gtid), 1) == -1 ||
	    !gtid_ok(pos->gtid)))
		return errf(err, errlen, "the dump's GTID position is not a GTID set");
	return 0;
}

json_t *
my_binpos_details(const struct my_binpos *pos)
{
	json_t	*b;
	char	 when[21];

	b = json_pack("{s:s, s:I}", "file", pos->file, "position", (json_int_t)pos->position);
	if (pos->gtid[0] != '\0')
		json_object_set_new(b, "gtid", json_string(pos->gtid));
	if (pos->server != 0)
		json_object_set_new(b, "server_id", json_integer(pos->server));
	if (pos->server_time != 0) {
		time_to_rfc3339(pos->server_time, when);
		json_object_set_new(b, "server_time", json_string(when));
	}
	return json_pack("{s:o}", "binlog", b);
}

int
my_binpos_from_details(const json_t *details, struct my_binpos *pos, char *err,
    size_t errlen)
{
	const json_t	*b, *f, *p, *g, *s, *t;

	memset(pos, 0, sizeof(*pos));
	if (details == NULL || (b = json_object_get(details, "binlog")) == NULL)
		return 0;
	f = json_object_get(b, "file");
	p = json_object_get(b, "position");
	g = json_object_get(b, "gtid");
	if (!json_is_string(f) || !name_ok(json_string_value(f)) ||
	    strlcpy(pos->file, json_string_value(f), sizeof(pos->file)) >= sizeof(pos->file))
		return errf(err, errlen, "details: binlog: file");
	if (!json_is_integer(p) || json_integer_value(p) < 0)
		return errf(err, errlen, "details: binlog: position");
	pos->position = (uint64_t)json_integer_value(p);
	if (g != NULL && (!json_is_string(g) || !gtid_ok(json_string_value(g)) ||
	    strlcpy(pos->gtid, json_string_value(g), sizeof(pos->gtid)) >= sizeof(pos->gtid)))
		return errf(err, errlen, "details: binlog: gtid");
	if ((s = json_object_get(b, "server_id")) != NULL && (!json_is_integer(s) ||
	    json_integer_value(s) <= 0 || json_integer_value(s) > UINT32_MAX))
		return errf(err, errlen, "details: binlog: server_id");
	pos->server = s != NULL ? (uint32_t)json_integer_value(s) : 0;
	if ((t = json_object_get(b, "server_time")) != NULL && (!json_is_string(t) ||
	    rfc3339_to_time(json_string_value(t), &pos->server_time) == -1))
		return errf(err, errlen, "details: binlog: server_time");
	return 1;
}

/* Digits only, up to max, ending at *end ('-', ',' or NUL); -1 if not. */
static int
gtid_number(const char **p, uint64_t max, uint64_t *v)
{
	const char	*s = *p;
	char		*end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno != 0 || *v > max || end - s > 20)
		return -1;
	*p = end;
	return 0;
}

int
my_gtid_pos_parse(const char *s, struct my_gtid_pos *pos, char *err, size_t errlen)
{
	struct my_gtid	 g;
	const char	*p = s;
	uint64_t	 domain, server;
	char		 text[MY_GTID_TEXT];

	memset(pos, 0, sizeof(*pos));
	while (*p != '\0') {
		if (gtid_number(&p, UINT32_MAX, &domain) == -1 || *p++ != '-' ||
		    gtid_number(&p, UINT32_MAX, &server) == -1 || *p++ != '-' ||
		    gtid_number(&p, UINT64_MAX, &g.seq) == -1 || (*p != ',' && *p != '\0'))
			return errf(err, errlen, "not a MariaDB GTID position (DOMAIN-SERVER-SEQ, "
			    "comma-separated, as @@gtid_binlog_pos gives it)");
		g.domain = (uint32_t)domain;
		g.server = (uint32_t)server;
		if (my_gtid_pos_domain(pos, g.domain) != NULL) {
			my_gtid_text(&g, text);
			return errf(err, errlen, "%s: a second GTID of domain %u", text, g.domain);
		}
		if (pos->n == MY_GTID_DOMAINS_MAX)
			return errf(err, errlen, "more than %d replication domains",
			    MY_GTID_DOMAINS_MAX);
		pos->v[pos->n++] = g;
		if (*p == ',' && *++p == '\0')
			return errf(err, errlen, "a GTID position ends with a comma");
	}
	return 0;
}

const struct my_gtid *
my_gtid_pos_domain(const struct my_gtid_pos *pos, uint32_t domain)
{
	size_t	i;

	for (i = 0; i < pos->n; i++)
		if (pos->v[i].domain == domain)
			return &pos->v[i];
	return NULL;
}

void
my_gtid_text(const struct my_gtid *g, char buf[MY_GTID_TEXT])
{
	snprintf(buf, MY_GTID_TEXT, "%" PRIu32 "-%" PRIu32 "-%" PRIu64, g->domain, g->server,
	    g->seq);
}

void
my_gtid_pos_text(const struct my_gtid_pos *pos, char *buf, size_t len)
{
	char	one[MY_GTID_TEXT];
	size_t	i;

	buf[0] = '\0';
	for (i = 0; i < pos->n; i++) {
		my_gtid_text(&pos->v[i], one);
		if (i > 0)
			strlcat(buf, ",", len);
		strlcat(buf, one, len);
	}
}

int
my_binlog_name_parse(const char *name, char *base, size_t baselen, uint32_t *seq)
{
	const char	*dot = strrchr(name, '.');
	const char	*errstr;
	long long	 n;

	if (dot == NULL || dot == name || !name_ok(name) || strlen(dot + 1) < 6 ||
	    strspn(dot + 1, "0123456789") != strlen(dot + 1))
		return -1;
	n = strtonum(dot + 1, 0, UINT32_MAX, &errstr);
	if (errstr != NULL || (size_t)(dot - name) >= baselen)
		return -1;
	memcpy(base, name, (size_t)(dot - name));
	base[dot - name] = '\0';
	*seq = (uint32_t)n;
	return 0;
}

/* MariaDB 10.x's two forms of the lines that set the session's GTID. */
static const char *const gtid_lines[] = {
	"/*M!100001 SET @@session.gtid_", "/*!100001 SET @@session.gtid_", NULL
};

/* 1 if the n bytes at p start a GTID line (all of its prefix), 0 if not, -1 if not yet known. */
static int
gtid_line(const char *p, size_t n)
{
	size_t	i, len;
	int	maybe = 0;

	for (i = 0; gtid_lines[i] != NULL; i++) {
		len = strlen(gtid_lines[i]);
		if (n >= len && memcmp(p, gtid_lines[i], len) == 0)
			return 1;
		if (n < len && memcmp(p, gtid_lines[i], n) == 0)
			maybe = 1;
	}
	return maybe ? -1 : 0;
}

void
my_sql_filter_init(struct my_sql_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->bol = 1;
}

size_t
my_sql_filter_feed(struct my_sql_filter *f, const char *in, size_t n, char *out)
{
	size_t	i, o = 0;
	char	c;
	int	m;

	for (i = 0; i < n; i++) {
		c = in[i];
		if (f->dropping) {
			f->dropping = c != '\n';
			f->bol = !f->dropping;
			continue;
		}
		if (!f->bol && f->npend == 0) {
			out[o++] = c;
			f->bol = c == '\n';
			continue;
		}
		f->pend[f->npend++] = c;
		f->bol = 0;
		if ((m = gtid_line(f->pend, f->npend)) == 1) {
			f->dropping = 1;
			f->npend = 0;
		} else if (m == 0) {
			memcpy(out + o, f->pend, f->npend);
			o += f->npend;
			f->npend = 0;
			f->bol = c == '\n';
		}
	}
	return o;
}

size_t
my_sql_filter_end(struct my_sql_filter *f, char *out)
{
	size_t	n = f->npend;

	memcpy(out, f->pend, n);
	f->npend = 0;
	return n;
}

int
my_binlog_name_order(const char *a, const char *b)
{
	char		ba[MY_BINLOG_NAME_MAX + 1], bb[MY_BINLOG_NAME_MAX + 1];
	uint32_t	sa, sb;

	if (my_binlog_name_parse(a, ba, sizeof(ba), &sa) == -1 ||
	    my_binlog_name_parse(b, bb, sizeof(bb), &sb) == -1 || strcmp(ba, bb) != 0)
		return 2;
	return sa < sb ? -1 : sa > sb;
}
