/*
 * receive: the replication protocol's physical streaming, segment by
 * segment.  See receive.h; the messages are those of PostgreSQL's "Streaming
 * Replication Protocol" (XLogData 'w', keepalive 'k', standby status 'r').
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "common/cancel.h"
#include "common/log.h"
#include "common/util.h"
#include "engines/pg_wal.h"
#include "runner/wal/receive.h"

#define CONNECT_TIMEOUT	30	/* seconds */
#define STATUS_EVERY	10	/* seconds between status updates */
#define PG_EPOCH	INT64_C(946684800)
#define NONE		UINT64_MAX

struct rx {
	const struct wal_receiver	*o;
	PGconn				*conn;
	uint64_t			 segsize;
	uint32_t			 tli;
	uint64_t			 xlogpos;	/* the server's, at IDENTIFY_SYSTEM */
	uint64_t			 pos;		/* the next byte expected */
	uint64_t			 archived;	/* reported as flushed */
	int				 spool;
	uint64_t			 spool_seg;
	time_t				 pending;
	time_t				 last_status;
	int				 stopped;
	char				*err;
	size_t				 errlen;
};

static int
fail(struct rx *x, const char *what)
{
	char	*msg = xstrdup(x->conn != NULL ? PQerrorMessage(x->conn) : "");

	msg[strcspn(msg, "\n")] = '\0';
	errf(x->err, x->errlen, "%s%s%s", what, msg[0] != '\0' ? ": " : "", msg);
	free(msg);
	return -1;
}

/* 1 ready, 0 timed out, -1 stopped (x->stopped) or poll failed. */
static int
rx_wait(struct rx *x, short events, int ms)
{
	struct pollfd	pfd[3];
	nfds_t		n = 1;
	int		r;

	pfd[0].fd = PQsocket(x->conn);
	pfd[0].events = events;
	if (cancel_fd() != -1) {
		pfd[n].fd = cancel_fd();
		pfd[n++].events = POLLIN;
	}
	if (x->o->stop_fd != -1) {
		pfd[n].fd = x->o->stop_fd;
		pfd[n++].events = POLLIN;
	}
	for (;;) {
		if (cancel_requested()) {
			x->stopped = 1;
			return -1;
		}
		r = poll(pfd, n, ms);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return errf(x->err, x->errlen, "poll: %s", strerror(errno));
		if (n > 1 && (pfd[1].revents != 0 || (n > 2 && pfd[2].revents != 0))) {
			x->stopped = 1;
			return -1;
		}
		return r > 0 ? 1 : 0;
	}
}

static int
rx_connect(struct rx *x)
{
	PostgresPollingStatusType	st = PGRES_POLLING_WRITING;
	time_t				deadline = time(NULL) + CONNECT_TIMEOUT;
	int				r;

	x->conn = PQconnectStartParams(x->o->keywords, x->o->values, 0);
	if (x->conn == NULL)
		return errf(x->err, x->errlen, "out of memory");
	if (PQstatus(x->conn) == CONNECTION_BAD)
		return fail(x, "connecting");
	for (;;) {
		if (st == PGRES_POLLING_OK)
			return 0;
		if (st == PGRES_POLLING_FAILED)
			return fail(x, "connecting");
		if (time(NULL) >= deadline)
			return errf(x->err, x->errlen, "connecting: no answer in %ds",
			    CONNECT_TIMEOUT);
		r = rx_wait(x, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, 1000);
		if (r == -1)
			return -1;
		if (r == 1)
			st = PQconnectPoll(x->conn);
	}
}

/* A replication command's last result (caller clears); NULL after filling err. */
static PGresult *
rx_query(struct rx *x, const char *sql, ExecStatusType want)
{
	PGresult	*res, *last = NULL;

	if (PQsendQuery(x->conn, sql) != 1) {
		fail(x, sql);
		return NULL;
	}
	for (;;) {
		while (PQisBusy(x->conn)) {
			if (rx_wait(x, POLLIN, 1000) == -1 || PQconsumeInput(x->conn) != 1) {
				if (!x->stopped)
					fail(x, sql);
				PQclear(last);
				return NULL;
			}
		}
		if ((res = PQgetResult(x->conn)) == NULL)
			break;
		PQclear(last);
		last = res;
		if (PQresultStatus(res) == PGRES_COPY_BOTH)
			break;
	}
	if (last == NULL || PQresultStatus(last) != want) {
		errf(x->err, x->errlen, "%s: %s", sql, last != NULL ?
		    PQresultErrorMessage(last) : "no result");
		x->err[strcspn(x->err, "\n")] = '\0';
		PQclear(last);
		return NULL;
	}
	return last;
}

