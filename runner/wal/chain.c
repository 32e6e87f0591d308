/*
 * chain: timelines, runs and recoverable windows of a WAL archive.  See
 * chain.h.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/memfile.h"
#include "common/util.h"
#include "runner/wal/chain.h"

#define HISTORY_MAX	(1024 * 1024)
#define E_LOOKBACK	8	/* segments read back from a run's end for its last commit */
#define NONE		UINT64_MAX

struct listing {
	struct wal_archive	*ar;
	size_t			 prefixlen;
	uint64_t		 segsize;
};

static int
entry_cmp(const void *a, const void *b)
{
	const struct wal_entry	*x = a, *y = b;
	int			 xs = x->n.kind == PG_WAL_SEGMENT, ys = y->n.kind == PG_WAL_SEGMENT;

	if (xs != ys)
		return ys - xs;
	if (x->n.tli != y->n.tli)
		return x->n.tli < y->n.tli ? -1 : 1;
	if (x->n.segno != y->n.segno)
		return x->n.segno < y->n.segno ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int
list_one(const struct storage_object *o, void *arg)
{
	struct listing		*l = arg;
	struct wal_archive	*ar = l->ar;
	const char		*rest = o->key + l->prefixlen, *name;
	struct pg_wal_name	 n;
	struct wal_entry	*e;

	if (strlen(o->key) <= l->prefixlen)
		return 0;
	name = strchr(rest, '/') != NULL ? strchr(rest, '/') + 1 : rest;
	if (pg_wal_name_parse(name, l->segsize, &n) == -1)
		return 0;
	/* A file belongs under its own timeline's folder; a history file at the top. */
	if (n.kind == PG_WAL_HISTORY ? name != rest : (name - rest != 9 ||
	    strncmp(rest, name, 8) != 0))
		return 0;
	ar->v = xreallocarray(ar->v, ar->n + 1, sizeof(*ar->v));
	e = &ar->v[ar->n++];
	memset(e, 0, sizeof(*e));
	strlcpy(e->name, name, sizeof(e->name));
	e->n = n;
	e->key = xstrdup(o->key);
	e->mtime = o->mtime;
	e->size = o->size;
	return 0;
}

/* "PARENT<TAB>X/Y<TAB>reason" lines, comments and blank lines, as PostgreSQL writes them. */
int
wal_history_parse(char *text, uint32_t tli, struct wal_history *h, char *err,
    size_t errlen)
{
	char		*line, *save = NULL, *p, lsn[32];
	unsigned int	 parent;
	uint64_t	 end;

	memset(h, 0, sizeof(*h));
	h->tli = tli;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '\0' || *p == '#')
			continue;
		if (sscanf(p, "%u %31s", &parent, lsn) != 2 || pg_wal_lsn_parse(lsn, &end) == -1)
			return errf(err, errlen, "%08X.history: a line that is not "
			    "\"TIMELINE LSN reason\"", h->tli);
		if (parent == 0 || parent >= h->tli || (h->n > 0 &&
		    (parent <= h->forks[h->n - 1].parent || end < h->forks[h->n - 1].end)))
			return errf(err, errlen, "%08X.history: timelines out of order", h->tli);
		h->forks = xreallocarray(h->forks, h->n + 1, sizeof(*h->forks));
		h->forks[h->n].parent = parent;
		h->forks[h->n].end = end;
		h->n++;
	}
	if (h->n == 0)
		return errf(err, errlen, "%08X.history: no timeline in it", h->tli);
	return 0;
}


static int
history_load(struct wal_archive *ar, const struct wal_entry *e, char *err, size_t errlen)
{
	struct wal_history	 h;
	char			*text;
	off_t			 len = 0;
	int			 fd, missing = 0, rc;

	if ((fd = memfile_scratch("kbackup-history", err, errlen)) == -1)
		return -1;
	rc = wal_fetch(ar->loc, ar->kr, ar->base, e->name, fd, NULL, &missing, err, errlen);
	if (rc == 0 && ((len = lseek(fd, 0, SEEK_END)) == -1 || len > HISTORY_MAX))
		rc = errf(err, errlen, "%s: too large for a history file", e->name);
	if (rc == -1) {
		close(fd);
		return -1;
	}
	text = xmalloc((size_t)len + 1);
	if (pread(fd, text, (size_t)len, 0) != len) {
		close(fd);
		free(text);
		return errf(err, errlen, "%s: %s", e->name, strerror(errno));
	}
	close(fd);
	text[len] = '\0';
	rc = wal_history_parse(text, e->n.tli, &h, err, errlen);
	free(text);
	if (rc == -1) {
		free(h.forks);
		return -1;
	}
	ar->hist = xreallocarray(ar->hist, ar->nhist + 1, sizeof(*ar->hist));
	ar->hist[ar->nhist++] = h;
	return 0;
}

