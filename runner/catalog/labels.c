/*
 * labels: retention labels, the view of backups holding them, and the
 * prune plan.  See labels.h.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/tz.h"
#include "common/util.h"
#include "runner/catalog/backup_id.h"
#include "runner/catalog/labels.h"
#include "runner/catalog/record.h"

/* The view. */

void
labels_index_init(struct labels_index *idx)
{
	idx->v = NULL;
	idx->n = 0;
}

void
labels_backup_free(struct labels_backup *b)
{
	record_labels_free(b->labels, b->nlabels);
	free(b->id);
	memset(b, 0, sizeof(*b));
}

void
labels_index_free(struct labels_index *idx)
{
	size_t	i;

	for (i = 0; i < idx->n; i++)
		labels_backup_free(&idx->v[i]);
	free(idx->v);
	labels_index_init(idx);
}

struct labels_backup *
labels_index_find(const struct labels_index *idx, const char *id)
{
	size_t	i;

	for (i = 0; i < idx->n; i++)
		if (strcmp(idx->v[i].id, id) == 0)
			return &idx->v[i];
	return NULL;
}

int
labels_before(time_t fa, const char *ida, time_t fb, const char *idb)
{
	if (fa != fb)
		return fa < fb;
	return strcmp(ida, idb) < 0;
}

/* Inserts *b (taking ownership) in order. */
static struct labels_backup *
index_insert(struct labels_index *idx, struct labels_backup *b)
{
	size_t	pos = idx->n;

	while (pos > 0 && labels_before(b->finished, b->id, idx->v[pos - 1].finished,
	    idx->v[pos - 1].id))
		pos--;
	idx->v = xreallocarray(idx->v, idx->n + 1, sizeof(*idx->v));
	memmove(&idx->v[pos + 1], &idx->v[pos], (idx->n - pos) * sizeof(*idx->v));
	idx->v[pos] = *b;
	idx->n++;
	return &idx->v[pos];
}

struct labels_backup *
labels_index_add(struct labels_index *idx, const char *id, time_t finished, char *err,
    size_t errlen)
{
	struct labels_backup	b;
	time_t			t;

	if (backup_id_parse(id, &t) == -1) {
		errf(err, errlen, "bad backup id \"%.64s\"", id);
		return NULL;
	}
	if (labels_index_find(idx, id) != NULL) {
		errf(err, errlen, "backup %s is already in the index", id);
		return NULL;
	}
	if (idx->n >= LABELS_BACKUPS_MAX) {
		errf(err, errlen, "more than %d backups in the index", LABELS_BACKUPS_MAX);
		return NULL;
	}
	memset(&b, 0, sizeof(b));
	b.id = xstrdup(id);
	b.finished = finished;
	return index_insert(idx, &b);
}

int
labels_index_remove(struct labels_index *idx, const char *id)
{
	struct labels_backup	*b;
	size_t			 pos;

	if ((b = labels_index_find(idx, id)) == NULL)
		return -1;
	pos = (size_t)(b - idx->v);
	labels_backup_free(b);
	memmove(&idx->v[pos], &idx->v[pos + 1], (idx->n - pos - 1) * sizeof(*idx->v));
	idx->n--;
	return 0;
}

static int
has_label(const struct labels_backup *b, const char *name)
{
	size_t	i;

	for (i = 0; i < b->nlabels; i++)
		if (strcmp(b->labels[i].name, name) == 0)
			return 1;
	return 0;
}

/* 1 if a backup other than self holds name unexpired at t. */
static int
label_held(const struct labels_index *idx, const struct labels_backup *self,
    const char *name, time_t t)
{
	size_t	i, j;

	for (i = 0; i < idx->n; i++) {
		if (&idx->v[i] == self)
			continue;
		for (j = 0; j < idx->v[i].nlabels; j++)
			if (idx->v[i].labels[j].expires > t &&
			    strcmp(idx->v[i].labels[j].name, name) == 0)
				return 1;
	}
	return 0;
}

void
labels_backup_add(struct labels_backup *b, const char *name, time_t expires)
{
	record_labels_add(&b->labels, &b->nlabels, name, expires);
}

