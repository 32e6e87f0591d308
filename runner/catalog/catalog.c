/*
 * catalog: listing a location's backups through their manifests.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "runner/catalog/catalog.h"

struct scan {
	size_t	  prefixlen;
	char	**manifests;	/* IDs */
	size_t	  nmanifests;
	char	**datas;
	size_t	  ndatas;
};

static void
push(char ***v, size_t *n, const char *s, size_t len)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = xstrndup(s, len);
}

static int
scan_object(const struct storage_object *o, void *arg)
{
	struct scan	*sc = arg;
	const char	*rest = o->key + sc->prefixlen, *slash;
	time_t		 t;
	char		 id[17];

	if ((slash = strchr(rest, '/')) == NULL || slash - rest != 16)
		return 0;
	memcpy(id, rest, 16);
	id[16] = '\0';
	if (id_to_time(id, &t) == -1)
		return 0;
	if (strcmp(slash, "/manifest.json") == 0)
		push(&sc->manifests, &sc->nmanifests, id, 16);
	else if (strcmp(slash, "/data") == 0)
		push(&sc->datas, &sc->ndatas, id, 16);
	return 0;
}

static int
has_id(char **v, size_t n, const char *id)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], id) == 0)
			return 1;
	return 0;
}

static int
by_id(const void *a, const void *b)
{
	return strcmp(((const struct manifest *)a)->id, ((const struct manifest *)b)->id);
}

static int
catalog_add(struct catalog *c, struct storage *st, const char *key, char *err,
    size_t errlen)
{
	struct manifest	 m;
	char		*buf;
	size_t		 len;
	int		 missing;

	if (storage_get_buffer(st, key, MANIFEST_MAX, &buf, &len, &missing, err,
	    errlen) == -1)
		return missing ? 0 : -1;
	if (manifest_from_json(buf, len, &m, err, errlen) == -1) {
		log_kv(LOGL_WARN, "unreadable manifest skipped", "key", key, "error", err, NULL);
		free(buf);
		return 0;
	}
	free(buf);
	c->backups = xreallocarray(c->backups, c->n + 1, sizeof(*c->backups));
	c->backups[c->n++] = m;
	return 0;
}

static void
strings_free(char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int
catalog_load(struct runner *r, struct location *loc, struct catalog *c, char *err,
    size_t errlen)
{
	struct scan	 sc;
	char		*prefix, *key;
	size_t		 i;
	int		 rc = -1;

	memset(c, 0, sizeof(*c));
	memset(&sc, 0, sizeof(sc));
	prefix = layout_backups_prefix(r);
	sc.prefixlen = strlen(prefix);
	if (loc->st->ops->list(loc->st, prefix, NULL, scan_object, &sc, err, errlen) == -1) {
		errprefix(err, errlen, "listing %s", loc->desc);
		goto out;
	}
	for (i = 0; i < sc.nmanifests; i++) {
		key = layout_manifest_key(r, sc.manifests[i]);
		rc = catalog_add(c, loc->st, key, err, errlen);
		free(key);
		if (rc == -1)
			goto out;
	}
	for (i = 0; i < sc.ndatas; i++)
		if (!has_id(sc.manifests, sc.nmanifests, sc.datas[i]))
			push(&c->orphans, &c->norphans, sc.datas[i], 16);
	key = layout_single_manifest_key(r);
	rc = catalog_add(c, loc->st, key, err, errlen);
	free(key);
	if (rc == 0 && c->n > 1)
		qsort(c->backups, c->n, sizeof(*c->backups), by_id);
out:
	strings_free(sc.manifests, sc.nmanifests);
	strings_free(sc.datas, sc.ndatas);
	free(prefix);
	if (rc == -1)
		catalog_free(c);
	return rc;
}

int
catalog_single_manifest(struct runner *r, struct location *loc, struct manifest *m,
    int *missing, char *err, size_t errlen)
{
	char	*key, *buf;
	size_t	 len;
	int	 rc;

	key = layout_single_manifest_key(r);
	rc = storage_get_buffer(loc->st, key, MANIFEST_MAX, &buf, &len, missing, err,
	    errlen);
	if (rc == 0) {
		rc = manifest_from_json(buf, len, m, err, errlen);
		free(buf);
	}
	if (rc == -1)
		errprefix(err, errlen, "%s", key);
	free(key);
	return rc;
}

int
catalog_single_data(struct runner *r, struct location *loc, char ***ids, size_t *n,
    char *err, size_t errlen)
{
	struct scan	 sc;
	char		*prefix;
	int		 rc;

	memset(&sc, 0, sizeof(sc));
	prefix = layout_single_prefix(r);
	sc.prefixlen = strlen(prefix);
	rc = loc->st->ops->list(loc->st, prefix, NULL, scan_object, &sc, err, errlen);
	if (rc == -1)
		errprefix(err, errlen, "listing %s", loc->desc);
	free(prefix);
	strings_free(sc.manifests, sc.nmanifests);	/* single/ has one, not per ID */
	if (rc == -1) {
		strings_free(sc.datas, sc.ndatas);
		sc.datas = NULL;
		sc.ndatas = 0;
	}
	*ids = sc.datas;
	*n = sc.ndatas;
	return rc;
}

void
catalog_ids_free(char **ids, size_t n)
{
	strings_free(ids, n);
}

void
catalog_free(struct catalog *c)
{
	size_t	i;

	for (i = 0; i < c->n; i++)
		manifest_free(&c->backups[i]);
	free(c->backups);
	strings_free(c->orphans, c->norphans);
	memset(c, 0, sizeof(*c));
}

const struct manifest *
catalog_find(const struct catalog *c, const char *id)
{
	size_t	i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->backups[i].id, id) == 0)
			return &c->backups[i];
	return NULL;
}

const struct manifest *
catalog_latest(const struct catalog *c)
{
	const struct manifest	*best = NULL;
	size_t			 i;

	for (i = 0; i < c->n; i++)
		if (best == NULL || c->backups[i].finished >= best->finished)
			best = &c->backups[i];
	return best;
}

const struct manifest *
catalog_at(const struct catalog *c, time_t t)
{
	const struct manifest	*best = NULL;
	size_t			 i;

	for (i = 0; i < c->n; i++)
		if (c->backups[i].finished <= t &&
		    (best == NULL || c->backups[i].finished >= best->finished))
			best = &c->backups[i];
	return best;
}

const struct manifest *
catalog_select(const struct catalog *c, const char *which, char *err, size_t errlen)
{
	const struct manifest	*m;

	if (which == NULL || strcmp(which, "latest") == 0) {
		if ((m = catalog_latest(c)) == NULL)
			errf(err, errlen, "there is no backup yet");
		return m;
	}
	if ((m = catalog_find(c, which)) == NULL)
		errf(err, errlen, "no backup %s (kbackup-runner list shows the backups)", which);
	return m;
}
