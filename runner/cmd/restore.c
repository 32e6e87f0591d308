/*
 * restore: restore, unpack and verify — a stored backup streamed back
 * through the pipeline into the engine's restore tool, a file, or nowhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeparse.h"
#include "common/util.h"
#include "runner/catalog/catalog.h"
#include "runner/cmd/jobs.h"
#include "runner/stream/keys.h"
#include "runner/stream/pipeline.h"
#include "runner/wal/pitr.h"

struct location *
job_location(struct runner *r, const char *name)
{
	struct location	*loc;

	if (name == NULL)
		return &r->locations[0];
	if ((loc = runner_location(r, name)) == NULL)
		log_kv(LOGL_ERROR, "no such storage location", "storage", name, NULL);
	return loc;
}

/*
 * The catalog a request needs: an ID alone needs no listing (its manifest
 * and a HEAD of each part); latest and --at need the listing and the index.
 */
static int
open_catalog(struct runner *r, const struct restore_request *req, struct opened *o,
    time_t *at, char *err, size_t errlen)
{
	const char	*tz = config_get(r->backup, "timezone");

	*at = 0;
	if (req->at != NULL && time_parse(req->at, tz, at, err, errlen) == -1)
		return -1;
	if (req->which != NULL && strcmp(req->which, "latest") != 0)
		return catalog_open_one(r, o->loc, req->which, &o->catalog, err, errlen);
	return catalog_open(r, o->loc, 0, &o->catalog, err, errlen);
}

int
job_open_backup(struct runner *r, const struct restore_request *req, struct opened *o)
{
	char	err[KB_ERRLEN], fin[21], when[21];
	time_t	at;

	memset(o, 0, sizeof(o[0]));
	if ((o->loc = job_location(r, req->storage)) == NULL)
		return -1;
	if (open_catalog(r, req, o, &at, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "cannot list backups", "error", err, NULL);
		return -1;
	}
	if ((o->e = catalog_select(&o->catalog, req->which, at, req->skip_damaged, err,
	    sizeof(err))) == NULL) {
		log_kv(LOGL_ERROR, "no backup to restore", "error", err, NULL);
		catalog_close(&o->catalog);
		return -1;
	}
	o->m = &o->e->rec;
	if (at != 0) {
		time_to_rfc3339(at, when);
		time_to_rfc3339(o->m->finished, fin);
		log_kv(LOGL_INFO, "picked the newest backup that finished at or before the "
		    "time", "at", when, "id", o->m->id, "finished", fin, NULL);
	}
	if (keyring_load(o->loc->section, &o->keys, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "bad encryption key", "error", err, NULL);
		catalog_close(&o->catalog);
		return -1;
	}
	return 0;
}

void
job_close_backup(struct opened *o)
{
	keyring_free(&o->keys);
	catalog_close(&o->catalog);
}

int
job_restore(struct runner *r, const struct restore_request *req)
{
	struct opened		 o;
	struct engine_job	 job;
	char			 err[KB_ERRLEN], eerr[KB_ERRLEN], size[16];
	const char		*target;
	struct progress		 prog;
	uint64_t		 raw = 0;
	int			 fd, prc, erc;

	if (req->data_dir != NULL)
		return job_restore_physical(r, req);
	if (job_open_backup(r, req, &o) == -1)
		return EXIT_JOB;
	if (pg_physical_is(o.m->details)) {
		log_kv(LOGL_ERROR, "a physical backup is restored into a data directory: "
		    "restore ... --data-dir DIR", "id", o.m->id, NULL);
		job_close_backup(&o);
		return EXIT_USAGE;
	}
	target = req->database != NULL ? req->database :
	    config_get(r->engine_section, "database");
	if (req->dry_run) {
		char fin[21];

		time_to_rfc3339(o.m->finished, fin);
		printf("would restore backup %s (finished %s) from %s into %s\n", o.m->id,
		    fin, o.loc->desc, target != NULL ? target : r->engine->desc->name);
		fflush(stdout);
		/* Logged too: a triggered dry run shows it to the trigger client. */
		log_kv(LOGL_INFO, "restore dry run: nothing restored", "id", o.m->id, "from",
		    o.loc->desc, "into", target != NULL ? target : r->engine->desc->name, NULL);
		job_close_backup(&o);
		return EXIT_OK;
	}
	log_kv(LOGL_INFO, "restore started", "id", o.m->id, "from", o.loc->desc, "into",
	    target != NULL ? target : "", NULL);
	runner_engine_job(r, &job, req->database);
	if (r->engine->restore_begin(&job, &fd, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "restore failed", "id", o.m->id, "error", err, NULL);
		job_close_backup(&o);
		return EXIT_JOB;
	}
	progress_start(&prog, PROGRESS_RESTORE, o.m->stored_bytes);
	prc = job_read_backup(o.loc, &o.keys, o.m, fd, &prog, &raw, err, sizeof(err));
	erc = r->engine->restore_end(&job, prc == -1, eerr, sizeof(eerr));
	progress_finish(&prog, prc == 0 && erc == 0);
	if (prc == -1 || erc == -1) {
		log_kv(LOGL_ERROR, "restore failed; the target was left as it was where the "
		    "engine allows", "id", o.m->id, "error", prc == -1 ? err : eerr, NULL);
		job_close_backup(&o);
		return EXIT_JOB;
	}
	format_bytes(raw, size);
	log_kv(LOGL_INFO, "restore finished", "id", o.m->id, "into",
	    target != NULL ? target : "", "raw", size, NULL);
	job_close_backup(&o);
	return EXIT_OK;
}

