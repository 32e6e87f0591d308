/*
 * catalog: a location's backups from one listing, the label index and the
 * manifests; the invariants of kbackup-format(5).  See catalog.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "runner/catalog/catalog.h"
#include "runner/catalog/index.h"
#include "runner/catalog/layout.h"

/* What one listing of BASE/ found, before it is grouped into entries. */
struct scan {
	struct catalog		*c;
	size_t			 baselen;	/* "BASE/" */
	struct catalog_object	*objs;
	char			**ids;		/* the ID each object belongs to */
	int			*kinds;
	size_t			 n;
	int			 has_single;	/* single/manifest.json */
	struct catalog_object	 single;
};

enum { OBJ_PART, OBJ_MANIFEST, OBJ_MARKER };

const char *
catalog_state_name(enum catalog_state s)
{
	switch (s) {
	case CATALOG_OK: return "ok";
	case CATALOG_DAMAGED: return "damaged";
	case CATALOG_FOREIGN: return "foreign";
	case CATALOG_RUNNING: return "running";
	case CATALOG_ORPHAN: return "orphan";
	case CATALOG_GONE: return "deleted";
	}
	return "?";
}

static void
object_set(struct catalog_object *o, const char *key, uint64_t size, time_t mtime,
    const char *stamp)
{
	o->key = xstrdup(key);
	o->size = size;
	o->mtime = mtime;
	o->stamp = xstrdup(stamp != NULL ? stamp : "");
}

static void
object_free(struct catalog_object *o)
{
	free(o->key);
	free(o->stamp);
	memset(o, 0, sizeof(*o));
}

/* "ID/rest" at p: the ID if it is one (into id), and where rest starts. */
static const char *
split_id(const char *p, const char *end_mark, char id[BACKUP_ID_MAX])
{
	const char	*end = strstr(p, end_mark);
	time_t		 t;

	if (end == NULL || end - p >= BACKUP_ID_MAX || end == p)
		return NULL;
	memcpy(id, p, (size_t)(end - p));
	id[end - p] = '\0';
	if (backup_id_parse(id, &t) == -1)
		return NULL;
	return end + strlen(end_mark);
}

static void
scan_push(struct scan *sc, const struct storage_object *o, const char *id, int kind)
{
	sc->objs = xreallocarray(sc->objs, sc->n + 1, sizeof(*sc->objs));
	sc->ids = xreallocarray(sc->ids, sc->n + 1, sizeof(*sc->ids));
	sc->kinds = xreallocarray(sc->kinds, sc->n + 1, sizeof(*sc->kinds));
	object_set(&sc->objs[sc->n], o->key, o->size, o->mtime, o->stamp);
	sc->ids[sc->n] = xstrdup(id);
	sc->kinds[sc->n] = kind;
	sc->n++;
}

static int
scan_object(const struct storage_object *o, void *arg)
{
	struct scan	*sc = arg;
	const char	*rest = o->key + sc->baselen, *after;
	char		 id[BACKUP_ID_MAX];

	if (strlen(o->key) <= sc->baselen)
		return 0;
	if (startswith(rest, "running/")) {
		if ((after = split_id(rest + 8, ".json", id)) != NULL && *after == '\0')
			scan_push(sc, o, id, OBJ_MARKER);
	} else if (!sc->c->single && startswith(rest, "backups/")) {
		if ((after = split_id(rest + 8, "/", id)) == NULL || *after == '\0')
			return 0;
		scan_push(sc, o, id, strcmp(after, "manifest.json") == 0 ? OBJ_MANIFEST :
		    OBJ_PART);
	} else if (sc->c->single && strcmp(rest, "single/manifest.json") == 0) {
		sc->has_single = 1;
		object_set(&sc->single, o->key, o->size, o->mtime, o->stamp);
	} else if (sc->c->single && startswith(rest, "single/")) {
		if ((after = split_id(rest + 7, "/", id)) != NULL && *after != '\0')
			scan_push(sc, o, id, OBJ_PART);
	}
	return 0;
}

static int
entry_cmp(const void *key, const void *e)
{
	return strcmp(key, ((const struct catalog_entry *)e)->id);
}

static int
entry_sort(const void *a, const void *b)
{
	return strcmp(((const struct catalog_entry *)a)->id,
	    ((const struct catalog_entry *)b)->id);
}

struct catalog_entry *
catalog_find(const struct catalog *c, const char *id)
{
	if (c->n == 0)
		return NULL;
	return bsearch(id, c->v, c->n, sizeof(*c->v), entry_cmp);
}

static struct catalog_entry *
entry_new(struct catalog *c, const char *id)
{
	struct catalog_entry	*e;

	c->v = xreallocarray(c->v, c->n + 1, sizeof(*c->v));
	e = &c->v[c->n++];
	memset(e, 0, sizeof(*e));
	strlcpy(e->id, id, sizeof(e->id));
	backup_id_parse(id, &e->id_time);
	return e;
}

static const struct scan *order_scan;	/* qsort has no argument */

static int
order_cmp(const void *a, const void *b)
{
	return strcmp(order_scan->ids[*(const size_t *)a], order_scan->ids[*(const size_t *)b]);
}

/* Groups the scan's objects by ID into entries (sorted, unique). */
static void
scan_group(struct scan *sc)
{
	struct catalog		*c = sc->c;
	struct catalog_entry	*e = NULL;
	size_t			*order, k, i;

	order = xcalloc(sc->n + 1, sizeof(*order));
	for (k = 0; k < sc->n; k++)
		order[k] = k;
	order_scan = sc;
	if (sc->n > 1)
		qsort(order, sc->n, sizeof(*order), order_cmp);
	for (k = 0; k < sc->n; k++) {
		i = order[k];
		if (e == NULL || strcmp(e->id, sc->ids[i]) != 0)
			e = entry_new(c, sc->ids[i]);
		if (sc->kinds[i] == OBJ_MANIFEST) {
			e->has_manifest = 1;
			e->manifest = sc->objs[i];
		} else if (sc->kinds[i] == OBJ_MARKER) {
			e->has_marker = 1;
			e->marker_obj = sc->objs[i];
		} else {
			e->objects = xreallocarray(e->objects, e->nobjects + 1,
			    sizeof(*e->objects));
			e->objects[e->nobjects++] = sc->objs[i];
		}
		memset(&sc->objs[i], 0, sizeof(sc->objs[i]));
	}
	free(order);
}

static void
scan_free(struct scan *sc)
{
	size_t	i;

	for (i = 0; i < sc->n; i++) {
		object_free(&sc->objs[i]);
		free(sc->ids[i]);
	}
	free(sc->objs);
	free(sc->ids);
	free(sc->kinds);
	object_free(&sc->single);
}