int
wal_archive_open(struct location *loc, const char *base, const struct keyring *kr,
    uint64_t segsize, struct wal_archive *ar, char *err, size_t errlen)
{
	struct listing	 l;
	char		*prefix;
	size_t		 i;
	int		 missing = 0;

	memset(ar, 0, sizeof(*ar));
	ar->loc = loc;
	ar->kr = kr;
	ar->base = xstrdup(base);
	if (wal_identity_read(loc->st, base, &ar->id, &missing, err, errlen) == 0)
		ar->have_identity = 1;
	else if (!missing) {
		wal_archive_close(ar);
		return -1;
	} else
		ar->id.segsize = segsize != 0 ? segsize : PG_WAL_SEG_SIZE_DEFAULT;
	prefix = wal_prefix(base);
	l.ar = ar;
	l.prefixlen = strlen(prefix);
	l.segsize = ar->id.segsize;
	if (loc->st->ops->list(loc->st, prefix, NULL, list_one, &l, err, errlen) == -1) {
		free(prefix);
		wal_archive_close(ar);
		return errprefix(err, errlen, "listing the WAL archive in %s", loc->desc);
	}
	free(prefix);
	if (ar->n > 0)
		qsort(ar->v, ar->n, sizeof(*ar->v), entry_cmp);
	for (i = 0; i < ar->n; i++) {
		if (ar->v[i].n.kind == PG_WAL_SEGMENT)
			ar->nsegs = i + 1;
		if (ar->v[i].n.tli > ar->max_tli && ar->v[i].n.kind != PG_WAL_BACKUP)
			ar->max_tli = ar->v[i].n.tli;
		if (ar->v[i].n.kind == PG_WAL_HISTORY &&
		    history_load(ar, &ar->v[i], err, errlen) == -1) {
			wal_archive_close(ar);
			return errprefix(err, errlen, "the WAL archive in %s", loc->desc);
		}
	}
	return 0;
}

void
wal_archive_close(struct wal_archive *ar)
{
	size_t	i;

	for (i = 0; i < ar->n; i++)
		free(ar->v[i].key);
	free(ar->v);
	for (i = 0; i < ar->nhist; i++)
		free(ar->hist[i].forks);
	free(ar->hist);
	free(ar->base);
	memset(ar, 0, sizeof(*ar));
}

static const struct wal_history *
history_of(const struct wal_archive *ar, uint32_t tli)
{
	size_t	i;

	for (i = 0; i < ar->nhist; i++)
		if (ar->hist[i].tli == tli)
			return &ar->hist[i];
	return NULL;
}

static void
path_add(struct wal_path *p, uint32_t tli, uint64_t from, uint64_t to)
{
	p->v = xreallocarray(p->v, p->n + 1, sizeof(*p->v));
	p->v[p->n].tli = tli;
	p->v[p->n].from = from;
	p->v[p->n].to = to < from ? from : to;
	p->n++;
}

int
wal_path_of(const struct wal_archive *ar, uint32_t target, struct wal_path *p, char *err,
    size_t errlen)
{
	const struct wal_history	*h;
	uint64_t			 seg = ar->id.segsize, from = 0;
	size_t				 i;

	memset(p, 0, sizeof(*p));
	p->target = target;
	if ((h = history_of(ar, target)) == NULL) {
		if (target != 1)
			return errf(err, errlen, "timeline %u: its history file %08X.history is "
			    "not in the archive", target, target);
		path_add(p, 1, 0, NONE);
		return 0;
	}
	for (i = 0; i < h->n; i++) {
		path_add(p, h->forks[i].parent, from, h->forks[i].end / seg);
		from = h->forks[i].end / seg;
	}
	path_add(p, target, from, NONE);
	return 0;
}