static int
open_output(const char *output, char **tmp)
{
	int	fd;

	*tmp = NULL;
	if (output == NULL || strcmp(output, "-") == 0)
		return STDOUT_FILENO;
	*tmp = xasprintf("%s.kbtmp.%ld", output, (long)getpid());
	if ((fd = open(*tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1) {
		log_kv(LOGL_ERROR, "cannot create the output file", "path", output, "error",
		    strerror(errno), NULL);
		free(*tmp);
		*tmp = NULL;
	}
	return fd;
}

int
job_unpack(struct runner *r, const struct restore_request *req)
{
	struct opened	 o;
	struct progress	 prog;
	char		 err[KB_ERRLEN], *tmp;
	uint64_t	 raw;
	int		 fd, rc;

	if (job_open_backup(r, req, &o) == -1)
		return EXIT_JOB;
	if ((fd = open_output(req->output, &tmp)) == -1) {
		job_close_backup(&o);
		return EXIT_JOB;
	}
	progress_start(&prog, PROGRESS_UNPACK, o.m->stored_bytes);
	rc = job_read_backup(o.loc, &o.keys, o.m, fd, &prog, &raw, err, sizeof(err));
	progress_finish(&prog, rc == 0);
	if (tmp != NULL) {
		if (rc == 0 && (fsync(fd) == -1 || rename(tmp, req->output) == -1))
			rc = errf(err, sizeof(err), "%s: %s", req->output, strerror(errno));
		close(fd);
		if (rc == -1)
			unlink(tmp);
		free(tmp);
	}
	if (rc == -1)
		log_kv(LOGL_ERROR, "unpack failed", "id", o.m->id, "error", err, NULL);
	else
		log_kv(LOGL_INFO, "unpacked", "id", o.m->id, "output",
		    tmp != NULL ? req->output : "-", NULL);
	job_close_backup(&o);
	return rc == 0 ? EXIT_OK : EXIT_JOB;
}

static int
verify_one(struct location *loc, const struct keyring *kr, const struct catalog_entry *e)
{
	char		err[KB_ERRLEN], size[16];
	uint64_t	raw;

	if (job_read_backup(loc, kr, &e->rec, -1, NULL, &raw, err, sizeof(err)) == -1) {
		printf("%s FAILED %s\n", e->id, err);
		return -1;
	}
	format_bytes(raw, size);
	printf("%s ok (%s, %llu frames)%s\n", e->id, size,
	    (unsigned long long)e->rec.parts[0].container.frames, e->future ?
	    "; dated in the future: this host's clock or the writer's was wrong" : "");
	return 0;
}

/* verify --all: every backup of the location, each manifest read from storage. */
static int
verify_all(struct runner *r, const struct restore_request *req)
{
	struct location		*loc;
	struct catalog		 c;
	struct keyring		 kr;
	struct catalog_entry	*e;
	char			 err[KB_ERRLEN];
	size_t			 i, failed = 0;

	if ((loc = job_location(r, req->storage)) == NULL)
		return EXIT_USAGE;
	if (catalog_open(r, loc, CATALOG_READ_ALL, &c, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "cannot list backups", "error", err, NULL);
		return EXIT_JOB;
	}
	if (keyring_load(loc->section, &kr, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "bad encryption key", "error", err, NULL);
		catalog_close(&c);
		return EXIT_JOB;
	}
	for (i = 0; i < c.n; i++) {
		e = &c.v[i];
		if (e->state == CATALOG_OK)
			failed += verify_one(loc, &kr, e) == -1;
		else if (e->state == CATALOG_DAMAGED) {
			printf("%s DAMAGED %s\n", e->id, e->why);
			failed++;
		} else if (e->state == CATALOG_RUNNING)
			printf("%s running: a backup in progress, not checked\n", e->id);
	}
	if (c.nforeign > 0)
		printf("%zu foreign manifest(s) ignored (see the log)\n", c.nforeign);
	if (c.n == 0)
		printf("no backups in %s\n", loc->desc);
	failed += wal_report(r, loc, &c, stdout);
	fflush(stdout);
	if (failed > 0)
		log_kv(LOGL_ERROR, "verify found bad backups", "location", loc->desc, NULL);
	keyring_free(&kr);
	catalog_close(&c);
	return failed == 0 ? EXIT_OK : EXIT_JOB;
}

int
job_verify(struct runner *r, const struct restore_request *req, int all)
{
	struct opened	o;
	int		failed;

	if (all)
		return verify_all(r, req);
	if (job_open_backup(r, req, &o) == -1)
		return EXIT_JOB;
	failed = verify_one(o.loc, &o.keys, o.e) == -1;
	failed |= wal_report(r, o.loc, &o.catalog, stdout) > 0;
	fflush(stdout);
	if (failed)
		log_kv(LOGL_ERROR, "verify found bad backups", "location", o.loc->desc, NULL);
	job_close_backup(&o);
	return failed ? EXIT_JOB : EXIT_OK;
}

int
job_read_backup(struct location *loc, const struct keyring *kr,
    const struct backup_record *rec, int fd, struct progress *prog, uint64_t *raw,
    char *err, size_t errlen)
{
	const struct record_part	*p = &rec->parts[0];

	if (rec->nparts != 1)
		return errf(err, errlen, "backup %s has %zu parts; this command reads backups "
		    "of one", rec->id, rec->nparts);
	return pipeline_restore(loc->st, p->key, kr, rec->id, p->sha256, p->container.cipher,
	    fd, prog, raw, err, errlen);
}