/* "16MB", "1GB", "1024kB": SHOW's form of wal_segment_size. */
static uint64_t
size_value(const char *s)
{
	char		*end;
	uint64_t	 v = strtoull(s, &end, 10);

	if (strcmp(end, "kB") == 0)
		v <<= 10;
	else if (strcmp(end, "MB") == 0)
		v <<= 20;
	else if (strcmp(end, "GB") == 0)
		v <<= 30;
	else if (*end != '\0' && strcmp(end, "B") != 0)
		return 0;
	return v;
}

static int
rx_identify(struct rx *x)
{
	PGresult	*res;

	if ((res = rx_query(x, "IDENTIFY_SYSTEM", PGRES_TUPLES_OK)) == NULL)
		return -1;
	if (PQnfields(res) < 3 || PQntuples(res) != 1 ||
	    pg_wal_lsn_parse(PQgetvalue(res, 0, 2), &x->xlogpos) == -1) {
		PQclear(res);
		return errf(x->err, x->errlen, "IDENTIFY_SYSTEM: an answer of another form");
	}
	x->tli = (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	if ((res = rx_query(x, "SHOW wal_segment_size", PGRES_TUPLES_OK)) == NULL)
		return -1;
	x->segsize = PQntuples(res) == 1 ? size_value(PQgetvalue(res, 0, 0)) : 0;
	PQclear(res);
	if (x->tli == 0 || !pg_wal_segsize_valid(x->segsize))
		return errf(x->err, x->errlen, "the server's timeline or wal_segment_size is "
		    "none kbackup knows");
	return 0;
}

/* READ_REPLICATION_SLOT (15 and later): 1 found, 0 no such slot, -1 failed. */
static int
rx_read_slot(struct rx *x, uint64_t *restart, uint32_t *rtli)
{
	PGresult	*res;
	char		*sql;
	int		 found = 0;

	sql = xasprintf("READ_REPLICATION_SLOT \"%s\"", x->o->slot);
	res = rx_query(x, sql, PGRES_TUPLES_OK);
	free(sql);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 1 && PQnfields(res) >= 3 && !PQgetisnull(res, 0, 1) &&
	    pg_wal_lsn_parse(PQgetvalue(res, 0, 1), restart) == 0 && *restart != 0) {
		*rtli = (uint32_t)strtoul(PQgetvalue(res, 0, 2), NULL, 10);
		found = 1;
	} else
		*restart = NONE;
	PQclear(res);
	return found;
}

/*
 * The slot's restart position (NONE: not known: a server before 15 does not
 * say) and timeline; the slot is created when missing.
 */
static int
rx_slot(struct rx *x, uint64_t *restart, uint32_t *rtli)
{
	PGresult	*res;
	char		*sql;
	int		 modern = PQserverVersion(x->conn) >= 150000, r;

	*restart = NONE;
	*rtli = 0;
	if (modern && (r = rx_read_slot(x, restart, rtli)) != 0)
		return r == 1 ? 0 : -1;
	sql = xasprintf("CREATE_REPLICATION_SLOT \"%s\" PHYSICAL RESERVE_WAL", x->o->slot);
	res = rx_query(x, sql, PGRES_TUPLES_OK);
	free(sql);
	if (res == NULL) {
		/* 42710: it exists already. */
		return strstr(x->err, "already exists") != NULL ? 0 : -1;
	}
	PQclear(res);
	log_kv(LOGL_INFO, "replication slot created", "slot", x->o->slot, NULL);
	if (modern && rx_read_slot(x, restart, rtli) == -1)
		return -1;
	return 0;
}