static void
entry_free(struct catalog_entry *e)
{
	size_t	i;

	if (e->have_rec)
		record_free(&e->rec);
	object_free(&e->manifest);
	object_free(&e->marker_obj);
	for (i = 0; i < e->nobjects; i++)
		object_free(&e->objects[i]);
	free(e->objects);
	memset(e, 0, sizeof(*e));
}

void
catalog_close(struct catalog *c)
{
	size_t	i;

	for (i = 0; i < c->n; i++)
		entry_free(&c->v[i]);
	free(c->v);
	memset(c, 0, sizeof(*c));
}

static void
damage(struct catalog_entry *e, enum catalog_state s, const char *fmt, const char *a,
    const char *b)
{
	e->state = s;
	snprintf(e->why, sizeof(e->why), fmt, a, b != NULL ? b : "");
}

static const struct catalog_object *
entry_object(const struct catalog_entry *e, const char *key)
{
	size_t	i;

	for (i = 0; i < e->nobjects; i++)
		if (strcmp(e->objects[i].key, key) == 0)
			return &e->objects[i];
	return NULL;
}

/*
 * The checks a record passes before it counts as this definition's backup
 * e: definition and ID (else foreign), mode, and every part under e's own
 * prefix, present and of its recorded size (else damaged).
 */
static void
entry_accept(struct catalog *c, struct catalog_entry *e)
{
	const struct backup_record	*rec = &e->rec;
	const struct catalog_object	*o;
	char				*prefix, got[24], want[24];
	char				 what[ENGINE_PART_NAME_MAX + 16];
	size_t				 i;

	e->state = CATALOG_OK;
	e->why[0] = '\0';
	if (strcmp(rec->name, c->r->name) != 0 || strcmp(rec->namespace_,
	    c->r->namespace_) != 0) {
		snprintf(e->why, sizeof(e->why), "its manifest is of %s/%s, not of this "
		    "definition", rec->namespace_, rec->name);
		e->state = CATALOG_FOREIGN;
		return;
	}
	if (strcmp(rec->id, e->id) != 0) {
		damage(e, CATALOG_FOREIGN, "its manifest is of backup %s, not of %s",
		    rec->id, e->id);
		return;
	}
	if (strcmp(rec->mode, c->single ? "single" : "retained") != 0) {
		damage(e, CATALOG_DAMAGED, "its manifest is of mode %s, not %s", rec->mode,
		    c->single ? "single" : "retained");
		return;
	}
	prefix = c->single ? layout_single_backup_prefix(c->r->base, e->id) :
	    layout_backup_prefix(c->r->base, e->id);
	for (i = 0; i < rec->nparts && e->state == CATALOG_OK; i++) {
		engine_part_describe(rec->parts[i].name, what, sizeof(what));
		if (!startswith(rec->parts[i].key, prefix) ||
		    strstr(rec->parts[i].key, "..") != NULL)
			damage(e, CATALOG_DAMAGED, "part %s lies outside the backup (%s)",
			    what, rec->parts[i].key);
		else if ((o = entry_object(e, rec->parts[i].key)) == NULL)
			damage(e, CATALOG_DAMAGED, "part %s is missing (%s)", what,
			    rec->parts[i].key);
		else if (o->size != rec->parts[i].stored_bytes) {
			snprintf(got, sizeof(got), "%llu", (unsigned long long)o->size);
			snprintf(want, sizeof(want), "%llu",
			    (unsigned long long)rec->parts[i].stored_bytes);
			snprintf(e->why, sizeof(e->why), "part %s is %s bytes, its manifest "
			    "says %s (%s)", what, got, want, rec->parts[i].key);
			e->state = CATALOG_DAMAGED;
		}
	}
	free(prefix);
	if (e->state != CATALOG_OK)
		return;
	e->future = rec->finished > c->now + c->skew;
	e->effective = rec->finished;
	/* Dated ahead: its real time is when the store took its manifest. */
	if (e->future && e->manifest.mtime > 0 && e->manifest.mtime < rec->finished)
		e->effective = e->manifest.mtime;
}

/* Reads e's manifest into e->rec; a parse failure makes e damaged (not an error). */
static int
read_manifest(struct catalog *c, struct catalog_entry *e, char *err, size_t errlen)
{
	char	*buf, why[KB_ERRLEN], perr[300];
	size_t	 len;
	int	 missing;

	if (e->have_rec) {
		record_free(&e->rec);
		e->have_rec = 0;
	}
	c->stats.manifest_reads++;
	if (storage_get_buffer(c->loc->st, e->manifest.key, RECORD_JSON_MAX, &buf, &len,
	    &missing, why, sizeof(why)) == -1) {
		if (missing) {	/* deleted since the listing: by a prune */
			e->has_manifest = 0;
			return 0;
		}
		return errf(err, errlen, "%s", why);
	}
	if (record_parse(buf, len, &e->rec, perr, sizeof(perr)) == -1)
		damage(e, CATALOG_DAMAGED, "its manifest cannot be read: %s", perr, NULL);
	else {
		e->have_rec = 1;
		entry_accept(c, e);
	}
	free(buf);
	e->rec_checked = 1;
	return 0;
}

/* No manifest: a job in progress, what one left, or nothing at all. */
static void
entry_no_manifest(struct catalog *c, struct catalog_entry *e)
{
	e->state = e->marker_live ? CATALOG_RUNNING : CATALOG_ORPHAN;
}

static void
mark_markers(struct catalog *c)
{
	struct catalog_entry	*e;
	size_t			 i;

	for (i = 0; i < c->n; i++) {
		e = &c->v[i];
		if (!e->has_marker)
			continue;
		e->marker_live = !marker_stale(c->store_now, e->marker_obj.mtime);
	}
}

static void
load_index(struct catalog *c, struct index *idx)
{
	char	*key, *buf, err[KB_ERRLEN];
	size_t	 len;
	int	 missing = 0, rc;

	memset(idx, 0, sizeof(*idx));
	key = layout_index_key(c->r->base);
	c->stats.index_reads++;
	if ((rc = storage_get_buffer(c->loc->st, key, INDEX_JSON_MAX, &buf, &len, &missing,
	    err, sizeof(err))) == 0) {
		rc = index_parse(buf, len, c->r->base, idx, err, sizeof(err));
		free(buf);
	}
	if (rc == -1 && missing) {
		if (c->n > 0)
			log_kv(LOGL_WARN, "label index missing; rebuilt from the manifests",
			    "location", c->loc->desc, NULL);
	} else if (rc == -1)
		log_kv(LOGL_WARN, "label index unreadable; rebuilt from the manifests", "key",
		    key, "location", c->loc->desc, "error", err, NULL);
	if (rc == -1 && (c->n > 0 || !missing))
		c->index_dirty = 1;
	free(key);
}

static void
report_foreign(struct catalog *c, const struct catalog_entry *e)
{
	c->nforeign++;
	log_kv(LOGL_WARN, "manifest ignored: it does not belong here", "key",
	    e->manifest.key, "location", c->loc->desc, "why", e->why, NULL);
}

