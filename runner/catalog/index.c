/*
 * index: labels.json to and from struct index.  See index.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/util.h"
#include "common/xjson.h"
#include "runner/catalog/index.h"
#include "storage/storage.h"

static int
by_id(const void *a, const void *b)
{
	return strcmp(((const struct index_entry *)a)->rec.id,
	    ((const struct index_entry *)b)->rec.id);
}

static void
sort(struct index *idx)
{
	if (idx->n > 1)
		qsort(idx->v, idx->n, sizeof(*idx->v), by_id);
	idx->unsorted = 0;
}

static int
entry_from_json(const json_t *o, const char *definition, struct index_entry *e,
    char *err, size_t errlen)
{
	const json_t	*stamp, *manifest;
	char		 def[160];

	memset(e, 0, sizeof(*e));
	if (!json_is_object(o) || json_object_size(o) != 2)
		return errf(err, errlen, "not an object of stamp and manifest");
	stamp = json_object_get(o, "stamp");
	manifest = json_object_get(o, "manifest");
	if (!json_is_string(stamp) || json_string_length(stamp) >= STORAGE_STAMP_MAX ||
	    strlen(json_string_value(stamp)) != json_string_length(stamp))
		return errf(err, errlen, "stamp: missing or not a short string");
	if (record_from_json(manifest, &e->rec, err, errlen) == -1)
		return errprefix(err, errlen, "manifest");
	snprintf(def, sizeof(def), "%s/%s", e->rec.namespace_, e->rec.name);
	if (strcmp(def, definition) != 0) {
		record_free(&e->rec);
		return errf(err, errlen, "backup %s is of %s", e->rec.id, def);
	}
	e->stamp = xstrdup(json_string_value(stamp));
	return 0;
}

static int
index_from_json(const json_t *root, const char *definition, struct index *idx,
    char *err, size_t errlen)
{
	const json_t	*version, *def, *backups;
	struct index_entry e;
	size_t		 i;

	if (!json_is_object(root) || json_object_size(root) != 3)
		return errf(err, errlen, "not an object of version, definition and backups");
	version = json_object_get(root, "version");
	def = json_object_get(root, "definition");
	backups = json_object_get(root, "backups");
	if (!json_is_integer(version) || json_integer_value(version) != INDEX_VERSION)
		return errf(err, errlen, "version: not %d", INDEX_VERSION);
	if (!json_is_string(def) || strcmp(json_string_value(def), definition) != 0)
		return errf(err, errlen, "definition: not %s", definition);
	if (!json_is_array(backups) || json_array_size(backups) > INDEX_MAX)
		return errf(err, errlen, "backups: not an array of at most %d", INDEX_MAX);
	idx->v = xcalloc(json_array_size(backups) + 1, sizeof(*idx->v));
	for (i = 0; i < json_array_size(backups); i++) {
		if (entry_from_json(json_array_get(backups, i), definition, &e, err,
		    errlen) == -1)
			return errprefix(err, errlen, "backups[%zu]", i);
		idx->v[idx->n++] = e;
	}
	sort(idx);
	for (i = 1; i < idx->n; i++)
		if (strcmp(idx->v[i - 1].rec.id, idx->v[i].rec.id) == 0)
			return errf(err, errlen, "backup %s listed twice", idx->v[i].rec.id);
	return 0;
}

int
index_parse(const char *buf, size_t len, const char *definition, struct index *idx,
    char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*root;
	int		 rc;

	memset(idx, 0, sizeof(*idx));
	if (len > INDEX_JSON_MAX)
		return errf(err, errlen, "larger than %d bytes", INDEX_JSON_MAX);
	if ((root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return errf(err, errlen, "line %d: %s", jerr.line, jerr.text);
	rc = index_from_json(root, definition, idx, err, errlen);
	json_decref(root);
	if (rc == -1)
		index_free(idx);
	return rc;
}

char *
index_to_text(const struct index *idx, const char *definition)
{
	json_t	*backups, *o;
	size_t	 i;

	backups = json_array();
	for (i = 0; i < idx->n; i++)
		json_array_append_new(backups, json_pack("{s:s, s:o}", "stamp",
		    idx->v[i].stamp, "manifest", record_to_json(&idx->v[i].rec)));
	o = json_pack("{s:i, s:s, s:o}", "version", INDEX_VERSION, "definition",
	    definition, "backups", backups);
	return xjson_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

void
index_add(struct index *idx, const char *stamp, const struct backup_record *rec)
{
	idx->v = xreallocarray(idx->v, idx->n + 1, sizeof(*idx->v));
	idx->v[idx->n].stamp = xstrdup(stamp);
	record_copy(&idx->v[idx->n].rec, rec);
	idx->n++;
	idx->unsorted = 1;
}

static int
id_cmp(const void *key, const void *e)
{
	return strcmp(key, ((const struct index_entry *)e)->rec.id);
}

const struct index_entry *
index_find(struct index *idx, const char *id)
{
	if (idx->unsorted)
		sort(idx);
	if (idx->n == 0)
		return NULL;
	return bsearch(id, idx->v, idx->n, sizeof(*idx->v), id_cmp);
}

void
index_free(struct index *idx)
{
	size_t	i;

	for (i = 0; i < idx->n; i++) {
		free(idx->v[i].stamp);
		record_free(&idx->v[i].rec);
	}
	free(idx->v);
	memset(idx, 0, sizeof(*idx));
}
