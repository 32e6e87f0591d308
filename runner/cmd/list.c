/*
 * list and check: what a location holds, and whether everything a backup
 * needs is reachable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/log.h"
#include "common/util.h"
#include "runner/catalog/catalog.h"
#include "runner/cmd/jobs.h"

static void
print_labels(const struct manifest *m, time_t now)
{
	char	when[21];
	size_t	i;

	for (i = 0; i < m->nlabels; i++) {
		time_to_rfc3339(m->labels[i].expires, when);
		printf("%s%s%s(until %s)", i == 0 ? "" : " ", m->labels[i].name,
		    m->labels[i].expires <= now ? " expired " : " ", when);
	}
	if (m->nlabels == 0)
		printf("%s", strcmp(m->mode, "single") == 0 ? "(single)" : "-");
}

static void
list_table(const struct catalog *c)
{
	const struct manifest	*m;
	char			 fin[21], raw[16], stored[16];
	time_t			 now = time(NULL);
	size_t			 i;

	printf("%-17s %-21s %10s %10s  %s\n", "ID", "FINISHED", "RAW", "STORED", "LABELS");
	for (i = 0; i < c->n; i++) {
		m = &c->backups[i];
		time_to_rfc3339(m->finished, fin);
		format_bytes(m->raw_bytes, raw);
		format_bytes(m->stored_bytes, stored);
		printf("%-17s %-21s %10s %10s  ", m->id, fin, raw, stored);
		print_labels(m, now);
		printf("\n");
	}
	for (i = 0; i < c->norphans; i++)
		printf("%-17s %-21s %10s %10s  %s\n", c->orphans[i], "-", "-", "-",
		    "(no manifest: an interrupted run; prune removes it)");
}

static int
list_json(const struct catalog *c)
{
	json_t		*arr = json_array(), *o;
	json_error_t	 jerr;
	char		*s;
	size_t		 i;

	for (i = 0; i < c->n; i++) {
		s = manifest_to_json(&c->backups[i]);
		if ((o = json_loads(s, 0, &jerr)) != NULL)
			json_array_append_new(arr, o);
		free(s);
	}
	s = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("%s\n", s);
	free(s);
	json_decref(arr);
	return 0;
}

int
job_list(struct runner *r, const char *storage, int json)
{
	struct location	*loc;
	struct catalog	 c;
	char		 err[KB_ERRLEN];

	if ((loc = job_location(r, storage)) == NULL)
		return EXIT_USAGE;
	if (catalog_load(r, loc, &c, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "cannot list backups", "error", err, NULL);
		return EXIT_JOB;
	}
	if (json)
		list_json(&c);
	else
		list_table(&c);
	catalog_free(&c);
	return EXIT_OK;
}

static int
stop_listing(const struct storage_object *o, void *arg)
{
	return 0;
}

/* Writes, reads back and removes a small object: credentials, bucket, permissions. */
static int
check_location(struct runner *r, struct location *loc, char *err, size_t errlen)
{
	char	*key, *buf = NULL;
	size_t	 len;
	int	 missing, rc;
	const char *k;

	key = xasprintf("%s/.kbackup-check", r->base);
	rc = storage_put_buffer(loc->st, key, "ok\n", 3, NULL, NULL, err, errlen);
	if (rc == 0)
		rc = storage_get_buffer(loc->st, key, 16, &buf, &len, &missing, err, errlen);
	if (rc == 0) {
		k = key;
		rc = loc->st->ops->remove(loc->st, &k, 1, err, errlen);
	}
	if (rc == 0)
		rc = loc->st->ops->list(loc->st, r->base, NULL, stop_listing, NULL, err, errlen);
	free(buf);
	free(key);
	return rc;
}

static const char *
tristate(int v, const char *yes, const char *no)
{
	return v == 1 ? yes : v == 0 ? no : "unknown";
}

/* What the store has (storage_ops.probe): a line, and a failure if the config asks for more. */
static int
probe_location(struct location *loc)
{
	struct storage_probe	p;
	char			err[KB_ERRLEN];
	int			rc;

	if (loc->st->ops->probe == NULL)
		return 0;
	rc = loc->st->ops->probe(loc->st, &p, err, sizeof(err));
	printf("storage %s: credentials %s, object lock %s%s%s, versioning %s, "
	    "ListMultipartUploads %s\n", loc->st->name, p.credentials[0] ? p.credentials :
	    "none", tristate(p.object_lock, "enabled", "off"), p.lock_default[0] ? " " : "",
	    p.lock_default, p.versioning == 2 ? "suspended" :
	    tristate(p.versioning, "enabled", "off"),
	    tristate(p.list_pending, "works", "not implemented (set a lifecycle rule that "
	    "aborts incomplete multipart uploads)"));
	if (rc == -1)
		printf("storage %s: FAILED %s\n", loc->st->name, err);
	return rc;
}

int
job_check(struct runner *r, int offline)
{
	struct engine_job	job;
	char			err[KB_ERRLEN];
	size_t			i;
	int			failed = 0;

	printf("config: ok (%s)\n", r->cfg->path);
	if (offline)
		return EXIT_OK;
	runner_engine_job(r, &job, NULL);
	if (r->engine->check(&job, err, sizeof(err)) == -1) {
		printf("database: FAILED %s\n", err);
		failed++;
	} else
		printf("database: ok (%s)\n", r->engine->name);
	for (i = 0; i < r->nlocations; i++) {
		if (check_location(r, &r->locations[i], err, sizeof(err)) == -1) {
			printf("storage %s: FAILED %s\n", r->locations[i].st->name, err);
			failed++;
		} else
			printf("storage %s: ok (%s)\n", r->locations[i].st->name,
			    r->locations[i].desc);
		if (probe_location(&r->locations[i]) == -1)
			failed++;
	}
	fflush(stdout);
	return failed == 0 ? EXIT_OK : EXIT_JOB;
}
