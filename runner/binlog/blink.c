/*
 * blink: the link between two histories of the binary log archive.  See
 * blink.h.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/memfile.h"
#include "common/util.h"
#include "runner/binlog/blink.h"
#include "runner/stream/pipeline.h"
#include "runner/wal/archive.h"

static const unsigned char	magic[8] = "KBBLINK1";

#define OFF_HIST	8
#define OFF_SERVER	16
#define OFF_PSERVER	24
#define OFF_PEND	32
#define OFF_START	40
#define OFF_PFILE	48
#define OFF_FILE	(OFF_PFILE + BOBJ_NAME_MAX)
#define OFF_GTID	(OFF_FILE + BOBJ_NAME_MAX)

void
blink_encode(const struct binlog_link *l, unsigned char out[BLINK_HEAD_LEN])
{
	memset(out, 0, BLINK_HEAD_LEN);
	memcpy(out, magic, sizeof(magic));
	be64_put(out + OFF_HIST, l->hist);
	be64_put(out + OFF_SERVER, l->server);
	be64_put(out + OFF_PSERVER, l->parent_server);
	be64_put(out + OFF_PEND, l->parent_end);
	be64_put(out + OFF_START, l->start);
	strlcpy((char *)out + OFF_PFILE, l->parent_file, BOBJ_NAME_MAX);
	strlcpy((char *)out + OFF_FILE, l->file, BOBJ_NAME_MAX);
	strlcpy((char *)out + OFF_GTID, l->gtid, MY_BINLOG_GTID_MAX);
}

/* A NUL-padded name field: -1 when it fills its room. */
static int
field(const unsigned char *in, size_t room, char *out)
{
	if (memchr(in, '\0', room) == NULL)
		return -1;
	memcpy(out, in, room);
	return 0;
}

int
blink_decode(const unsigned char in[BLINK_HEAD_LEN], struct binlog_link *l, char *err,
    size_t errlen)
{
	struct my_gtid_pos	 pos;
	char			 base[BOBJ_NAME_MAX], why[KB_ERRLEN];
	uint32_t		 seq;

	memset(l, 0, sizeof(*l));
	if (memcmp(in, magic, sizeof(magic)) != 0)
		return errf(err, errlen, "not a binary log history link (bad magic)");
	l->hist = (uint32_t)be64_get(in + OFF_HIST);
	l->server = (uint32_t)be64_get(in + OFF_SERVER);
	l->parent_server = (uint32_t)be64_get(in + OFF_PSERVER);
	l->parent_end = be64_get(in + OFF_PEND);
	l->start = be64_get(in + OFF_START);
	if (field(in + OFF_PFILE, BOBJ_NAME_MAX, l->parent_file) == -1 ||
	    field(in + OFF_FILE, BOBJ_NAME_MAX, l->file) == -1 ||
	    field(in + OFF_GTID, MY_BINLOG_GTID_MAX, l->gtid) == -1)
		return errf(err, errlen, "a history link's name field is not terminated");
	if (be64_get(in + OFF_HIST) > UINT32_MAX || be64_get(in + OFF_SERVER) > UINT32_MAX ||
	    be64_get(in + OFF_PSERVER) > UINT32_MAX)
		return errf(err, errlen, "a history link with a number past 32 bits");
	if (l->hist < 2 || l->server == 0 || l->parent_end < BOBJ_MAGIC_LEN ||
	    l->start < BOBJ_MAGIC_LEN)
		return errf(err, errlen, "a history link with history %" PRIu32 ", server id %"
		    PRIu32 ", offsets %" PRIu64 " and %" PRIu64, l->hist, l->server,
		    l->parent_end, l->start);
	if (my_binlog_name_parse(l->parent_file, base, sizeof(base), &seq) == -1 ||
	    my_binlog_name_parse(l->file, base, sizeof(base), &seq) == -1)
		return errf(err, errlen, "a history link names no binary log file");
	if (my_gtid_pos_parse(l->gtid, &pos, why, sizeof(why)) == -1)
		return errf(err, errlen, "a history link's GTID position: %s", why);
	return 0;
}

char *
blink_key(const char *base, uint32_t hist)
{
	return xasprintf("%s/binlog/%" PRIu32 "/link", base, hist);
}

int
blink_key_parse(const char *rest, uint32_t *hist)
{
	const char	*errstr;
	char		 num[11];
	size_t		 n = strspn(rest, "0123456789");

	if (n == 0 || n >= sizeof(num) || strcmp(rest + n, "/link") != 0)
		return 0;
	memcpy(num, rest, n);
	num[n] = '\0';
	*hist = (uint32_t)strtonum(num, 2, UINT32_MAX, &errstr);
	return errstr == NULL;
}