static int
rx_history(struct rx *x, uint32_t tli)
{
	PGresult	*res;
	char		*sql;
	int		 rc;

	if (tli <= 1)
		return 0;
	sql = xasprintf("TIMELINE_HISTORY %u", tli);
	res = rx_query(x, sql, PGRES_TUPLES_OK);
	free(sql);
	if (res == NULL)
		return -1;
	if (PQnfields(res) != 2 || PQntuples(res) != 1) {
		PQclear(res);
		return errf(x->err, x->errlen, "TIMELINE_HISTORY: an answer of another form");
	}
	rc = x->o->history(x->o->arg, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
	    (size_t)PQgetlength(res, 0, 1), x->err, x->errlen);
	PQclear(res);
	return rc;
}

/* Standby status: written = received, flushed = applied = archived. */
static int
rx_status(struct rx *x)
{
	unsigned char	msg[34];
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	msg[0] = 'r';
	be64_put(msg + 1, x->pos);
	be64_put(msg + 9, x->archived);
	be64_put(msg + 17, x->archived);
	be64_put(msg + 25, (uint64_t)(((int64_t)ts.tv_sec - PG_EPOCH) * 1000000 +
	    ts.tv_nsec / 1000));
	msg[33] = 0;
	if (PQputCopyData(x->conn, (const char *)msg, sizeof(msg)) != 1 || PQflush(x->conn) == -1)
		return fail(x, "sending the standby status");
	x->last_status = time(NULL);
	return 0;
}

static int
segment_done(struct rx *x)
{
	char	name[PG_WAL_NAME_MAX];

	pg_wal_segment_name(x->tli, x->spool_seg, x->segsize, name);
	if (fsync(x->spool) == -1)
		return errf(x->err, x->errlen, "spool: %s", strerror(errno));
	if (x->o->segment(x->o->arg, name, x->spool, x->err, x->errlen) == -1)
		return -1;
	x->archived = (x->spool_seg + 1) * x->segsize;
	x->spool_seg = NONE;
	x->pending = 0;
	return rx_status(x);
}

/* XLogData: bytes at start; each segment is written whole into the spool, then archived. */
static int
rx_data(struct rx *x, const char *p, size_t len, uint64_t start)
{
	uint64_t	seg, off;
	size_t		n;

	if (start != x->pos)
		return errf(x->err, x->errlen, "WAL at %llX where %llX was expected",
		    (unsigned long long)start, (unsigned long long)x->pos);
	while (len > 0) {
		seg = x->pos / x->segsize;
		off = x->pos % x->segsize;
		if (x->spool_seg != seg) {
			if (off != 0 || ftruncate(x->spool, 0) == -1)
				return errf(x->err, x->errlen, "spool: a segment not begun at its "
				    "start");
			x->spool_seg = seg;
			x->pending = time(NULL);
		}
		n = x->segsize - off < len ? (size_t)(x->segsize - off) : len;
		if (pwrite(x->spool, p, n, (off_t)off) != (ssize_t)n)
			return errf(x->err, x->errlen, "spool: %s", strerror(errno));
		x->pos += n;
		p += n;
		len -= n;
		if (off + n == x->segsize && segment_done(x) == -1)
			return -1;
	}
	return 0;
}

static int
rx_message(struct rx *x, const char *buf, int len)
{
	if (len >= 25 && buf[0] == 'w')
		return rx_data(x, buf + 25, (size_t)len - 25, be64_get((const unsigned char *)buf + 1));
	if (len >= 18 && buf[0] == 'k')
		return buf[17] ? rx_status(x) : 0;
	return errf(x->err, x->errlen, "a replication message of another kind (%c)", buf[0]);
}

/* The end of a timeline: the next one's number and where it begins. */
static int
rx_timeline_end(struct rx *x)
{
	PGresult	*res;
	uint64_t	 start;
	int		 ok = 0;

	PQputCopyEnd(x->conn, NULL);
	while ((res = PQgetResult(x->conn)) != NULL) {
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQnfields(res) >= 2 &&
		    PQntuples(res) == 1 && pg_wal_lsn_parse(PQgetvalue(res, 0, 1), &start) == 0) {
			x->tli = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
			ok = 1;
		} else if (PQresultStatus(res) == PGRES_FATAL_ERROR) {
			errf(x->err, x->errlen, "streaming: %s", PQresultErrorMessage(res));
			x->err[strcspn(x->err, "\n")] = '\0';
			PQclear(res);
			return -1;
		}
		PQclear(res);
	}
	if (!ok)
		return errf(x->err, x->errlen, "streaming ended without a next timeline");
	log_kv(LOGL_INFO, "the server's timeline changed: streaming the next one", NULL);
	/* The switch segment is the new timeline's, whole: begun again at its start. */
	x->pos = start - start % x->segsize;
	x->spool_seg = NONE;
	x->pending = 0;
	return rx_history(x, x->tli);
}