void
wal_path_free(struct wal_path *p)
{
	free(p->v);
	memset(p, 0, sizeof(*p));
}

uint32_t
wal_path_tli(const struct wal_path *p, uint64_t segno)
{
	size_t	i;

	for (i = 0; i < p->n; i++)
		if (segno >= p->v[i].from && segno < p->v[i].to)
			return p->v[i].tli;
	return 0;
}

static int
seg_cmp(const void *key, const void *elem)
{
	const struct wal_entry	*k = key, *e = elem;

	if (k->n.tli != e->n.tli)
		return k->n.tli < e->n.tli ? -1 : 1;
	if (k->n.segno != e->n.segno)
		return k->n.segno < e->n.segno ? -1 : 1;
	return 0;
}

static const struct wal_entry *
find_segment(const struct wal_archive *ar, uint32_t tli, uint64_t segno)
{
	struct wal_entry	k;

	k.n.tli = tli;
	k.n.segno = segno;
	if (ar->nsegs == 0)
		return NULL;
	return bsearch(&k, ar->v, ar->nsegs, sizeof(*ar->v), seg_cmp);
}

int
wal_has_segment(const struct wal_archive *ar, uint32_t tli, uint64_t segno)
{
	return find_segment(ar, tli, segno) != NULL;
}

/* The newest segment on the path, or NONE. */
static uint64_t
path_newest(const struct wal_archive *ar, const struct wal_path *p)
{
	uint64_t	newest = NONE;
	size_t		i;

	for (i = 0; i < ar->nsegs; i++)
		if (wal_path_tli(p, ar->v[i].n.segno) == ar->v[i].n.tli &&
		    (newest == NONE || ar->v[i].n.segno > newest))
			newest = ar->v[i].n.segno;
	return newest;
}

/* The first segment of [from, to] the path needs and the archive lacks, or NONE. */
static uint64_t
first_missing(const struct wal_archive *ar, const struct wal_path *p, uint64_t from,
    uint64_t to)
{
	uint64_t	s;

	if (to == NONE || to < from)
		return from;
	for (s = from; s <= to; s++)
		if (!wal_has_segment(ar, wal_path_tli(p, s), s))
			return s;
	return NONE;
}

/* How many segments of [from, to] the path needs and the archive lacks. */
static uint64_t
count_missing(const struct wal_archive *ar, const struct wal_path *p, uint64_t from,
    uint64_t to)
{
	uint64_t	s, n = 0;

	for (s = from; s <= to && to != NONE; s++)
		n += !wal_has_segment(ar, wal_path_tli(p, s), s);
	return n;
}

/* Where the path leaves tli (the LSN its child began at), or NONE: it does not. */
static uint64_t
leaves_at(const struct wal_archive *ar, uint32_t target, uint32_t tli)
{
	const struct wal_history	*h = history_of(ar, target);
	size_t				 i;

	for (i = 0; h != NULL && i < h->n; i++)
		if (h->forks[i].parent == tli)
			return h->forks[i].end;
	return NONE;
}

uint32_t
wal_base_timeline(const struct wal_archive *ar, const struct wal_base *b,
    struct wal_path *path)
{
	uint32_t	L, top = ar->max_tli > b->d.stop_timeline ? ar->max_tli :
			    b->d.stop_timeline;
	char		err[KB_ERRLEN];

	for (L = top; L >= b->d.stop_timeline && L > 0; L--) {
		if (wal_path_of(ar, L, path, err, sizeof(err)) == -1)
			continue;
		if (wal_path_tli(path, b->d.first_segno) == b->d.timeline &&
		    wal_path_tli(path, b->d.last_segno) == b->d.stop_timeline &&
		    (L == b->d.stop_timeline || (leaves_at(ar, L, b->d.stop_timeline) != NONE &&
		    leaves_at(ar, L, b->d.stop_timeline) >= b->d.stop_lsn)))
			return L;
		wal_path_free(path);
	}
	memset(path, 0, sizeof(*path));
	return 0;
}

/* What one base can replay: its timeline, and where its run ends. */
struct base_run {
	uint32_t	timeline;
	uint64_t	end;		/* last segment of the run */
	uint64_t	miss;		/* first missing after it, or NONE */
	uint64_t	newest;
	uint64_t	nmissing;	/* from miss to newest */
	int		bad;
	size_t		win;
};