int
blink_read(struct location *loc, const struct keyring *kr, struct binlog_link *l,
    char *err, size_t errlen)
{
	unsigned char	 raw[BLINK_HEAD_LEN];
	uint64_t	 plain;
	uint32_t	 hist = 0;
	char		*key = l->key;
	const char	*rest = strstr(key, "/binlog/");

	if (pipeline_restore_head(loc->st, key, kr, "link", NULL, NULL, raw, sizeof(raw), 1,
	    -1, NULL, &plain, NULL, err, errlen) == -1 ||
	    blink_decode(raw, l, err, errlen) == -1) {
		l->key = key;
		return errprefix(err, errlen, "%s", key);
	}
	l->key = key;
	if (rest == NULL || blink_key_parse(rest + 8, &hist) != 1 || hist != l->hist)
		return errf(err, errlen, "%s holds the link of history %" PRIu32 ": swapped", key,
		    l->hist);
	return 0;
}

/* Whether two links say the same (their keys aside). */
static int
link_same(const struct binlog_link *a, const struct binlog_link *b)
{
	return a->hist == b->hist && a->server == b->server &&
	    a->parent_server == b->parent_server && a->parent_end == b->parent_end &&
	    a->start == b->start && strcmp(a->parent_file, b->parent_file) == 0 &&
	    strcmp(a->file, b->file) == 0 && strcmp(a->gtid, b->gtid) == 0;
}

int
blink_store(struct location *loc, const struct keyring *kr, const char *base,
    const struct binlog_link *l, char *err, size_t errlen)
{
	struct wal_store_opts	 o;
	struct binlog_link	 have;
	unsigned char		 raw[BLINK_HEAD_LEN];
	int			 fd, exists = 0, rc;

	memset(&o, 0, sizeof(o));
	blink_encode(l, raw);
	if ((fd = memfile_scratch("kbackup-link", err, errlen)) == -1)
		return -1;
	memset(&have, 0, sizeof(have));
	have.key = blink_key(base, l->hist);
	rc = archive_put(loc, kr, have.key, raw, sizeof(raw), fd, 0, &o, &exists, err,
	    errlen);
	close(fd);
	if (rc == -1 && exists) {
		/* Another archiver of the definition came first: the same link, or refused. */
		if ((rc = blink_read(loc, kr, &have, err, errlen)) == 0 && !link_same(&have, l))
			rc = errf(err, errlen, "%s is stored already and says otherwise (history %"
			    PRIu32 " from server id %" PRIu32 " at %s:%" PRIu64 "): two archivers "
			    "reach different servers", have.key, have.hist, have.server,
			    have.file, have.start);
	} else if (rc == -1)
		errprefix(err, errlen, "storing %s in %s", have.key, loc->desc);
	free(have.key);
	return rc;
}

/* pos with g as its GTID of g's domain. */
static int
state_set(struct my_gtid_pos *pos, const struct my_gtid *g, char *err, size_t errlen)
{
	size_t	i;

	for (i = 0; i < pos->n; i++)
		if (pos->v[i].domain == g->domain) {
			pos->v[i] = *g;
			return 0;
		}
	if (pos->n == MY_GTID_DOMAINS_MAX)
		return errf(err, errlen, "more than %d replication domains",
		    MY_GTID_DOMAINS_MAX);
	pos->v[pos->n++] = *g;
	return 0;
}

/*
 * The file's GTID list at ev into *state (2), or a GTID event into g (1);
 * 0 for another event.
 */
static int
state_event(const unsigned char *ev, size_t have, struct my_gtid_pos *state,
    struct my_gtid *g, uint64_t off, char *err, size_t errlen)
{
	struct my_gtid_pos	list;
	int			rc;

	if ((rc = bobj_event_gtid_list(ev, have, &list)) == -1)
		return errf(err, errlen, "a GTID list event at offset %" PRIu64 " that does not "
		    "read", off);
	if (rc == 1) {
		*state = list;
		return 2;
	}
	if (have < BOBJ_EV_GTID_MIN || bobj_event_gtid(ev, g) != 1)
		return 0;
	return 1;
}

/*
 * The GTID position along a file's events: for blink_tail() (want NULL) the
 * state before the last GTID and where it starts; for blink_continuation()
 * where the first transaction want does not hold starts.
 */
struct state_walk {
	const struct my_gtid_pos *want;
	struct my_gtid_pos	 state;		/* up to the event read */
	struct my_gtid_pos	 before;	/* the tail: before the last GTID read */
	uint64_t		 at;
	int			 found;
};

/* 1 when g is one of the transactions want holds (by its domain's sequence). */
static int
held(const struct my_gtid_pos *want, const struct my_gtid *g)
{
	const struct my_gtid	*w = my_gtid_pos_domain(want, g->domain);

	return w != NULL && g->seq <= w->seq;
}