/* Each entry's record, from the index where it holds the manifest as listed. */
static int
resolve_entries(struct catalog *c, struct index *idx, int flags, char *err, size_t errlen)
{
	const struct index_entry	*ie;
	struct catalog_entry		*e;
	size_t				 i, cached = 0;

	for (i = 0; i < c->n; i++) {
		e = &c->v[i];
		if (!e->has_manifest) {
			entry_no_manifest(c, e);
			continue;
		}
		if (e->rec_checked)	/* single/manifest.json, read already */
			continue;
		ie = (flags & CATALOG_READ_ALL) ? NULL : index_find(idx, e->id);
		if (ie != NULL && strcmp(ie->stamp, e->manifest.stamp) == 0 &&
		    *e->manifest.stamp != '\0') {
			record_copy(&e->rec, &ie->rec);
			e->have_rec = 1;
			entry_accept(c, e);
			cached++;
		} else if (read_manifest(c, e, err, errlen) == -1)
			return -1;
		if (!e->has_manifest)
			entry_no_manifest(c, e);
		else if (e->state == CATALOG_FOREIGN)
			report_foreign(c, e);
	}
	if (!c->single && (cached != idx->n || cached != catalog_count(c, CATALOG_OK)))
		c->index_dirty = 1;
	return 0;
}

/*
 * single/manifest.json names the one single backup: read it (there is no
 * index) and give it to the entry of the ID it names.  It is replaced by
 * every backup, so its stamp says nothing; an unreadable one makes a
 * damaged entry of its own.
 */
static int
resolve_single(struct catalog *c, struct scan *sc, char *err, size_t errlen)
{
	struct catalog_entry	 tmp, *e;
	char			 id[BACKUP_ID_MAX];

	if (!sc->has_single)
		return 0;
	memset(&tmp, 0, sizeof(tmp));
	strlcpy(tmp.id, "single", sizeof(tmp.id));
	tmp.has_manifest = 1;
	tmp.manifest = sc->single;
	memset(&sc->single, 0, sizeof(sc->single));
	if (read_manifest(c, &tmp, err, errlen) == -1) {
		entry_free(&tmp);
		return -1;
	}
	if (!tmp.has_manifest) {
		entry_free(&tmp);
		return 0;
	}
	if (!tmp.have_rec) {	/* damaged: no ID to file it under */
		strlcpy(id, "single-manifest", sizeof(id));
		e = catalog_find(c, id) != NULL ? catalog_find(c, id) : entry_new(c, id);
	} else if ((e = catalog_find(c, tmp.rec.id)) == NULL)
		e = entry_new(c, tmp.rec.id);
	e->has_manifest = 1;
	e->manifest = tmp.manifest;
	memset(&tmp.manifest, 0, sizeof(tmp.manifest));
	if (tmp.have_rec) {
		e->rec = tmp.rec;
		e->have_rec = 1;
		memset(&tmp.rec, 0, sizeof(tmp.rec));
		tmp.have_rec = 0;
		entry_accept(c, e);
	} else {
		e->state = CATALOG_DAMAGED;
		strlcpy(e->why, tmp.why, sizeof(e->why));
	}
	e->rec_checked = 1;
	entry_free(&tmp);
	qsort(c->v, c->n, sizeof(*c->v), entry_sort);
	return 0;
}

void
catalog_put_init(const struct runner *r, struct storage_put *put)
{
	memset(put, 0, sizeof(*put));
	if (r->runner_id[0] != '\0')
		put->owner = r->runner_id;
}

static void
catalog_init(struct catalog *c, struct runner *r, struct location *loc)
{
	memset(c, 0, sizeof(*c));
	c->r = r;
	c->loc = loc;
	c->single = strcmp(config_get(r->backup, "mode"), "single") == 0;
	c->now = time(NULL);
	c->store_now = c->now;
	c->skew = config_get_duration(r->backup, "clock_skew");
	c->grace = config_get_duration(r->backup, "orphan_grace");
}

/* The store's clock, and a warning when this host's disagrees with it. */
static int
read_store_clock(struct catalog *c, char *err, size_t errlen)
{
	char	 off[32];
	long long d;

	if (c->loc->st->ops->now(c->loc->st, &c->store_now, err, errlen) == -1)
		return errprefix(err, errlen, "%s", c->loc->desc);
	d = (long long)(c->now - c->store_now);
	if (d > c->skew || -d > c->skew) {
		snprintf(off, sizeof(off), "%llds", d);
		log_kv(LOGL_WARN, "this host's clock disagrees with the store's: times of "
		    "new backups are this host's", "ahead_by", off, "location",
		    c->loc->desc, NULL);
	}
	return 0;
}

/*
 * The backups and the markers, in a listing each: what else the base holds
 * (a WAL archive of thousands of segments) is not walked at every job.
 */
static int
list_catalog(struct catalog *c, struct scan *sc, char *err, size_t errlen)
{
	struct storage	*st = c->loc->st;
	char		*prefix;
	int		 rc;

	prefix = c->single ? layout_single_prefix(c->r->base) :
	    layout_backups_prefix(c->r->base);
	c->stats.listings++;
	rc = st->ops->list(st, prefix, NULL, scan_object, sc, err, errlen);
	free(prefix);
	if (rc == 0) {
		prefix = layout_markers_prefix(c->r->base);
		c->stats.listings++;
		rc = st->ops->list(st, prefix, NULL, scan_object, sc, err, errlen);
		free(prefix);
	}
	return rc;
}

int
catalog_open(struct runner *r, struct location *loc, int flags, struct catalog *c,
    char *err, size_t errlen)
{
	struct scan	 sc;
	struct index	 idx;
	int		 rc;

	catalog_init(c, r, loc);
	memset(&sc, 0, sizeof(sc));
	sc.c = c;
	sc.baselen = strlen(r->base) + 1;
	rc = list_catalog(c, &sc, err, errlen);
	if (rc == -1 || read_store_clock(c, err, errlen) == -1) {
		scan_free(&sc);
		catalog_close(c);
		return rc == -1 ? errprefix(err, errlen, "listing %s", loc->desc) : -1;
	}
	c->listed = 1;
	scan_group(&sc);
	mark_markers(c);
	if (c->single) {
		memset(&idx, 0, sizeof(idx));
		rc = resolve_single(c, &sc, err, errlen);
		if (rc == 0)
			rc = resolve_entries(c, &idx, flags, err, errlen);
	} else {
		load_index(c, &idx);
		rc = resolve_entries(c, &idx, flags, err, errlen);
	}
	index_free(&idx);
	scan_free(&sc);
	if (rc == -1) {
		catalog_close(c);
		return errprefix(err, errlen, "reading %s", loc->desc);
	}
	return 0;
}