static void
seg_name(const struct wal_archive *ar, const struct wal_path *p, uint64_t segno,
    char *buf)
{
	uint32_t	tli = wal_path_tli(p, segno);

	pg_wal_segment_name(tli != 0 ? tli : 1, segno, ar->id.segsize, buf);
}

static void
base_run(struct wal_archive *ar, const struct wal_base *b, struct base_run *br,
    char *missing)
{
	struct wal_path	path;

	memset(br, 0, sizeof(*br));
	missing[0] = '\0';
	if ((br->timeline = wal_base_timeline(ar, b, &path)) == 0) {
		pg_wal_segment_name(b->d.timeline, b->d.first_segno, ar->id.segsize, missing);
		br->bad = 1;
		return;
	}
	br->newest = path_newest(ar, &path);
	br->miss = first_missing(ar, &path, b->d.first_segno, br->newest);
	if (br->miss != NONE && br->miss <= b->d.last_segno) {
		seg_name(ar, &path, br->miss, missing);
		br->bad = 1;
	} else if (br->miss != NONE && br->newest != NONE && br->miss > br->newest) {
		br->miss = NONE;	/* the newest is older than the backup's last */
		br->bad = 1;
		seg_name(ar, &path, b->d.last_segno, missing);
	}
	br->end = br->miss == NONE ? br->newest : br->miss - 1;
	if (br->miss != NONE) {
		seg_name(ar, &path, br->miss, missing);
		br->nmissing = count_missing(ar, &path, br->miss, br->newest);
	}
	wal_path_free(&path);
}

/* The last commit in the run: the heads of its last segments, newest first. */
static void
window_end(struct wal_archive *ar, struct wal_window *w)
{
	struct walobj_head	 h;
	struct wal_path		 path;
	const struct wal_entry	*e;
	char			 err[KB_ERRLEN];
	uint64_t		 s;
	int			 i, missing;

	if (wal_path_of(ar, w->timeline, &path, err, sizeof(err)) == -1)
		return;
	for (s = w->last_segno, i = 0; i < E_LOOKBACK && s >= w->first_segno; s--, i++) {
		e = find_segment(ar, wal_path_tli(&path, s), s);
		ar->head_reads++;
		if (e == NULL || wal_read_head(ar->loc, ar->kr, e->key, e->name, &h, &missing,
		    err, sizeof(err)) == -1) {
			log_kv(LOGL_WARN, "WAL segment head not read: the window may end earlier "
			    "than it could", "segment", e != NULL ? e->name : "?", "error", err,
			    NULL);
			continue;
		}
		if (h.last_xact_us > 0) {
			w->to_us = h.last_xact_us;
			break;
		}
		if (s == 0)
			break;
	}
	wal_path_free(&path);
	w->to = w->to_us > 0 ? (time_t)(w->to_us / 1000000) : w->from;
	if (w->to < w->from)
		w->to = w->from;
}

static int
window_cmp(const void *a, const void *b)
{
	const struct wal_window	*x = a, *y = b;

	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	return x->timeline < y->timeline ? -1 : x->timeline > y->timeline;
}

/* The windows of bases, and each base's run (runs[i].win: its window, unsorted). */
static void
build_windows(struct wal_archive *ar, const struct wal_base *bases, size_t nbases,
    struct base_run *runs, struct wal_window **wp, size_t *nw, struct wal_bad_base **badp,
    size_t *nbad)
{
	struct wal_window	*w = NULL;
	char			 missing[PG_WAL_NAME_MAX];
	size_t			 i, j;

	*nw = *nbad = 0;
	*badp = NULL;
	for (i = 0; i < nbases; i++) {
		base_run(ar, &bases[i], &runs[i], missing);
		if (runs[i].bad) {
			*badp = xreallocarray(*badp, *nbad + 1, sizeof(**badp));
			(*badp)[*nbad].base = &bases[i];
			strlcpy((*badp)[*nbad].missing, missing, sizeof((*badp)[*nbad].missing));
			(*nbad)++;
			continue;
		}
		for (j = 0; j < *nw; j++)
			if (w[j].timeline == runs[i].timeline && w[j].last_segno == runs[i].end)
				break;
		if (j == *nw) {
			w = xreallocarray(w, *nw + 1, sizeof(*w));
			memset(&w[j], 0, sizeof(w[j]));
			w[j].timeline = runs[i].timeline;
			w[j].last_segno = runs[i].end;
			w[j].from = bases[i].finished;
			w[j].first_segno = bases[i].d.first_segno;
			strlcpy(w[j].gap, runs[i].miss != NONE ? missing : "", sizeof(w[j].gap));
			w[j].missing = runs[i].nmissing;
			(*nw)++;
		}
		if (bases[i].finished < w[j].from)
			w[j].from = bases[i].finished;
		if (bases[i].d.first_segno < w[j].first_segno)
			w[j].first_segno = bases[i].d.first_segno;
		w[j].nbases++;
		runs[i].win = j;
	}
	for (j = 0; j < *nw; j++)
		window_end(ar, &w[j]);
	*wp = w;
}

