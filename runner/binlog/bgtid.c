/*
 * bgtid: a MariaDB GTID position in the replayed files.  See bgtid.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "runner/binlog/bgtid.h"
#include "runner/binlog/bobj.h"

#define WALK_BUF	(1024 * 1024)

int
bgtid_begin(struct bgtid_walk *w, const struct my_gtid_pos *target,
    const struct my_gtid_pos *dump, const char *id, char *err, size_t errlen)
{
	const struct my_gtid	*d;
	char			 a[MY_GTID_TEXT], b[MY_GTID_TEXT];
	size_t			 i;

	memset(w, 0, sizeof(*w));
	w->target = *target;
	for (i = 0; i < target->n; i++) {
		if ((d = my_gtid_pos_domain(dump, target->v[i].domain)) == NULL)
			continue;
		if (d->seq > target->v[i].seq) {
			my_gtid_text(d, a);
			my_gtid_text(&target->v[i], b);
			return errf(err, errlen, "backup %s stands at GTID %s, after %s: name an "
			    "older backup", id, a, b);
		}
		w->reached[i] = d->seq == target->v[i].seq;
	}
	return 0;
}

static int
all_reached(const struct bgtid_walk *w)
{
	size_t	i;

	for (i = 0; i < w->target.n; i++)
		if (!w->reached[i])
			return 0;
	return 1;
}

/* The first GTID of the target not reached yet, as text. */
static void
unreached(const struct bgtid_walk *w, char buf[MY_GTID_TEXT])
{
	size_t	i;

	for (i = 0; i < w->target.n; i++)
		if (!w->reached[i]) {
			my_gtid_text(&w->target.v[i], buf);
			return;
		}
	strlcpy(buf, "?", MY_GTID_TEXT);
}

/* Done: the replay stops before name:off. */
static int
stop_at(struct bgtid_walk *w, const char *name, uint64_t off)
{
	w->done = 1;
	strlcpy(w->stop.file, name, sizeof(w->stop.file));
	w->stop.position = off;
	return 0;
}

/* One transaction's GTID event at name:off. */
static int
step(struct bgtid_walk *w, const struct my_gtid *g, const char *name, uint64_t off,
    char *err, size_t errlen)
{
	const struct my_gtid	*t;
	char			 gt[MY_GTID_TEXT], tt[MY_GTID_TEXT];
	size_t			 i;

	if (all_reached(w))
		return stop_at(w, name, off);
	my_gtid_text(g, gt);
	if ((t = my_gtid_pos_domain(&w->target, g->domain)) == NULL)
		return errf(err, errlen, "transaction %s (at %s:%" PRIu64 ") is of domain %" PRIu32
		    ", which the GTID position does not name: name every domain, as "
		    "@@gtid_binlog_pos does", gt, name, off, g->domain);
	i = (size_t)(t - w->target.v);
	my_gtid_text(t, tt);
	if (w->reached[i]) {
		unreached(w, tt);
		return errf(err, errlen, "the GTID position is no point of the binary log: "
		    "transaction %s (at %s:%" PRIu64 ") comes before %s", gt, name, off, tt);
	}
	if (g->seq > t->seq || (g->seq == t->seq && g->server != t->server))
		return errf(err, errlen, "GTID %s is not in the binary log: domain %" PRIu32
		    " goes on with %s at %s:%" PRIu64, tt, g->domain, gt, name, off);
	w->reached[i] = g->seq == t->seq;
	w->newest = *g;
	w->any = 1;
	return 0;
}

/* Refills buf from fd at *off + *p: what is left moves to the front. */
static int
refill(int fd, unsigned char *buf, size_t *len, size_t *p, uint64_t *off, char *err,
    size_t errlen)
{
	ssize_t	n;

	memmove(buf, buf + *p, *len - *p);
	*off += *p;
	*len -= *p;
	*p = 0;
	if ((n = pread_full(fd, buf + *len, WALK_BUF - *len, (off_t)(*off + *len))) == -1)
		return errf(err, errlen, "reading: %s", strerror(errno));
	*len += (size_t)n;
	return 0;
}

int
bgtid_file(struct bgtid_walk *w, int fd, const char *name, uint64_t from, char *err,
    size_t errlen)
{
	struct my_gtid	 g;
	unsigned char	*buf = xmalloc(WALK_BUF);
	uint64_t	 off = from;
	size_t		 len = 0, p = 0;
	uint32_t	 size;
	int		 rc = 0;

	while (rc == 0 && !w->done) {
		if (len - p < BOBJ_EV_GTID_MIN &&
		    (rc = refill(fd, buf, &len, &p, &off, err, errlen)) == -1)
			break;
		if (len - p < BOBJ_EV_HEADER)
			break;
		if ((size = bobj_event_size(buf + p)) < BOBJ_EV_HEADER) {
			rc = errf(err, errlen, "%s: an event of %" PRIu32 " bytes at offset %"
			    PRIu64, name, size, off + p);
			break;
		}
		if (len - p >= BOBJ_EV_GTID_MIN && bobj_event_gtid(buf + p, &g) == 1)
			rc = step(w, &g, name, off + p, err, errlen);
		if (size <= len - p)
			p += size;
		else {
			off += p + size;
			len = p = 0;
		}
	}
	free(buf);
	return rc;
}

int
bgtid_end(struct bgtid_walk *w, const char *name, uint64_t end, char *err, size_t errlen)
{
	char	want[MY_GTID_TEXT], newest[MY_GTID_TEXT];

	if (w->done)
		return 0;
	if (all_reached(w))
		return stop_at(w, name, end);
	unreached(w, want);
	if (w->any)
		my_gtid_text(&w->newest, newest);
	return errf(err, errlen, "the archive does not reach GTID %s yet (its newest archived "
	    "transaction is %s)", want, w->any ? newest : "none since the backup");
}