/* HEADs each part of e's record into e->objects (what the listing would give). */
static int
head_parts(struct catalog *c, struct catalog_entry *e, char *err, size_t errlen)
{
	struct storage_stat	 st;
	size_t			 i;
	int			 missing;

	for (i = 0; i < e->rec.nparts; i++) {
		if (entry_object(e, e->rec.parts[i].key) != NULL)
			continue;
		if (c->loc->st->ops->head(c->loc->st, e->rec.parts[i].key, &st, &missing,
		    err, errlen) == -1) {
			if (missing)
				continue;
			return -1;
		}
		e->objects = xreallocarray(e->objects, e->nobjects + 1, sizeof(*e->objects));
		object_set(&e->objects[e->nobjects++], e->rec.parts[i].key, st.size, st.mtime,
		    st.stamp);
	}
	return 0;
}

int
catalog_open_one(struct runner *r, struct location *loc, const char *id,
    struct catalog *c, char *err, size_t errlen)
{
	struct catalog_entry	*e;
	struct storage_stat	 st;
	char			*key;
	time_t			 t;
	int			 missing, rc;

	catalog_init(c, r, loc);
	if (backup_id_parse(id, &t) == -1)
		return 0;	/* no such backup: an empty catalog */
	key = layout_manifest_key(r->base, id);
	rc = loc->st->ops->head(loc->st, key, &st, &missing, err, errlen);
	if (rc == -1 && !missing) {
		free(key);
		return errprefix(err, errlen, "%s", loc->desc);
	}
	if (rc == -1) {
		free(key);
		return 0;
	}
	e = entry_new(c, id);
	e->has_manifest = 1;
	object_set(&e->manifest, key, st.size, st.mtime, st.stamp);
	free(key);
	if (read_manifest(c, e, err, errlen) == -1)
		return errprefix(err, errlen, "%s", loc->desc);
	/* The parts were not listed: HEAD them, then check again. */
	if (e->have_rec && e->state == CATALOG_DAMAGED) {
		if (head_parts(c, e, err, errlen) == -1)
			return errprefix(err, errlen, "%s", loc->desc);
		entry_accept(c, e);
	}
	if (!e->has_manifest)
		entry_no_manifest(c, e);
	else if (e->state == CATALOG_FOREIGN)
		report_foreign(c, e);
	return 0;
}

int
catalog_refresh(struct catalog *c, struct catalog_entry *e, char *err, size_t errlen)
{
	if (!e->has_manifest || e->rec_checked)
		return 0;
	if (read_manifest(c, e, err, errlen) == -1)
		return -1;
	if (!e->has_manifest)
		entry_no_manifest(c, e);
	else if (e->state == CATALOG_OK)
		c->index_dirty = 1;	/* the index held it under another stamp, or not */
	return 0;
}

int
catalog_still_there(struct catalog *c, const struct catalog_entry *e, char *err,
    size_t errlen)
{
	struct storage_stat	st;
	int			missing;

	if (c->loc->st->ops->head(c->loc->st, e->manifest.key, &st, &missing, err,
	    errlen) == -1)
		return missing ? 0 : -1;
	/*
	 * A retained manifest is never replaced: being there is enough.  In
	 * mode = single the one manifest is, by the next backup: its stamp
	 * tells.
	 */
	return !c->single || e->manifest.stamp == NULL ||
	    strcmp(st.stamp, e->manifest.stamp) == 0;
}

size_t
catalog_count(const struct catalog *c, enum catalog_state s)
{
	size_t	i, n = 0;

	for (i = 0; i < c->n; i++)
		n += c->v[i].state == s;
	return n;
}

size_t
catalog_count_future(const struct catalog *c)
{
	size_t	i, n = 0;

	for (i = 0; i < c->n; i++)
		n += c->v[i].state == CATALOG_OK && c->v[i].future;
	return n;
}

/* Newer of two ok entries, in the labels view's order (finished time, then ID). */
static int
newer(const struct catalog_entry *a, const struct catalog_entry *b)
{
	return labels_before(b->rec.finished, b->id, a->rec.finished, a->id);
}

static struct catalog_entry *
pick_newest(const struct catalog *c, time_t at, const struct catalog_filter *f)
{
	struct catalog_entry	*best = NULL, *e;
	size_t			 i;

	for (i = 0; i < c->n; i++) {
		e = &c->v[i];
		if (e->state != CATALOG_OK || e->future || (at != 0 && e->rec.finished > at) ||
		    (f != NULL && !f->holds(&e->rec, f->arg)))
			continue;
		if (best == NULL || newer(e, best))
			best = e;
	}
	return best;
}

const struct catalog_entry *
catalog_latest(const struct catalog *c)
{
	return pick_newest(c, 0, NULL);
}

static void
warn_future(const struct catalog *c, time_t at)
{
	const struct catalog_entry	*e;
	char				 fin[21];
	size_t				 i;

	for (i = 0; i < c->n; i++) {
		e = &c->v[i];
		if (e->state != CATALOG_OK || !e->future)
			continue;
		time_to_rfc3339(e->rec.finished, fin);
		log_kv(LOGL_WARN, "passed over a backup dated in the future (name it to "
		    "restore it)", "id", e->id, "finished", fin, "location", c->loc->desc,
		    NULL);
	}
}

/*
 * A damaged backup that could be newer than the one picked (by its ID's
 * time; its manifest's times cannot be trusted): refused unless skip.
 */
static int
check_damaged(struct catalog *c, const struct catalog_entry *pick, time_t at, int skip,
    char *err, size_t errlen)
{
	const struct catalog_entry	*e;
	size_t				 i;

	for (i = c->n; i > 0; i--) {
		e = &c->v[i - 1];
		if (e->state != CATALOG_DAMAGED || (at != 0 && e->id_time > at) ||
		    (pick != NULL && e->id_time < pick->id_time))
			continue;
		if (!skip)
			return errf(err, errlen, "backup %s is damaged (%s); restore an "
			    "older one by its ID, or give --skip-damaged to take %s", e->id,
			    e->why, pick != NULL ? pick->id : "none (there is no other)");
		log_kv(LOGL_WARN, "skipped a damaged backup (--skip-damaged)", "id", e->id,
		    "why", e->why, NULL);
	}
	return 0;
}

static struct catalog_entry *
no_backup(const struct catalog *c, time_t at, const struct catalog_filter *f, char *err,
    size_t errlen)
{
	const struct catalog_entry	*e, *first = NULL;
	char				 when[21], fin[21];
	size_t				 i;

	if (f != NULL && pick_newest(c, at, NULL) != NULL) {
		time_to_rfc3339(at, when);
		errf(err, errlen, "no backup%s%s holds %s", at != 0 ? " finished at or before " :
		    "", at != 0 ? when : "", f->what);
		return NULL;
	}

	for (i = 0; i < c->n; i++) {
		e = &c->v[i];
		if (e->state == CATALOG_OK && !e->future && (first == NULL ||
		    newer(first, e)))
			first = e;
	}
	if (at == 0 || first == NULL) {
		errf(err, errlen, "there is no backup yet in %s", c->loc->desc);
		return NULL;
	}
	time_to_rfc3339(at, when);
	time_to_rfc3339(first->rec.finished, fin);
	errf(err, errlen, "no backup finished at or before %s: the first one, %s, finished "
	    "at %s", when, first->id, fin);
	return NULL;
}