static int
rx_start(struct rx *x)
{
	PGresult	*res;
	char		 lsn[PG_WAL_LSN_MAX], *sql, tl[16];

	pg_wal_lsn_format(x->pos, lsn);
	sql = xasprintf("START_REPLICATION SLOT \"%s\" PHYSICAL %s TIMELINE %u", x->o->slot,
	    lsn, x->tli);
	res = rx_query(x, sql, PGRES_COPY_BOTH);
	free(sql);
	if (res == NULL)
		return -1;
	PQclear(res);
	snprintf(tl, sizeof(tl), "%u", x->tli);
	log_kv(LOGL_INFO, "streaming WAL", "from", lsn, "timeline", tl, "slot", x->o->slot,
	    NULL);
	return 0;
}

static int
rx_stream(struct rx *x)
{
	char	*buf;
	int	 n, r;

	for (;;) {
		n = PQgetCopyData(x->conn, &buf, 1);
		if (n > 0) {
			r = rx_message(x, buf, n);
			PQfreemem(buf);
			if (r == -1)
				return -1;
			continue;
		}
		if (n == -2)
			return fail(x, "streaming");
		if (n == -1) {
			if (rx_timeline_end(x) == -1 || rx_start(x) == -1)
				return -1;
			continue;
		}
		if (x->o->progress != NULL)
			x->o->progress(x->o->arg, x->pos, x->pending);
		if (time(NULL) - x->last_status >= STATUS_EVERY && rx_status(x) == -1)
			return -1;
		if ((r = rx_wait(x, POLLIN, 1000)) == -1)
			return -1;
		if (r == 1 && PQconsumeInput(x->conn) != 1)
			return fail(x, "streaming");
	}
}

/* The first segment to ask for: after the newest archived, where the server still has it. */
static void
rx_position(struct rx *x, uint64_t restart, uint32_t rtli)
{
	uint64_t	next, slot_seg, now_seg = x->xlogpos / x->segsize;
	char		a[PG_WAL_NAME_MAX], b[PG_WAL_NAME_MAX];

	if (rtli != 0 && rtli < x->tli)
		x->tli = rtli;
	next = x->o->next_segment(x->o->arg, x->tli, x->segsize);
	slot_seg = restart != NONE ? restart / x->segsize : now_seg;
	if (next == 0)
		next = slot_seg;
	else if (next < slot_seg) {
		pg_wal_segment_name(x->tli, next, x->segsize, a);
		pg_wal_segment_name(x->tli, slot_seg - 1, x->segsize, b);
		log_kv(LOGL_ERROR, "WAL the archive lacks is gone from the server: a gap in the "
		    "archive (a new base backup starts a new chain)", "from", a, "to", b, NULL);
		next = slot_seg;
	}
	if (next > now_seg)
		next = now_seg;
	x->pos = next * x->segsize;
	x->archived = x->pos;
}

int
wal_receive(const struct wal_receiver *o, char *err, size_t errlen)
{
	struct rx	x;
	uint64_t	restart;
	uint32_t	rtli;
	int		rc = -1;

	memset(&x, 0, sizeof(x));
	x.o = o;
	x.err = err;
	x.errlen = errlen;
	x.spool_seg = NONE;
	if ((x.spool = open(o->spool, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1)
		return errf(err, errlen, "%s: %s", o->spool, strerror(errno));
	if (rx_connect(&x) == 0 && rx_identify(&x) == 0 && rx_slot(&x, &restart, &rtli) == 0 &&
	    rx_history(&x, x.tli) == 0) {
		rx_position(&x, restart, rtli);
		if (rx_start(&x) == 0 && rx_status(&x) == 0)
			rc = rx_stream(&x);
	}
	if (x.stopped)
		rc = 0;
	if (x.conn != NULL)
		PQfinish(x.conn);
	close(x.spool);
	unlink(o->spool);
	return rc;
}
