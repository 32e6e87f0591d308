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
#include "common/xjson.h"
#include "runner/binlog/bpitr.h"
#include "runner/catalog/catalog.h"
#include "runner/catalog/record.h"
#include "runner/cmd/jobs.h"
#include "runner/wal/pitr.h"

static void
print_labels(const struct backup_record *m, time_t now)
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

/* A backup of several parts: what it holds, on a line of its own under its row. */
static void
print_parts(const struct backup_record *m)
{
	const char	*db;
	char		 name[4 * ENGINE_PART_NAME_MAX + 1];
	size_t		 i, ndb = 0;

	if (m->nparts == 1 && strcmp(m->parts[0].name, ENGINE_PART_DATA) == 0)
		return;
	printf("%-23s ", "");
	for (i = 0; i < m->nparts; i++)
		if (engine_part_database(m->parts[i].name) == NULL) {
			engine_name_show(m->parts[i].name, name, sizeof(name));
			printf("%s + ", name);
		}
	for (i = 0; i < m->nparts; i++)
		ndb += engine_part_database(m->parts[i].name) != NULL;
	printf("%zu database%s:", ndb, ndb == 1 ? "" : "s");
	for (i = 0; i < m->nparts; i++)
		if ((db = engine_part_database(m->parts[i].name)) != NULL) {
			engine_name_show(db, name, sizeof(name));
			printf(" %s", name);
		}
	printf("\n");
}

static void
list_row(const struct catalog_entry *e, time_t now)
{
	const struct backup_record	*m = &e->rec;
	char				 fin[21], raw[16], stored[16];

	switch (e->state) {
	case CATALOG_OK:
		time_to_rfc3339(m->finished, fin);
		format_bytes(m->raw_bytes, raw);
		format_bytes(m->stored_bytes, stored);
		printf("%-23s %-21s %10s %10s  ", e->id, fin, raw, stored);
		print_labels(m, now);
		if (e->future)
			printf("  (FUTURE: dated ahead of this host's clock; never taken as "
			    "latest)");
		printf("\n");
		print_parts(m);
		break;
	case CATALOG_DAMAGED:
		printf("%-23s %-21s %10s %10s  DAMAGED: %s\n", e->id, "-", "-", "-", e->why);
		break;
	case CATALOG_RUNNING:
		printf("%-23s %-21s %10s %10s  (running: a backup in progress)\n", e->id, "-",
		    "-", "-");
		break;
	case CATALOG_ORPHAN:
		if (e->nobjects > 0)
			printf("%-23s %-21s %10s %10s  (no manifest: an interrupted run; prune "
			    "removes it once older than orphan_grace)\n", e->id, "-", "-", "-");
		break;
	default:
		break;
	}
}

static void
list_table(const struct catalog *c)
{
	time_t	now = time(NULL);
	size_t	i;

	printf("%-23s %-21s %10s %10s  %s\n", "ID", "FINISHED", "RAW", "STORED", "LABELS");
	for (i = 0; i < c->n; i++)
		list_row(&c->v[i], now);
}

/* wal: the WAL archive's view of the physical backups (pitr.h), or NULL. */
static json_t *
entry_json(const struct catalog_entry *e, json_t *wal)
{
	json_t		*o, *dbs, *w;
	const char	*db;
	size_t		 i;

	o = json_pack("{s:s, s:s}", "id", e->id, "state", catalog_state_name(e->state));
	if (e->why[0] != '\0')
		json_object_set_new(o, "why", json_string(e->why));
	if (e->state == CATALOG_OK) {
		dbs = json_array();
		for (i = 0; i < e->rec.nparts; i++)
			if ((db = engine_part_database(e->rec.parts[i].name)) != NULL)
				json_array_append_new(dbs, json_string(db));
		if (json_array_size(dbs) > 0)
			json_object_set(o, "databases", dbs);
		json_decref(dbs);
		json_object_set_new(o, "future", json_boolean(e->future));
		json_object_set_new(o, "manifest", record_to_json(&e->rec));
		if ((w = json_object_get(wal, e->id)) != NULL)
			json_object_set(o, "wal", w);
	}
	return o;
}