int
wal_windows(struct wal_archive *ar, const struct wal_base *bases, size_t nbases,
    struct wal_window **wp, size_t *nw, struct wal_bad_base **bad, size_t *nbad,
    char *err, size_t errlen)
{
	struct base_run	*runs = xcalloc(nbases > 0 ? nbases : 1, sizeof(*runs));

	build_windows(ar, bases, nbases, runs, wp, nw, bad, nbad);
	free(runs);
	if (*nw > 1)
		qsort(*wp, *nw, sizeof(**wp), window_cmp);
	return 0;
}

void
wal_windows_of(const struct wal_archive *ar, const struct wal_base *bases, size_t nbases,
    const struct wal_window *w, size_t nw, size_t *win_of)
{
	struct base_run	r;
	char		missing[PG_WAL_NAME_MAX];
	size_t		i, j;

	for (i = 0; i < nbases; i++) {
		win_of[i] = SIZE_MAX;
		base_run((struct wal_archive *)ar, &bases[i], &r, missing);
		for (j = 0; !r.bad && j < nw; j++)
			if (w[j].timeline == r.timeline && w[j].last_segno == r.end)
				win_of[i] = j;
	}
}

void
wal_window_text(const struct wal_window *w, char *buf, size_t len)
{
	char	from[21], to[21];

	time_to_rfc3339(w->from, from);
	time_to_rfc3339(w->to, to);
	snprintf(buf, len, "any time from %s to %s", from, to);
}

/* "any time from A to B (timeline 1), from C to D (timeline 2)" */
static void
windows_text(const struct wal_window *w, size_t n, char *buf, size_t len)
{
	char	one[128], from[21], to[21];
	size_t	i;

	buf[0] = '\0';
	if (n == 0) {
		strlcpy(buf, "no time at all (no base backup with its WAL archived)", len);
		return;
	}
	for (i = 0; i < n; i++) {
		time_to_rfc3339(w[i].from, from);
		time_to_rfc3339(w[i].to, to);
		snprintf(one, sizeof(one), "%sfrom %s to %s (timeline %u)", i == 0 ?
		    "any time " : ", ", from, to, w[i].timeline);
		strlcat(buf, one, len);
	}
}

/* Whether base i may start a recovery to t, and how good a start it is. */
static int
plan_fits(const struct wal_archive *ar, const struct wal_base *b, const struct base_run *r,
    const struct wal_window *w, const struct wal_target *t, uint32_t top)
{
	if (r->bad || (t->id != NULL && strcmp(t->id, b->id) != 0))
		return 0;
	switch (t->kind) {
	case WAL_TARGET_TIME:
		return b->finished <= t->at && (w->to_us > 0 ?
		    (int64_t)t->at * 1000000 <= w->to_us : t->at <= w->to);
	case WAL_TARGET_LSN:
		return b->d.stop_lsn <= t->lsn &&
		    t->lsn < (w->last_segno + 1) * ar->id.segsize;
	case WAL_TARGET_LATEST:
		/* The end of the newest timeline a backup reaches, not an older one's. */
		return w->gap[0] == '\0' && r->timeline == top;
	case WAL_TARGET_BACKUP:
		return 1;
	}
	return 0;
}

