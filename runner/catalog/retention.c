/*
 * retention: loading, rebuilding, reconciling and writing a location's
 * label index.  See retention.h.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "runner/catalog/retention.h"

int
retention_rules(const struct runner *r, struct label_rules *rules, char *err, size_t errlen)
{
	return labels_rules_from_config(config_section(r->cfg, "retention"), rules, err,
	    errlen);
}

static int
is_retained(const struct manifest *m)
{
	return m->mode == NULL || strcmp(m->mode, "single") != 0;
}

void
retention_record(const struct manifest *m, struct labels_backup *b)
{
	size_t	i;

	memset(b, 0, sizeof(*b));
	b->id = xstrdup(m->id);
	b->finished = m->finished;
	b->status = LABELS_OK;
	b->labels = xcalloc(m->nlabels > 0 ? m->nlabels : 1, sizeof(*b->labels));
	for (i = 0; i < m->nlabels; i++) {
		b->labels[i].name = xstrdup(m->labels[i].name);
		b->labels[i].expires = m->labels[i].expires;
	}
	b->nlabels = m->nlabels;
}

/*
 * Adds the backup of manifest m, with the labels it records, to idx.  A
 * manifest whose labels the index cannot hold is left out (and so never
 * pruned) with a warning: nothing is deleted on data not understood.
 */
static void
index_merge(struct labels_index *idx, const struct manifest *m)
{
	struct labels_index	 one;
	struct labels_backup	 rec, *b;
	char			 err[KB_ERRLEN];

	retention_record(m, &rec);
	if (labels_index_rebuild(&one, &rec, 1, err, sizeof(err)) == -1 ||
	    (b = labels_index_add(idx, rec.id, rec.finished, rec.status, err,
	    sizeof(err))) == NULL) {
		log_kv(LOGL_WARN, "backup left out of the label index (it will not be "
		    "pruned)", "id", m->id, "error", err, NULL);
		labels_backup_free(&rec);
		return;
	}
	b->labels = one.v[0].labels;
	b->nlabels = one.v[0].nlabels;
	one.v[0].labels = NULL;
	one.v[0].nlabels = 0;
	labels_index_free(&one);
	labels_backup_free(&rec);
}

static void
index_rebuild(struct labels_index *idx, const struct catalog *c)
{
	size_t	i;

	labels_index_init(idx);
	for (i = 0; i < c->n; i++)
		if (is_retained(&c->backups[i]))
			index_merge(idx, &c->backups[i]);
}

/* Makes idx hold exactly the retained backups of c; 1 if anything changed. */
static int
index_reconcile(struct labels_index *idx, const struct catalog *c, const char *desc)
{
	const struct manifest	*m;
	size_t			 i;
	int			 changed = 0;

	for (i = 0; i < c->n; i++) {
		if (!is_retained(&c->backups[i]) ||
		    labels_index_find(idx, c->backups[i].id) != NULL)
			continue;
		log_kv(LOGL_WARN, "backup missing from the label index; taken from its "
		    "manifest", "id", c->backups[i].id, "location", desc, NULL);
		index_merge(idx, &c->backups[i]);
		changed = 1;
	}
	for (i = idx->n; i > 0; i--) {
		m = catalog_find(c, idx->v[i - 1].id);
		if (m != NULL && is_retained(m))
			continue;
		log_kv(LOGL_WARN, "label index lists a backup that has no manifest; "
		    "dropped from the index", "id", idx->v[i - 1].id, "location", desc, NULL);
		labels_index_remove(idx, idx->v[i - 1].id);
		changed = 1;
	}
	return changed;
}

int
retention_index_load(struct runner *r, struct location *loc, const struct catalog *c,
    struct labels_index *idx, int *changed, char *err, size_t errlen)
{
	struct catalog	 own;
	char		*key, *buf = NULL, why[KB_ERRLEN];
	size_t		 len;
	int		 missing = 0, loaded = 0;

	*changed = 0;
	labels_index_init(idx);
	key = layout_labels_key(r);
	why[0] = '\0';
	if (storage_get_buffer(loc->st, key, LABELS_JSON_MAX, &buf, &len, &missing, why,
	    sizeof(why)) == 0)
		loaded = labels_index_from_json(buf, len, idx, why, sizeof(why)) == 0;
	free(buf);
	if (loaded) {
		free(key);
		if (c != NULL)
			*changed = index_reconcile(idx, c, loc->desc);
		return 0;
	}
	if (c == NULL) {
		if (catalog_load(r, loc, &own, err, errlen) == -1) {
			free(key);
			return errprefix(err, errlen, "rebuilding the label index");
		}
		index_rebuild(idx, &own);
		catalog_free(&own);
	} else
		index_rebuild(idx, c);
	*changed = 1;
	if (!missing || idx->n > 0)
		log_kv(LOGL_WARN, missing ? "label index missing; rebuilt from the manifests" :
		    "label index unreadable; rebuilt from the manifests", "key", key,
		    "location", loc->desc, "error", missing ? "" : why, NULL);
	free(key);
	return 0;
}

int
retention_index_save(struct runner *r, struct location *loc,
    const struct labels_index *idx, char *err, size_t errlen)
{
	char	*key, *json;
	int	 rc;

	key = layout_labels_key(r);
	json = labels_index_to_json(idx);
	rc = storage_put_buffer(loc->st, key, json, strlen(json), NULL, NULL, err, errlen);
	if (rc == -1)
		errprefix(err, errlen, "writing %s to %s", key, loc->desc);
	free(json);
	free(key);
	return rc;
}