/* -1 unless the state reached is want, domain by domain. */
static int
state_is(const struct state_walk *c, uint64_t off, char *err, size_t errlen)
{
	const struct my_gtid	*a, *b;
	char			 at[MY_GTID_TEXT], wt[MY_GTID_TEXT];
	size_t			 i;

	for (i = 0; i < c->want->n; i++) {
		b = &c->want->v[i];
		if ((a = my_gtid_pos_domain(&c->state, b->domain)) != NULL &&
		    a->seq == b->seq && a->server == b->server)
			continue;
		my_gtid_text(b, wt);
		if (a == NULL)
			return errf(err, errlen, "the server's binary log has no transaction of "
			    "domain %" PRIu32 " before offset %" PRIu64 ", where the archive has "
			    "%s: it lacks archived transactions", b->domain, off, wt);
		my_gtid_text(a, at);
		return errf(err, errlen, "the server's binary log has %s where the archive "
		    "has %s (offset %" PRIu64 "): it %s", at, wt, off, a->seq < b->seq ?
		    "lacks archived transactions" : "wrote other transactions under their "
		    "numbers");
	}
	for (i = 0; i < c->state.n; i++)
		if (my_gtid_pos_domain(c->want, c->state.v[i].domain) == NULL) {
			my_gtid_text(&c->state.v[i], at);
			return errf(err, errlen, "the server's binary log has %s before offset %"
			    PRIu64 ", of a domain the archive does not have", at, off);
		}
	return 0;
}

/* -1 when g has the number of want's GTID of its domain but another server. */
static int
same_number(const struct my_gtid_pos *want, const struct my_gtid *g, uint64_t off,
    char *err, size_t errlen)
{
	const struct my_gtid	*w = my_gtid_pos_domain(want, g->domain);
	char			 gt[MY_GTID_TEXT], wt[MY_GTID_TEXT];

	if (w == NULL || w->seq != g->seq || w->server == g->server)
		return 0;
	my_gtid_text(g, gt);
	my_gtid_text(w, wt);
	return errf(err, errlen, "the server's binary log has %s where the archive has %s "
	    "(offset %" PRIu64 "): it wrote another transaction under that number", gt, wt,
	    off);
}

/* A file's start: -1 when its log is past want already in a domain of want. */
static int
list_check(const struct state_walk *c, const struct my_gtid_pos *list, char *err,
    size_t errlen)
{
	char	lt[MY_GTID_TEXT];
	size_t	i;

	for (i = 0; i < list->n; i++)
		if (my_gtid_pos_domain(c->want, list->v[i].domain) != NULL &&
		    !held(c->want, &list->v[i])) {
			my_gtid_text(&list->v[i], lt);
			return errf(err, errlen, "the server's binary log file starts past the "
			    "archive's end (at %s): it no longer has the transactions between "
			    "(purged)", lt);
		}
	return 0;
}

static int
walk_event(const unsigned char *ev, size_t have, uint64_t off, void *arg, char *err,
    size_t errlen)
{
	struct state_walk	*w = arg;
	struct my_gtid		 g;
	int			 rc;

	if ((rc = state_event(ev, have, &w->state, &g, off, err, errlen)) != 1)
		return rc == 2 && w->want != NULL ? list_check(w, &w->state, err, errlen) :
		    rc == -1 ? -1 : 0;
	if (w->want == NULL) {		/* the tail: the last GTID so far */
		w->before = w->state;
		w->at = off;
		w->found = 1;
	} else if (!held(w->want, &g)) {
		if (state_is(w, off, err, errlen) == -1)
			return -1;
		w->at = off;
		w->found = 1;
		return 1;
	} else if (same_number(w->want, &g, off, err, errlen) == -1)
		return -1;
	return state_set(&w->state, &g, err, errlen);
}

int
blink_tail(int fd, uint64_t len, uint64_t *end, struct my_gtid_pos *state, char *err,
    size_t errlen)
{
	struct state_walk	w;

	memset(&w, 0, sizeof(w));
	if (bobj_walk(fd, BOBJ_MAGIC_LEN, len, walk_event, &w, err, errlen) == -1)
		return -1;
	*end = w.found ? w.at : len;
	*state = w.found ? w.before : w.state;
	return 0;
}

int
blink_continuation(int fd, uint64_t len, const struct my_gtid_pos *state,
    uint64_t *start, char *err, size_t errlen)
{
	struct state_walk	w;

	memset(&w, 0, sizeof(w));
	w.want = state;
	if (bobj_walk(fd, BOBJ_MAGIC_LEN, len, walk_event, &w, err, errlen) == -1)
		return -1;
	*start = w.at;
	return w.found;
}