static void
list_json(const struct catalog *c, json_t *wal)
{
	json_t	*arr = json_array();
	char	*s;
	size_t	 i;

	for (i = 0; i < c->n; i++)
		if (c->v[i].state == CATALOG_OK || c->v[i].state == CATALOG_DAMAGED ||
		    c->v[i].state == CATALOG_RUNNING || (c->v[i].state == CATALOG_ORPHAN &&
		    c->v[i].nobjects > 0))
			json_array_append_new(arr, entry_json(&c->v[i], wal));
	s = xjson_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	printf("%s\n", s);
	free(s);
}

int
job_list(struct runner *r, const char *storage, int json)
{
	struct location	*loc;
	struct catalog	 c;
	char		 err[KB_ERRLEN];

	if ((loc = job_location(r, storage)) == NULL)
		return EXIT_USAGE;
	if (catalog_open(r, loc, 0, &c, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "cannot list backups", "error", err, NULL);
		return EXIT_JOB;
	}
	if (json) {
		json_t *wal = wal_report_json(r, loc, &c);

		list_json(&c, wal);
		json_decref(wal);
	} else {
		list_table(&c);
		wal_report(r, loc, &c, stdout, 0);
	}
	fflush(stdout);
	if (catalog_count(&c, CATALOG_DAMAGED) > 0)
		log_kv(LOGL_ERROR, "damaged backups in the location: see DAMAGED above "
		    "(verify --all checks every one)", "location", loc->desc, NULL);
	catalog_close(&c);
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

	key = xasprintf("%s/.kbackup-check", r->base);
	rc = storage_put_buffer(loc->st, key, "ok\n", 3, NULL, NULL, err, errlen);
	if (rc == 0)
		rc = storage_get_buffer(loc->st, key, 16, &buf, &len, &missing, err, errlen);
	if (rc == 0)
		rc = storage_remove_one(loc->st, key, err, errlen);
	if (rc == 0)
		rc = loc->st->ops->list(loc->st, r->base, NULL, stop_listing, NULL, err, errlen);
	free(buf);
	free(key);
	return rc;
}

/*
 * What the location holds, every manifest read: damaged, future-dated and
 * foreign backups are warned about (verify --all fails on them).
 */
static void
check_backups(struct runner *r, struct location *loc)
{
	struct catalog			 c;
	const struct catalog_entry	*e;
	char				 err[KB_ERRLEN];
	size_t				 i;
	long long			 off;

	if (catalog_open(r, loc, CATALOG_READ_ALL, &c, err, sizeof(err)) == -1) {
		printf("backups %s: FAILED %s\n", loc->st->name, err);
		return;
	}
	printf("backups %s: %zu ok, %zu damaged, %zu dated in the future, %zu foreign "
	    "manifests\n", loc->st->name, catalog_count(&c, CATALOG_OK) -
	    catalog_count_future(&c), catalog_count(&c, CATALOG_DAMAGED),
	    catalog_count_future(&c), c.nforeign);
	for (i = 0; i < c.n; i++) {
		e = &c.v[i];
		if (e->state == CATALOG_DAMAGED)
			printf("WARNING: backup %s is damaged: %s\n", e->id, e->why);
		else if (e->state == CATALOG_OK && e->future)
			printf("WARNING: backup %s is dated in the future (never taken as "
			    "latest)\n", e->id);
	}
	off = (long long)(c.now - c.store_now);
	if (off > c.skew || -off > c.skew)
		printf("WARNING: this host's clock is %llds %s the store's (%s)\n",
		    off < 0 ? -off : off, off < 0 ? "behind" : "ahead of", loc->desc);
	catalog_close(&c);
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
	} else {
		printf("database: ok (%s)\n", r->engine->desc->name);
		job_scratch_sweep(r, stdout);	/* a warning, not a failed check */
	}
	for (i = 0; i < r->nlocations; i++) {
		if (check_location(r, &r->locations[i], err, sizeof(err)) == -1) {
			/* no probe: a store that refused the write has nothing more to say */
			printf("storage %s: FAILED %s\n", r->locations[i].st->name, err);
			failed++;
			continue;
		}
		printf("storage %s: ok (%s)\n", r->locations[i].st->name, r->locations[i].desc);
		check_backups(r, &r->locations[i]);
		if (binlog_pitr_on(r) && binlog_check_server(r, &r->locations[i], stdout) == -1)
			failed++;
		if (probe_location(&r->locations[i]) == -1)
			failed++;
	}
	fflush(stdout);
	return failed == 0 ? EXIT_OK : EXIT_JOB;
}
