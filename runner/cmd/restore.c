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

static const struct manifest *
catalog_first(const struct catalog *c)
{
	const struct manifest	*first = NULL;
	size_t			 i;

	for (i = 0; i < c->n; i++)
		if (first == NULL || c->backups[i].finished < first->finished)
			first = &c->backups[i];
	return first;
}

/*
 * The backup a request names: an ID, latest, or with --at the newest that
 * finished at or before TIME (a backup that finished exactly at TIME counts).
 */
static const struct manifest *
select_backup(struct runner *r, const struct catalog *c, const struct restore_request *req,
    char *err, size_t errlen)
{
	const struct manifest	*m;
	const char		*tz = config_get(r->backup, "timezone");
	char			 when[21], fin[21];
	time_t			 t;

	if (req->at == NULL)
		return catalog_select(c, req->which, err, errlen);
	if (time_parse(req->at, tz, &t, err, errlen) == -1)
		return NULL;
	time_to_rfc3339(t, when);
	if ((m = catalog_at(c, t)) == NULL) {
		if (c->n == 0)
			errf(err, errlen, "there is no backup yet");
		else {
			m = catalog_first(c);
			time_to_rfc3339(m->finished, fin);
			errf(err, errlen, "no backup finished at or before %s (--at %s): the "
			    "first one, %s, finished at %s", when, req->at, m->id, fin);
		}
		return NULL;
	}
	time_to_rfc3339(m->finished, fin);
	log_kv(LOGL_INFO, "picked the newest backup that finished at or before the time",
	    "at", when, "id", m->id, "finished", fin, NULL);
	return m;
}

int
job_open_backup(struct runner *r, const struct restore_request *req, struct opened *o)
{
	char	err[KB_ERRLEN];

	memset(o, 0, sizeof(*o));
	if ((o->loc = job_location(r, req->storage)) == NULL)
		return -1;
	if (catalog_load(r, o->loc, &o->catalog, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "cannot list backups", "error", err, NULL);
		return -1;
	}
	if ((o->m = select_backup(r, &o->catalog, req, err, sizeof(err))) == NULL) {
		log_kv(LOGL_ERROR, "no backup to restore", "error", err, NULL);
		catalog_free(&o->catalog);
		return -1;
	}
	if (keyring_load(o->loc->section, &o->keys, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "bad encryption key", "error", err, NULL);
		catalog_free(&o->catalog);
		return -1;
	}
	return 0;
}

void
job_close_backup(struct opened *o)
{
	keyring_free(&o->keys);
	catalog_free(&o->catalog);
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

	if (job_open_backup(r, req, &o) == -1)
		return EXIT_JOB;
	target = req->database != NULL ? req->database :
	    config_get(r->engine_section, "database");
	if (req->dry_run) {
		char fin[21];

		time_to_rfc3339(o.m->finished, fin);
		printf("would restore backup %s (finished %s) from %s into %s\n", o.m->id,
		    fin, o.loc->desc, target != NULL ? target : r->engine->name);
		fflush(stdout);
		/* Logged too: a triggered dry run shows it to the trigger client. */
		log_kv(LOGL_INFO, "restore dry run: nothing restored", "id", o.m->id, "from",
		    o.loc->desc, "into", target != NULL ? target : r->engine->name, NULL);
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
	prc = pipeline_restore(o.loc->st, o.m->data_key, &o.keys, o.m->id, o.m->sha256,
	    o.m->container.cipher, fd, &prog, &raw, err, sizeof(err));
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
	rc = pipeline_restore(o.loc->st, o.m->data_key, &o.keys, o.m->id, o.m->sha256,
	    o.m->container.cipher, fd, &prog, &raw, err, sizeof(err));
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
verify_one(struct location *loc, const struct keyring *kr, const struct manifest *m)
{
	char		err[KB_ERRLEN], size[16];
	uint64_t	raw;

	if (pipeline_restore(loc->st, m->data_key, kr, m->id, m->sha256, m->container.cipher,
	    -1, NULL, &raw, err, sizeof(err)) == -1) {
		printf("%s FAILED %s\n", m->id, err);
		return -1;
	}
	format_bytes(raw, size);
	printf("%s ok (%s, %llu frames)\n", m->id, size,
	    (unsigned long long)m->container.frames);
	return 0;
}

int
job_verify(struct runner *r, const struct restore_request *req, int all)
{
	struct opened	o;
	size_t		i, failed = 0;

	if (job_open_backup(r, req, &o) == -1)
		return EXIT_JOB;
	if (!all)
		failed += verify_one(o.loc, &o.keys, o.m) == -1;
	else
		for (i = 0; i < o.catalog.n; i++)
			failed += verify_one(o.loc, &o.keys, &o.catalog.backups[i]) == -1;
	fflush(stdout);
	if (failed > 0)
		log_kv(LOGL_ERROR, "verify found bad backups", "location", o.loc->desc, NULL);
	job_close_backup(&o);
	return failed == 0 ? EXIT_OK : EXIT_JOB;
}