struct catalog_entry *
catalog_select(struct catalog *c, const char *which, time_t at, int skip_damaged,
    char *err, size_t errlen)
{
	return catalog_select_filtered(c, which, at, skip_damaged, NULL, err, errlen);
}

struct catalog_entry *
catalog_select_filtered(struct catalog *c, const char *which, time_t at, int skip_damaged,
    const struct catalog_filter *f, char *err, size_t errlen)
{
	struct catalog_entry	*e;

	if (which != NULL && strcmp(which, "latest") != 0) {
		if ((e = catalog_find(c, which)) == NULL || e->state == CATALOG_FOREIGN ||
		    (!e->has_manifest && e->state != CATALOG_DAMAGED)) {
			errf(err, errlen, "no backup %s in %s (kbackup-runner list shows the "
			    "backups)", which, c->loc->desc);
			return NULL;
		}
		if (catalog_refresh(c, e, err, errlen) == -1)
			return NULL;
		if (e->state != CATALOG_OK) {
			errf(err, errlen, "backup %s is %s: %s", e->id,
			    catalog_state_name(e->state), e->why);
			return NULL;
		}
		return e;
	}
	for (;;) {
		e = pick_newest(c, at, f);
		if (check_damaged(c, e, at, skip_damaged, err, errlen) == -1)
			return NULL;
		if (e == NULL)
			return no_backup(c, at, f, err, errlen);
		if (catalog_refresh(c, e, err, errlen) == -1)
			return NULL;
		/* Its manifest, not the index, must also date it newest (or before at). */
		if (e->state == CATALOG_OK && (f == NULL || f->holds(&e->rec, f->arg)) &&
		    pick_newest(c, at, f) == e)
			break;
		/* The index was stale or rewritten: its manifest says otherwise.  Pick again. */
	}
	warn_future(c, at);
	return e;
}

void
catalog_labels(const struct catalog *c, struct labels_index *idx)
{
	const struct catalog_entry	*e;
	struct labels_backup		*b;
	time_t				 shift;
	size_t				 i, j;

	labels_index_init(idx);
	for (i = 0; i < c->n; i++) {
		e = &c->v[i];
		if (e->state != CATALOG_OK)
			continue;
		shift = e->rec.finished - e->effective;
		if ((b = labels_index_add(idx, e->id, e->effective, NULL, 0)) == NULL)
			continue;
		for (j = 0; j < e->rec.nlabels; j++)
			labels_backup_add(b, e->rec.labels[j].name, e->rec.labels[j].expires -
			    shift);
	}
}

/* Markers. */

struct marker_scan {
	const struct marker	*ours;
	size_t			 baselen;
	time_t			 store_now;
	char			 other[BACKUP_ID_MAX];
	time_t			 other_mtime;
};

static int
scan_marker(const struct storage_object *o, void *arg)
{
	struct marker_scan	*ms = arg;
	char			 id[BACKUP_ID_MAX];
	const char		*after;

	if ((after = split_id(o->key + ms->baselen, ".json", id)) == NULL || *after != '\0')
		return 0;
	if (strcmp(id, ms->ours->id) == 0 || marker_stale(ms->store_now, o->mtime))
		return 0;
	strlcpy(ms->other, id, sizeof(ms->other));
	ms->other_mtime = o->mtime;
	return 0;
}

/* The other job's marker, named as well as it can be. */
static int
other_job(struct catalog *c, const char *id, char *err, size_t errlen)
{
	struct marker	 m;
	char		*key, *buf, desc[400], why[KB_ERRLEN];
	size_t		 len;
	int		 missing;

	key = layout_marker_key(c->r->base, id);
	strlcpy(desc, "a job whose marker cannot be read", sizeof(desc));
	if (storage_get_buffer(c->loc->st, key, MARKER_JSON_MAX, &buf, &len, &missing, why,
	    sizeof(why)) == 0) {
		if (marker_parse(buf, len, &m, why, sizeof(why)) == 0)
			marker_describe(&m, desc, sizeof(desc));
		free(buf);
	}
	errf(err, errlen, "another runner is backing up %s to %s: %s (marker %s); two "
	    "writers of one definition are not merged", c->r->base, c->loc->desc, desc, key);
	free(key);
	return -1;
}

static int
find_other_job(struct catalog *c, const struct marker *m, char *err, size_t errlen)
{
	struct marker_scan	 ms;
	char			*prefix;
	int			 rc;

	memset(&ms, 0, sizeof(ms));
	ms.ours = m;
	prefix = layout_markers_prefix(c->r->base);
	ms.baselen = strlen(prefix);
	if (c->loc->st->ops->now(c->loc->st, &ms.store_now, err, errlen) == -1 ||
	    c->loc->st->ops->list(c->loc->st, prefix, NULL, scan_marker, &ms, err,
	    errlen) == -1) {
		free(prefix);
		return errprefix(err, errlen, "listing the running jobs of %s", c->loc->desc);
	}
	free(prefix);
	c->stats.listings++;
	rc = ms.other[0] != '\0' ? other_job(c, ms.other, err, errlen) : 0;
	return rc;
}

static int
put_marker(struct catalog *c, const struct marker *m, int create, char *err,
    size_t errlen)
{
	struct storage_put	 put;
	char			*key, *text;
	int			 exists, rc;

	catalog_put_init(c->r, &put);
	put.if_absent = create;
	key = layout_marker_key(c->r->base, m->id);
	text = marker_to_text(m);
	rc = storage_put_buffer(c->loc->st, key, text, strlen(text), &put, &exists, err,
	    errlen);
	free(text);
	free(key);
	return rc;
}

int
catalog_job_begin(struct catalog *c, const struct marker *m, char *err, size_t errlen)
{
	if (find_other_job(c, m, err, errlen) == -1 ||
	    put_marker(c, m, 1, err, errlen) == -1)
		return -1;
	/* Two jobs that began at once both see each other here: both stop. */
	if (find_other_job(c, m, err, errlen) == -1) {
		catalog_job_end(c, m);
		return -1;
	}
	return 0;
}

void
catalog_job_heartbeat(struct catalog *c, const struct marker *m)
{
	char	err[KB_ERRLEN];

	if (put_marker(c, m, 0, err, sizeof(err)) == -1)
		log_kv(LOGL_WARN, "job marker not refreshed", "location", c->loc->desc,
		    "error", err, NULL);
}

