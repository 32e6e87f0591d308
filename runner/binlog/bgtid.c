/*
 * bgtid: a MariaDB GTID position in the replayed files.  See bgtid.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "runner/binlog/bgtid.h"
#include "runner/binlog/bobj.h"

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

struct walk_arg {
	struct bgtid_walk	*w;
	const char		*name;
};

static int
walk_event(const unsigned char *ev, size_t have, uint64_t off, void *arg, char *err,
    size_t errlen)
{
	struct walk_arg	*a = arg;
	struct my_gtid	 g;

	if (have >= BOBJ_EV_GTID_MIN && bobj_event_gtid(ev, &g) == 1 &&
	    step(a->w, &g, a->name, off, err, errlen) == -1)
		return -1;
	return a->w->done;
}

int
bgtid_file(struct bgtid_walk *w, int fd, const char *name, uint64_t from, uint64_t end,
    char *err, size_t errlen)
{
	struct walk_arg	a;
	struct stat	st;

	if (fstat(fd, &st) == -1)
		return errf(err, errlen, "%s: %s", name, strerror(errno));
	a.w = w;
	a.name = name;
	if (end == 0 || end > (uint64_t)st.st_size)
		end = (uint64_t)st.st_size;
	return bobj_walk(fd, from, end, walk_event, &a, err, errlen);
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