/* "RULE:VALUE" for one rule at t. */
static int
label_name(const struct label_rule *rule, const char *tz, const char *id, time_t t,
    char *buf, size_t len, char *err, size_t errlen)
{
	struct tm	tm;
	char		value[RECORD_LABEL_MAX];
	int		n;

	if (rule->format == NULL)
		strlcpy(value, id, sizeof(value));
	else {
		if (tz_localtime(tz, t, &tm) == -1)
			return errf(err, errlen, "time %lld in timezone %s", (long long)t,
			    tz != NULL ? tz : "UTC");
		if (strftime(value, sizeof(value), rule->format, &tm) == 0)
			return errf(err, errlen, "rule %s: format gives an empty or too "
			    "long label", rule->name);
	}
	n = snprintf(buf, len, "%s:%s", rule->name, value);
	if (n < 0 || (size_t)n >= len || !record_label_valid(buf))
		return errf(err, errlen, "rule %s: label \"%.64s\" is too long or holds "
		    "a control character", rule->name, buf);
	return 0;
}

int
labels_assign(struct labels_index *idx, const struct label_rules *rules, const char *tz,
    const char *id, time_t finished, char *err, size_t errlen)
{
	struct labels_backup	*b;
	char			 name[RECORD_LABEL_MAX + 1];
	size_t			 i;

	if ((b = labels_index_find(idx, id)) == NULL &&
	    (b = labels_index_add(idx, id, finished, err, errlen)) == NULL)
		return -1;
	for (i = 0; i < rules->n; i++) {
		if (rules->v[i].keep < 0)
			continue;
		if (label_name(&rules->v[i], tz, id, finished, name, sizeof(name), err,
		    errlen) == -1)
			return -1;
		if (has_label(b, name) || label_held(idx, b, name, finished))
			continue;
		if (b->nlabels >= RECORD_LABELS_MAX)
			return errf(err, errlen, "backup %s: more than %d labels", id,
			    RECORD_LABELS_MAX);
		/* Keeps of up to 100 years from a clock near 9999: as long as a manifest holds. */
		labels_backup_add(b, name, finished > TIME_STORED_MAX - rules->v[i].keep ?
		    TIME_STORED_MAX : finished + rules->v[i].keep);
	}
	return 0;
}

/* Prune plan. */

static char *
prune_reason(const struct labels_backup *b)
{
	char	*reason, *next, when[21];
	size_t	 i;

	if (b->nlabels == 0)
		return xstrdup("no labels");
	reason = xstrdup("labels");
	for (i = 0; i < b->nlabels; i++) {
		time_to_rfc3339(b->labels[i].expires, when);
		next = xasprintf("%s%s %s (expired %s)", reason, i ? "," : "",
		    b->labels[i].name, when);
		free(reason);
		reason = next;
	}
	return reason;
}

void
labels_plan_prune(const struct labels_index *idx, time_t now, struct labels_prune_plan *plan)
{
	const struct labels_backup	*b;
	size_t				 i, j;
	ssize_t				 newest = (ssize_t)idx->n - 1;
	int				 kept;

	memset(plan, 0, sizeof(*plan));
	for (i = 0; i < idx->n; i++) {
		b = &idx->v[i];
		kept = 0;
		for (j = 0; j < b->nlabels; j++)
			if (b->labels[j].expires > now)
				kept = 1;
		if (kept)
			continue;
		if ((ssize_t)i == newest) {
			plan->kept_newest = xstrdup(b->id);
			continue;
		}
		plan->v = xreallocarray(plan->v, plan->n + 1, sizeof(*plan->v));
		plan->v[plan->n].id = xstrdup(b->id);
		plan->v[plan->n].reason = prune_reason(b);
		plan->n++;
	}
}

void
labels_plan_free(struct labels_prune_plan *plan)
{
	size_t	i;

	for (i = 0; i < plan->n; i++) {
		free(plan->v[i].id);
		free(plan->v[i].reason);
	}
	free(plan->v);
	free(plan->kept_newest);
	memset(plan, 0, sizeof(*plan));
}