void
catalog_job_end(struct catalog *c, const struct marker *m)
{
	char	err[KB_ERRLEN], *key;

	key = layout_marker_key(c->r->base, m->id);
	if (storage_remove_one(c->loc->st, key, err, sizeof(err)) == -1)
		log_kv(LOGL_WARN, "job marker not removed (it goes stale in ten minutes)",
		    "key", key, "error", err, NULL);
	free(key);
}

/* Commit. */

static int
head_object(struct catalog *c, const char *key, struct catalog_object *o, char *err,
    size_t errlen)
{
	struct storage_stat	st;
	int			missing;

	if (c->loc->st->ops->head(c->loc->st, key, &st, &missing, err, errlen) == -1)
		return missing ? errf(err, errlen, "%s is not there", key) : -1;
	object_set(o, key, st.size, st.mtime, st.stamp);
	return 0;
}

static int
commit_check(struct catalog *c, struct catalog_entry *e, char *err, size_t errlen)
{
	size_t	i;

	for (i = 0; i < e->rec.nparts; i++) {
		e->objects = xreallocarray(e->objects, e->nobjects + 1, sizeof(*e->objects));
		if (head_object(c, e->rec.parts[i].key, &e->objects[e->nobjects], err,
		    errlen) == -1)
			return -1;
		e->nobjects++;
	}
	entry_accept(c, e);
	if (e->state != CATALOG_OK)
		return errf(err, errlen, "%s", e->why);
	return 0;
}

/* Every part of rec retained (Object Lock) until then at least. */
static int
retain_parts(struct catalog *c, const struct backup_record *rec, time_t until, char *err,
    size_t errlen)
{
	struct storage	*st = c->loc->st;
	char		 date[32];
	size_t		 i;

	if (st->ops->retain == NULL)
		return 0;
	for (i = 0; i < rec->nparts; i++)
		if (st->ops->retain(st, rec->parts[i].key, until, err, errlen) == -1) {
			time_to_rfc3339(until, date);
			return errprefix(err, errlen, "retaining %s until %s",
			    rec->parts[i].key, date);
		}
	return 0;
}

int
catalog_retain(struct catalog *c, const struct catalog_entry *e, time_t until, char *err,
    size_t errlen)
{
	struct storage	*st = c->loc->st;
	char		 date[32];

	if (!st->object_lock || st->ops->retain == NULL || !e->have_rec)
		return 0;
	if (retain_parts(c, &e->rec, until, err, errlen) == -1)
		return -1;
	if (e->has_manifest && st->ops->retain(st, e->manifest.key, until, err, errlen) == -1) {
		time_to_rfc3339(until, date);
		return errprefix(err, errlen, "retaining %s until %s", e->manifest.key, date);
	}
	return 0;
}

int
catalog_commit(struct catalog *c, const struct backup_record *rec, char *err,
    size_t errlen)
{
	struct catalog_entry	*e;
	struct storage_put	 put;
	char			*key, *text, ierr[KB_ERRLEN];
	int			 exists, rc;

	if ((e = catalog_find(c, rec->id)) != NULL && e->has_manifest)
		return errf(err, errlen, "backup %s exists already in %s", rec->id,
		    c->loc->desc);
	catalog_put_init(c->r, &put);
	put.if_absent = 1;
	put.retain_until = c->loc->st->object_lock ? record_kept_until(rec) : 0;
	/* Data first: a listed backup is whole and locked whole. */
	if (put.retain_until != 0 && retain_parts(c, rec, put.retain_until, err, errlen) == -1)
		return errprefix(err, errlen, "Object Lock in %s", c->loc->desc);
	key = layout_manifest_key(c->r->base, rec->id);
	text = record_to_text(rec);
	rc = storage_put_buffer(c->loc->st, key, text, strlen(text), &put, &exists, err,
	    errlen);
	free(text);
	if (rc == -1) {
		free(key);
		return errprefix(err, errlen, "writing the manifest to %s", c->loc->desc);
	}
	if (e == NULL)
		e = entry_new(c, rec->id);
	else {		/* its data, listed before the commit: listed again below */
		entry_free(e);
		strlcpy(e->id, rec->id, sizeof(e->id));
		backup_id_parse(e->id, &e->id_time);
	}
	e->has_manifest = 1;
	record_copy(&e->rec, rec);
	e->have_rec = 1;
	e->rec_checked = 1;
	rc = head_object(c, key, &e->manifest, err, errlen);
	free(key);
	if (rc == 0)
		rc = commit_check(c, e, err, errlen);
	qsort(c->v, c->n, sizeof(*c->v), entry_sort);
	if (rc == -1)
		return errprefix(err, errlen, "checking the committed backup in %s",
		    c->loc->desc);
	c->index_dirty = 1;
	if (catalog_save_index(c, ierr, sizeof(ierr)) == -1)
		log_kv(LOGL_WARN, "label index not updated: the next run reads the new "
		    "manifest instead", "error", ierr, NULL);
	return 0;
}

/* Deletion. */

/* A removal; *locked_until says when an Object Lock refused it. */
static int
remove_key(struct catalog *c, const char *key, time_t *locked_until, char *err,
    size_t errlen)
{
	return storage_remove_one_unless_locked(c->loc->st, key, locked_until, err, errlen);
}

/*
 * Where new objects are locked: the latest retain-until date of e's data,
 * read before its manifest goes, so that a bucket's default retention
 * longer than the labels' cannot leave data without a manifest.  0: none.
 */
static time_t
data_locked_until(struct catalog *c, const struct catalog_entry *e)
{
	struct storage_stat	st;
	time_t			until = 0;
	char			err[KB_ERRLEN];
	int			missing;
	size_t			i;

	if (!c->loc->st->object_lock)
		return 0;
	for (i = 0; i < e->nobjects; i++)
		if (c->loc->st->ops->head(c->loc->st, e->objects[i].key, &st, &missing, err,
		    sizeof(err)) == 0 && st.retain_until > until)
			until = st.retain_until;
	return until > c->store_now ? until : 0;
}

int
catalog_delete(struct catalog *c, struct catalog_entry *e, time_t *locked_until, char *err,
    size_t errlen)
{
	char	date[32];
	size_t	i;

	*locked_until = 0;
	if (e->state == CATALOG_RUNNING || e->state == CATALOG_FOREIGN || e->marker_live)
		return errf(err, errlen, "backup %s is %s: not deleted", e->id,
		    e->marker_live ? "running" : catalog_state_name(e->state));
	if (e->has_manifest && (*locked_until = data_locked_until(c, e)) != 0) {
		time_to_rfc3339(*locked_until, date);
		return errf(err, errlen, "backup %s: its data is locked until %s", e->id, date);
	}
	if (e->has_manifest) {
		if (remove_key(c, e->manifest.key, locked_until, err, errlen) == -1)
			return errprefix(err, errlen, "deleting the manifest of %s", e->id);
		e->has_manifest = 0;
		e->state = CATALOG_ORPHAN;
		c->index_dirty = 1;
	}
	for (i = 0; i < e->nobjects; i++)
		if (remove_key(c, e->objects[i].key, locked_until, err, errlen) == -1)
			return errprefix(err, errlen, "deleting %s (its manifest is gone: the "
			    "next prune removes it once it is older than orphan_grace)",
			    e->objects[i].key);
	if (e->has_marker && remove_key(c, e->marker_obj.key, locked_until, err, errlen) == -1)
		return errprefix(err, errlen, "deleting the marker of %s", e->id);
	e->has_marker = 0;
	e->state = CATALOG_GONE;
	c->index_dirty = 1;
	return 0;
}