static int
plan_better(const struct wal_base *a, const struct base_run *ra, const struct wal_base *b,
    const struct base_run *rb, const struct wal_target *t)
{
	if (t->kind == WAL_TARGET_LSN)
		return a->d.stop_lsn > b->d.stop_lsn;
	if (t->kind == WAL_TARGET_LATEST && ra->timeline != rb->timeline)
		return ra->timeline > rb->timeline;
	return a->finished > b->finished;
}

/* Why no base fits t: the windows, and the gap that ends the one t is past. */
static int
plan_refuse(const struct wal_window *w, size_t nw, const struct wal_base *bases,
    size_t nbases, const struct base_run *runs, const struct wal_target *t, uint32_t top,
    char *err, size_t errlen)
{
	char	 list[1024], at[21], lsn[PG_WAL_LSN_MAX];
	size_t	 i;

	windows_text(w, nw, list, sizeof(list));
	if (t->id != NULL) {
		for (i = 0; i < nbases; i++)
			if (strcmp(bases[i].id, t->id) == 0)
				break;
		if (i == nbases)
			return errf(err, errlen, "%s is not a physical base backup of this "
			    "location", t->id);
		if (runs[i].bad)
			return errf(err, errlen, "base backup %s cannot be restored: the WAL it "
			    "needs is not all archived", t->id);
	}
	for (i = 0; i < nw; i++) {
		if (w[i].gap[0] == '\0')
			continue;
		if ((t->kind == WAL_TARGET_TIME && t->at >= w[i].from && t->at > w[i].to) ||
		    (t->kind == WAL_TARGET_LATEST && w[i].timeline == top))
			return errf(err, errlen, "the target is past a gap in the archive: "
			    "segment %s is missing (recoverable: %s)", w[i].gap, list);
	}
	if (t->kind == WAL_TARGET_TIME) {
		time_to_rfc3339(t->at, at);
		return errf(err, errlen, "%s is outside the recoverable window: %s", at, list);
	}
	if (t->kind == WAL_TARGET_LSN) {
		pg_wal_lsn_format(t->lsn, lsn);
		return errf(err, errlen, "LSN %s is outside what the archive can recover (from "
		    "a base backup's end to its last archived segment)", lsn);
	}
	return errf(err, errlen, "no base backup to restore: %s", list);
}

int
wal_plan_target(struct wal_archive *ar, const struct wal_base *bases, size_t nbases,
    const struct wal_target *t, struct wal_plan *plan, char *err, size_t errlen)
{
	struct base_run		*runs = xcalloc(nbases > 0 ? nbases : 1, sizeof(*runs));
	struct wal_window	*w = NULL;
	struct wal_bad_base	*bad = NULL;
	size_t			 nw, nbad, i, best = SIZE_MAX;
	uint32_t		 top = 0;
	int			 rc = 0;

	memset(plan, 0, sizeof(*plan));
	build_windows(ar, bases, nbases, runs, &w, &nw, &bad, &nbad);
	for (i = 0; i < nbases; i++)
		if (!runs[i].bad && runs[i].timeline > top)
			top = runs[i].timeline;
	for (i = 0; i < nbases; i++)
		if (plan_fits(ar, &bases[i], &runs[i], &w[runs[i].win], t, top) &&
		    (best == SIZE_MAX || plan_better(&bases[i], &runs[i], &bases[best],
		    &runs[best], t)))
			best = i;
	if (best == SIZE_MAX) {
		if (nw > 1)
			qsort(w, nw, sizeof(*w), window_cmp);
		rc = plan_refuse(w, nw, bases, nbases, runs, t, top, err, errlen);
	} else {
		plan->base = &bases[best];
		plan->timeline = runs[best].timeline;
		plan->window = w[runs[best].win];
		plan->at = t->at;
		plan->lsn = t->lsn;
		if (t->kind == WAL_TARGET_TIME)
			plan->recovery = (plan->window.to_us > 0 && (int64_t)t->at * 1000000 <
			    plan->window.to_us) ? WAL_RECOVER_TIME : WAL_RECOVER_END;
		else if (t->kind == WAL_TARGET_LSN)
			plan->recovery = WAL_RECOVER_LSN;
		else if (t->kind == WAL_TARGET_LATEST)
			plan->recovery = WAL_RECOVER_END;
		else
			plan->recovery = WAL_RECOVER_IMMEDIATE;
	}
	free(runs);
	free(w);
	free(bad);
	return rc;
}