int
catalog_save_index(struct catalog *c, char *err, size_t errlen)
{
	struct index			 idx;
	const struct catalog_entry	*e;
	struct storage_put		 put;
	char				*key, *text;
	size_t				 i;
	int				 rc;

	if (!c->index_dirty || !c->listed || c->single)
		return 0;
	memset(&idx, 0, sizeof(idx));
	for (i = 0; i < c->n; i++) {
		e = &c->v[i];
		if (e->state == CATALOG_OK && e->have_rec && *e->manifest.stamp != '\0')
			index_add(&idx, e->manifest.stamp, &e->rec);
	}
	key = layout_index_key(c->r->base);
	text = index_to_text(&idx, c->r->base);
	catalog_put_init(c->r, &put);
	rc = storage_put_buffer(c->loc->st, key, text, strlen(text), &put, NULL, err, errlen);
	free(text);
	free(key);
	index_free(&idx);
	if (rc == -1)
		return errprefix(err, errlen, "writing the label index to %s", c->loc->desc);
	c->index_dirty = 0;
	return 0;
}

/* Sweeping what interrupted runs left. */

/* An upload begun and never ended, and the backup it belongs to (if any). */
struct pending {
	char	*key;
	char	*upload_id;
	time_t	 initiated;
	int	 own;		/* written by this runner (whose lock is held) */
	char	 id[BACKUP_ID_MAX];
};

struct sweep {
	struct catalog	*c;
	int		 own;
	int		 aged;
	int		 dry_run;
	size_t		*deleted;
	size_t		*planned;
	size_t		 failed;
	struct pending	*pend;
	size_t		 npend;
};

/*
 * Whether e's marker is one of this runner's (read from storage): its
 * runner id and this host's name.  The lock, which tells this runner that
 * such a job is dead, is per workdir: a runner id on another host is a
 * state directory that was copied (a cloned machine), and that host's job
 * may be running.  *clone is set for a live one.
 */
static int
marker_is_ours(struct catalog *c, struct catalog_entry *e, int *clone)
{
	struct marker	 m;
	char		*buf, err[KB_ERRLEN], host[256];
	size_t		 len;
	int		 missing, ours = 0;

	if (c->r->runner_id[0] == '\0' || storage_get_buffer(c->loc->st, e->marker_obj.key,
	    MARKER_JSON_MAX, &buf, &len, &missing, err, sizeof(err)) == -1)
		return 0;
	host_name(host, sizeof(host), "unknown");
	if (marker_parse(buf, len, &m, err, sizeof(err)) == 0 &&
	    strcmp(m.runner_id, c->r->runner_id) == 0) {
		ours = strcmp(m.host, host) == 0;
		if (!ours && e->marker_live) {
			*clone = 1;
			log_kv(LOGL_WARN, "this runner's id is in use on another host: its "
			    "state directory was copied; remove the runner-id file of one of "
			    "them", "runner_id", m.runner_id, "host", m.host, NULL);
		}
	}
	free(buf);
	return ours;
}

static void
sweep_remove(struct sweep *s, const char *key, const char *id, const char *reason)
{
	char	err[KB_ERRLEN], date[32];
	time_t	locked_until;

	if (s->dry_run) {
		printf("would delete %s: %s (%s)\n", id, reason, key);
		(*s->planned)++;
		return;
	}
	if (remove_key(s->c, key, &locked_until, err, sizeof(err)) == 0) {
		log_kv(LOGL_INFO, "pruned", "id", id, "key", key, "location", s->c->loc->desc,
		    "reason", reason, NULL);
		(*s->deleted)++;
	} else if (locked_until != 0) {
		/* The lock does what it is for; a prune after the date removes it. */
		time_to_rfc3339(locked_until, date);
		log_kv(LOGL_INFO, "prune: still retained by Object Lock", "key", key,
		    "locked_until", date, NULL);
	} else {
		log_kv(LOGL_ERROR, "prune: not deleted", "key", key, "error", err, NULL);
		s->failed++;
	}
}

static void
sweep_abort(struct sweep *s, struct pending *p)
{
	struct catalog	*c = s->c;
	char		 err[KB_ERRLEN];

	if (p->key == NULL)
		return;
	if (s->dry_run) {
		printf("would abort an unfinished upload of %s\n", p->key);
		(*s->planned)++;
	} else if (c->loc->st->ops->abort_pending(c->loc->st, p->key, p->upload_id, err,
	    sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "prune: unfinished upload not aborted", "key", p->key,
		    "error", err, NULL);
		s->failed++;
	} else {
		log_kv(LOGL_INFO, "aborted an unfinished upload", "key", p->key, "location",
		    c->loc->desc, NULL);
		(*s->deleted)++;
	}
	free(p->key);
	p->key = NULL;
}

static time_t
newest_object(const struct catalog_entry *e)
{
	time_t	t = e->has_marker ? e->marker_obj.mtime : 0;
	size_t	i;

	for (i = 0; i < e->nobjects; i++)
		if (e->objects[i].mtime > t)
			t = e->objects[i].mtime;
	return t;
}

/* e's objects, then its unfinished uploads, then its marker: the marker last. */
static void
sweep_objects(struct sweep *s, struct catalog_entry *e, const char *reason)
{
	size_t	i;

	for (i = 0; i < e->nobjects; i++)
		sweep_remove(s, e->objects[i].key, e->id, reason);
	for (i = 0; i < s->npend; i++)
		if (strcmp(s->pend[i].id, e->id) == 0)
			sweep_abort(s, &s->pend[i]);
	if (e->has_marker)
		sweep_remove(s, e->marker_obj.key, e->id, reason);
}

static void
sweep_entry(struct sweep *s, struct catalog_entry *e)
{
	struct catalog	*c = s->c;

	if (e->has_marker && e->marker_ours && s->own) {
		/* The lock is ours: the job that wrote this marker is dead. */
		if (e->has_manifest)
			sweep_remove(s, e->marker_obj.key, e->id, "the marker of a job of "
			    "this runner that was killed after its commit");
		else {
			sweep_objects(s, e, "what a killed job of this runner left");
			e->state = CATALOG_GONE;
		}
		e->marker_live = 0;
		return;
	}
	if (e->marker_live || !s->aged)
		return;
	if (e->has_manifest) {
		if (e->has_marker)
			sweep_remove(s, e->marker_obj.key, e->id, "a stale marker of a job "
			    "that committed");
		return;
	}
	if (c->store_now - newest_object(e) > c->grace)
		sweep_objects(s, e, "data without a manifest (an interrupted run)");
}

static int
collect_pending(const struct storage_pending *p, void *arg)
{
	struct sweep	*s = arg;
	struct pending	*q;
	const char	*after;
	size_t		 base = strlen(s->c->r->base) + 1;

	s->pend = xreallocarray(s->pend, s->npend + 1, sizeof(*s->pend));
	q = &s->pend[s->npend++];
	memset(q, 0, sizeof(*q));
	q->key = xstrdup(p->key);
	q->upload_id = xstrdup(p->upload_id);
	q->initiated = p->initiated;
	q->own = p->owner != NULL && s->c->r->runner_id[0] != '\0' &&
	    strcmp(p->owner, s->c->r->runner_id) == 0;
	if (strlen(p->key) > base && (startswith(p->key + base, "backups/") ||
	    startswith(p->key + base, "single/")))
		after = split_id(p->key + base + (p->key[base] == 'b' ? 8 : 7), "/", q->id);
	else
		after = NULL;
	if (after == NULL)
		q->id[0] = '\0';
	return 0;
}

static void
list_pending(struct sweep *s)
{
	struct catalog	*c = s->c;
	char		*prefix, err[KB_ERRLEN];
	int		 unsupported = 0;

	if (c->loc->st->ops->list_pending == NULL)
		return;
	prefix = xasprintf("%s/", c->r->base);
	if (c->loc->st->ops->list_pending(c->loc->st, prefix, collect_pending, s,
	    &unsupported, err, sizeof(err)) == -1) {
		if (unsupported && !c->loc->pending_unlisted++)
			log_kv(LOGL_WARN, "this store does not list unfinished uploads: set a "
			    "lifecycle rule that aborts incomplete multipart uploads after a "
			    "day", "location", c->loc->desc, NULL);
		else if (!unsupported) {
			log_kv(LOGL_ERROR, "prune: unfinished uploads not listed", "location",
			    c->loc->desc, "error", err, NULL);
			s->failed++;
		}
	}
	free(prefix);
}

/* What is left of the pending uploads: those older than orphan_grace that no live marker names. */
static void
sweep_pending(struct sweep *s)
{
	struct catalog_entry	*e;
	struct pending		*p;
	size_t			 i;

	for (i = 0; i < s->npend; i++) {
		p = &s->pend[i];
		if (p->key == NULL)
			continue;
		/* Under the lock, this runner's own temporaries are a killed run's. */
		if (p->own && s->own) {
			sweep_abort(s, p);
			continue;
		}
		e = p->id[0] != '\0' ? catalog_find(s->c, p->id) : NULL;
		if ((e != NULL && e->marker_live) || !s->aged ||
		    s->c->store_now - p->initiated <= s->c->grace)
			continue;
		sweep_abort(s, p);
	}
}

size_t
catalog_sweep(struct catalog *c, int flags, int dry_run, size_t *deleted, size_t *planned)
{
	struct sweep	s;
	size_t		i;
	int		clone = 0;

	memset(&s, 0, sizeof(s));
	s.c = c;
	s.own = (flags & CATALOG_SWEEP_OWN) != 0;
	s.aged = (flags & CATALOG_SWEEP_AGED) != 0;
	s.dry_run = dry_run;
	s.deleted = deleted;
	s.planned = planned;
	list_pending(&s);
	/*
	 * First whose the markers are: while a copy of this state directory
	 * runs a job elsewhere, nothing under this runner id is a dead job's.
	 */
	for (i = 0; i < c->n; i++)
		if (c->v[i].has_marker)
			c->v[i].marker_ours = marker_is_ours(c, &c->v[i], &clone);
	if (clone)
		s.own = 0;
	for (i = 0; i < c->n; i++)
		if (c->v[i].state == CATALOG_RUNNING || c->v[i].state == CATALOG_ORPHAN ||
		    (c->v[i].has_marker && c->v[i].state != CATALOG_GONE))
			sweep_entry(&s, &c->v[i]);
	sweep_pending(&s);
	for (i = 0; i < s.npend; i++) {
		free(s.pend[i].key);
		free(s.pend[i].upload_id);
	}
	free(s.pend);
	return s.failed;
}

/* mode = single. */

int
catalog_single_read(struct runner *r, struct location *loc, struct backup_record *rec,
    int *missing, char *err, size_t errlen)
{
	char	*key, *buf;
	size_t	 len;
	int	 rc;

	key = layout_single_manifest_key(r->base);
	rc = storage_get_buffer(loc->st, key, RECORD_JSON_MAX, &buf, &len, missing, err,
	    errlen);
	if (rc == 0) {
		rc = record_parse(buf, len, rec, err, errlen);
		free(buf);
	}
	if (rc == 0 && (strcmp(rec->name, r->name) != 0 ||
	    strcmp(rec->namespace_, r->namespace_) != 0 || strcmp(rec->mode, "single") != 0)) {
		rc = errf(err, errlen, "it is not a single backup of %s", r->base);
		record_free(rec);
	}
	if (rc == -1)
		errprefix(err, errlen, "%s", key);
	free(key);
	return rc;
}

struct single_scan {
	size_t	  prefixlen;
	char	**ids;
	size_t	  n;
};

static int
scan_single(const struct storage_object *o, void *arg)
{
	struct single_scan	*ss = arg;
	char			 id[BACKUP_ID_MAX];
	const char		*after;

	if ((after = split_id(o->key + ss->prefixlen, "/", id)) == NULL ||
	    strcmp(after, "data") != 0)
		return 0;
	ss->ids = xreallocarray(ss->ids, ss->n + 1, sizeof(*ss->ids));
	ss->ids[ss->n++] = xstrdup(id);
	return 0;
}

int
catalog_single_data(struct runner *r, struct location *loc, char ***ids, size_t *n,
    char *err, size_t errlen)
{
	struct single_scan	 ss;
	char			*prefix;
	int			 rc;

	memset(&ss, 0, sizeof(ss));
	prefix = layout_single_prefix(r->base);
	ss.prefixlen = strlen(prefix);
	rc = loc->st->ops->list(loc->st, prefix, NULL, scan_single, &ss, err, errlen);
	free(prefix);
	if (rc == -1) {
		errprefix(err, errlen, "listing %s", loc->desc);
		catalog_ids_free(ss.ids, ss.n);
		ss.ids = NULL;
		ss.n = 0;
	}
	*ids = ss.ids;
	*n = ss.n;
	return rc;
}

void
catalog_ids_free(char **ids, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}
