/*
 * restore: restore, unpack and verify — a stored backup streamed back
 * through the pipeline into the engine's restore tool, a file, or nowhere.
 *
 * A backup of several parts (engine.h) is restored part by part in the
 * order it was written (the globals before the databases), each part a
 * restore of its own: the first that fails ends the job, and what was
 * restored before it stays.  unpack writes such a backup's parts into a
 * directory, one file per part.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cancel.h"
#include "common/log.h"
#include "common/timeparse.h"
#include "common/util.h"
#include "runner/binlog/bpitr.h"
#include "runner/catalog/catalog.h"
#include "runner/cmd/jobs.h"
#include "runner/stream/keys.h"
#include "runner/stream/pipeline.h"
#include "runner/stream/spool.h"
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

/* "database shop", "databases shop, app": what --only asks for, in messages. */
static void
only_what(const struct restore_request *req, char *buf, size_t len)
{
	size_t	i;

	snprintf(buf, len, "database%s ", req->nonly > 1 ? "s" : "");
	for (i = 0; i < req->nonly; i++) {
		if (i > 0)
			strlcat(buf, ", ", len);
		strlcat(buf, req->only[i], len);
	}
}

/* The part of rec that holds database name, or -1. */
static ssize_t
part_of(const struct backup_record *rec, const char *name)
{
	const char	*db;
	size_t		 i;

	for (i = 0; i < rec->nparts; i++)
		if ((db = engine_part_database(rec->parts[i].name)) != NULL &&
		    strcmp(db, name) == 0)
			return (ssize_t)i;
	return -1;
}

int
job_holds(const struct backup_record *rec, void *arg)
{
	const struct restore_request	*req = arg;
	size_t				 i;

	for (i = 0; i < req->nonly; i++)
		if (part_of(rec, req->only[i]) == -1)
			return 0;
	return 1;
}

/* What restore picks among: --only's databases, and --at's window under binlog = archive. */
struct pick {
	const struct restore_request	*req;
	time_t				 at;
	int				 binlog;
};

static int
pick_holds(const struct backup_record *rec, void *arg)
{
	const struct pick	*p = arg;

	if (p->req->nonly > 0 && !job_holds(rec, (void *)p->req))
		return 0;
	return !p->binlog || binlog_dump_serves(rec, p->at);
}

/* A backup of several parts: its parts are named by the engine (engine.h). */
static int
is_multi(const struct backup_record *rec)
{
	return !(rec->nparts == 1 && strcmp(rec->parts[0].name, ENGINE_PART_DATA) == 0);
}

/* The databases a backup holds, "app, shop", for messages. */
static void
held(const struct backup_record *rec, char *buf, size_t len)
{
	const char	*db;
	size_t		 i;

	buf[0] = '\0';
	for (i = 0; i < rec->nparts; i++)
		if ((db = engine_part_database(rec->parts[i].name)) != NULL) {
			if (buf[0] != '\0')
				strlcat(buf, ", ", len);
			strlcat(buf, db, len);
		}
	if (buf[0] == '\0')
		strlcpy(buf, "none", len);
}

static void
plan_add(struct restore_plan *p, size_t n)
{
	p->parts = xreallocarray(p->parts, p->n + 1, sizeof(*p->parts));
	p->parts[p->n++] = n;
}

/* Backups of several parts: the globals if asked, the databases in the backup's order. */
static int
plan_multi(const struct backup_record *rec, const struct restore_request *req, int globals,
    struct restore_plan *p)
{
	char	dbs[1024];
	size_t	i, j, ndb = 0;
	int	want;

	for (i = 0; i < req->nonly; i++)
		if (part_of(rec, req->only[i]) == -1) {
			held(rec, dbs, sizeof(dbs));
			log_kv(LOGL_ERROR, "the backup holds no such database", "id", rec->id,
			    "database", req->only[i], "holds", dbs, NULL);
			return EXIT_JOB;
		}
	for (i = 0; i < rec->nparts; i++) {
		if (engine_part_database(rec->parts[i].name) == NULL) {
			want = globals && strcmp(rec->parts[i].name, ENGINE_PART_GLOBALS) == 0 &&
			    req->globals != RESTORE_GLOBALS_SKIP && (req->nonly == 0 ||
			    req->globals != RESTORE_GLOBALS_DEFAULT);
		} else {
			for (j = 0, want = req->nonly == 0; j < req->nonly && !want; j++)
				want = part_of(rec, req->only[j]) == (ssize_t)i;
			ndb += want;
		}
		if (want)
			plan_add(p, i);
	}
	if (req->database != NULL && ndb != 1) {
		held(rec, dbs, sizeof(dbs));
		log_kv(LOGL_ERROR, "--database takes one database: name it with --only",
		    "id", rec->id, "holds", dbs, NULL);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int
job_plan(const struct backup_record *rec, const struct restore_request *req, int globals,
    struct restore_plan *p)
{
	int	rc = EXIT_OK;

	memset(p, 0, sizeof(*p));
	p->multi = is_multi(rec);
	if (p->multi)
		rc = plan_multi(rec, req, globals, p);
	else if (req->nonly > 0 || req->globals != RESTORE_GLOBALS_DEFAULT) {
		log_kv(LOGL_ERROR, "--only and --globals go with backups of several databases "
		    "(databases =); this one is of one stream: restore it whole", "id", rec->id,
		    NULL);
		rc = EXIT_USAGE;
	} else
		plan_add(p, 0);
	if (rc != EXIT_OK)
		job_plan_free(p);
	return rc;
}

void
job_plan_free(struct restore_plan *p)
{
	free(p->parts);
	memset(p, 0, sizeof(*p));
}

int
job_open_plan(struct runner *r, const struct restore_request *req, int globals,
    struct opened *o, struct restore_plan *p)
{
	int	rc;

	if (job_open_backup(r, req, o) == -1)
		return EXIT_JOB;
	if ((rc = job_plan(o->m, req, globals, p)) != EXIT_OK)
		job_close_backup(o);
	return rc;
}

int
job_open_backup(struct runner *r, const struct restore_request *req, struct opened *o)
{
	struct catalog_filter		 filter;
	const struct catalog_entry	*newest;
	char				 err[KB_ERRLEN], fin[21], when[21], what[512];
	struct pick			 pick;
	time_t				 at;

	memset(o, 0, sizeof(o[0]));
	if ((o->loc = job_location(r, req->storage)) == NULL)
		return -1;
	if (open_catalog(r, req, o, &at, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "cannot list backups", "error", err, NULL);
		return -1;
	}
	pick.req = req;
	pick.at = at;
	pick.binlog = at != 0 && binlog_pitr_on(r);
	if (req->nonly > 0)
		only_what(req, what, sizeof(what));
	else
		strlcpy(what, "a binary log position before it on the server's clock", sizeof(what));
	filter.holds = pick_holds;
	filter.arg = &pick;
	filter.what = what;
	if ((o->e = catalog_select_filtered(&o->catalog, req->which, at, req->skip_damaged,
	    req->nonly > 0 || pick.binlog ? &filter : NULL, err, sizeof(err))) == NULL) {
		log_kv(LOGL_ERROR, "no backup to restore", "error", err, NULL);
		catalog_close(&o->catalog);
		return -1;
	}
	o->m = &o->e->rec;
	newest = catalog_latest(&o->catalog);
	if (req->nonly > 0 && at == 0 && newest != NULL && newest != o->e)
		log_kv(LOGL_WARN, "the latest backup does not hold all that was asked for: "
		    "took the newest that does", "latest", newest->id, "id", o->m->id, "asked",
		    what, NULL);
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

/* The engine's job for part n of a restore: its name, the target, the globals mode. */
static void
part_job(struct runner *r, const struct restore_request *req, const struct restore_plan *p,
    const struct record_part *part, struct engine_job *job)
{
	int	 globals = strcmp(part->name, ENGINE_PART_GLOBALS) == 0;
	void	*priv = job->priv;	/* what the engine keeps across the parts */

	runner_engine_job(r, job, globals ? NULL : req->database);
	job->priv = priv;
	job->part = p->multi ? part->name : NULL;
	job->globals = req->globals == RESTORE_GLOBALS_REPLACE ? ENGINE_GLOBALS_REPLACE :
	    ENGINE_GLOBALS_MISSING;
}

/* What a dry run says of one database: where it goes, and whether it is there. */
static void
dry_run_database(struct runner *r, const struct restore_request *req, const char *db)
{
	struct engine_job	 job;
	const char		*into = req->database != NULL ? req->database : db;
	char			 err[KB_ERRLEN], name[4 * ENGINE_PART_NAME_MAX + 1];
	int			 has = -1;

	engine_name_show(db, name, sizeof(name));
	runner_engine_job(r, &job, into);
	if (r->engine->exists != NULL)
		has = r->engine->exists(&job, into, err, sizeof(err));
	printf("  database %s into %s: %s\n", name, req->database != NULL ? into : name,
	    has == 1 ? "it exists: what the backup holds replaces its objects" :
	    has == 0 ? (req->database == NULL ?
	    "missing: created as it was" : "missing: created empty, then restored") :
	    "cannot tell whether it exists");
}

/* The plan, printed and logged; nothing restored. */
static void
dry_run(struct runner *r, const struct restore_request *req, const struct opened *o,
    const struct restore_plan *p, const char *target)
{
	const struct record_part	*part;
	const char			*db;
	char				 fin[21];
	size_t				 i;

	time_to_rfc3339(o->m->finished, fin);
	if (!p->multi)
		printf("would restore backup %s (finished %s) from %s into %s\n", o->m->id,
		    fin, o->loc->desc, target != NULL ? target : r->engine->desc->name);
	else
		printf("would restore backup %s (finished %s) from %s, %zu of its %zu parts, "
		    "in this order:\n", o->m->id, fin, o->loc->desc, p->n, o->m->nparts);
	for (i = 0; p->multi && i < p->n; i++) {
		part = &o->m->parts[p->parts[i]];
		if ((db = engine_part_database(part->name)) != NULL)
			dry_run_database(r, req, db);
		else if (req->globals == RESTORE_GLOBALS_REPLACE)
			printf("  %s: roles and tablespaces the server lacks are created; "
			    "existing roles take the backup's attributes and passwords\n",
			    part->name);
		else
			printf("  %s: roles and tablespaces the server lacks are created; "
			    "existing ones are left as they are\n", part->name);
	}
	fflush(stdout);
	/* Logged too: a triggered dry run shows it to the trigger client. */
	log_kv(LOGL_INFO, "restore dry run: nothing restored", "id", o->m->id, "from",
	    o->loc->desc, "into", target != NULL ? target : p->multi ? "(see the plan)" :
	    r->engine->desc->name, NULL);
}

/*
 * restore --jobs: part n spooled into tmp/ (verified as it is written), then
 * the engine's tool reads the file with jobs workers; the file is removed
 * whatever happened (a failed stream, a tool that failed or was killed, a
 * cancel: child_wait() stops the tool).
 */
static int
restore_spooled(struct runner *r, struct opened *o, size_t n, unsigned jobs,
    struct engine_job *job, struct progress *prog, uint64_t *got, char *err, size_t errlen)
{
	char	*path, eerr[KB_ERRLEN], size[16], nj[12];
	int	 sfd, fd, rc;

	if (spool_create(r->tmpdir, &path, &sfd, err, errlen) == -1)
		return -1;
	rc = job_read_part(o->loc, &o->keys, o->m, n, sfd, prog, got, err, errlen);
	if (close(sfd) == -1 && rc == 0)
		rc = errf(err, errlen, "spool file %s: %s", path, strerror(errno));
	if (rc == 0) {
		format_bytes(*got, size);
		snprintf(nj, sizeof(nj), "%u", jobs);
		log_kv(LOGL_INFO, "spooled: restoring it in parallel", "path", path, "raw", size,
		    "jobs", nj, NULL);
		job->restore_file = path;
		job->restore_jobs = jobs;
		if ((rc = r->engine->restore_begin(job, &fd, err, errlen)) == 0 &&
		    (rc = r->engine->restore_end(job, 0, eerr, sizeof(eerr))) == -1)
			strlcpy(err, eerr, errlen);
		job->restore_file = NULL;
	}
	spool_remove(path);
	return rc;
}

/* Part n as a stream into the engine's tool. */
static int
restore_streamed(struct runner *r, struct opened *o, size_t n, struct engine_job *job,
    struct progress *prog, uint64_t *got, char *err, size_t errlen)
{
	char	eerr[KB_ERRLEN];
	int	fd, prc, erc;

	if (r->engine->restore_begin(job, &fd, err, errlen) == -1)
		return -1;
	prc = job_read_part(o->loc, &o->keys, o->m, n, fd, prog, got, err, errlen);
	erc = r->engine->restore_end(job, prc == -1, eerr, sizeof(eerr));
	if (prc == 0 && erc == -1)
		strlcpy(err, eerr, errlen);
	return prc == -1 || erc == -1 ? -1 : 0;
}

/* Whether part (NULL: of one stream) goes through a spool: jobs above 1 and the engine can. */
static int
part_spooled(struct runner *r, const char *part, unsigned jobs)
{
	struct engine_job	job;
	unsigned		configured;

	if (jobs <= 1 || r->engine->restore_jobs == NULL)
		return 0;
	runner_engine_job(r, &job, NULL);
	return r->engine->restore_jobs(&job, part, &configured);
}

/* Part n of the backup into the engine; err says why it failed. */
static int
restore_part(struct runner *r, const struct restore_request *req, struct opened *o,
    const struct restore_plan *p, size_t n, unsigned jobs, struct engine_job *job,
    struct progress *prog, uint64_t *raw, char *err, size_t errlen)
{
	const struct record_part	*part = &o->m->parts[n];
	char				 what[ENGINE_PART_NAME_MAX + 16];
	uint64_t			 got = 0;
	int				 rc;

	engine_part_describe(part->name, what, sizeof(what));
	part_job(r, req, p, part, job);
	if (p->multi)
		log_kv(LOGL_INFO, "restoring", "part", what, NULL);
	if (part_spooled(r, job->part, jobs))
		rc = restore_spooled(r, o, n, jobs, job, prog, &got, err, errlen);
	else
		rc = restore_streamed(r, o, n, job, prog, &got, err, errlen);
	*raw += got;
	if (rc == -1)
		return p->multi ? errprefix(err, errlen, "%s", what) : -1;
	if (p->multi)
		log_kv(LOGL_INFO, "restored", "part", what, NULL);
	return 0;
}

/*
 * The workers of a restore: --jobs, else what the engine's config says; 0
 * (a stream) for engines that restore streams only.  -1 after logging why
 * when --jobs asks an engine that cannot.
 */
static int
restore_jobs(struct runner *r, const struct restore_request *req, unsigned *jobs)
{
	struct engine_job	job;
	unsigned		configured = 1;

	*jobs = 0;
	if (r->engine->restore_jobs == NULL) {
		if (req->jobs <= 1)
			return 0;
		log_kv(LOGL_ERROR, "restore --jobs: this engine restores one stream", "engine",
		    r->engine->desc->name, NULL);
		return -1;
	}
	runner_engine_job(r, &job, NULL);
	(void)r->engine->restore_jobs(&job, NULL, &configured);
	*jobs = req->jobs > 0 ? req->jobs : configured;
	return 0;
}

/*
 * Before anything is restored: the spool of restore --jobs holds one part at
 * a time, so tmp/ needs the largest raw size of the parts it takes.
 */
static int
spool_check(struct runner *r, const struct opened *o, const struct restore_plan *p,
    unsigned jobs)
{
	const struct record_part	*part;
	uint64_t			 need = 0;
	char				 err[KB_ERRLEN], size[16], n[12];
	size_t				 i;

	for (i = 0; i < p->n; i++) {
		part = &o->m->parts[p->parts[i]];
		if (part_spooled(r, p->multi ? part->name : NULL, jobs) && part->raw_bytes > need)
			need = part->raw_bytes;
	}
	if (need == 0)
		return 0;
	if (spool_room(r->tmpdir, need, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "restore not started", "id", o->m->id, "error", err, NULL);
		return -1;
	}
	format_bytes(need, size);
	snprintf(n, sizeof(n), "%u", jobs);
	log_kv(LOGL_INFO, "restore --jobs: each dump is spooled into the workdir first (disk: "
	    "its raw size, removed after), then restored by parallel workers, not in one "
	    "transaction: a failure leaves a database that existed part-restored", "jobs", n,
	    "spool", size, "dir", r->tmpdir, NULL);
	return 0;
}

/*
 * restore --database NEW --at ...: whether NEW is missing, so that a replay
 * that fails drops what the restore made of it, as the engine drops a
 * database it created when the dump's restore fails.
 */
static int
pitr_target_fresh(struct runner *r, const struct restore_request *req)
{
	struct engine_job	job;
	char			err[KB_ERRLEN];

	if (req->database == NULL || r->engine->exists == NULL || r->engine->drop == NULL)
		return 0;
	runner_engine_job(r, &job, req->database);
	return r->engine->exists(&job, req->database, err, sizeof(err)) == 0;
}

int
job_restore(struct runner *r, const struct restore_request *req)
{
	struct opened		 o;
	struct restore_plan	 p;
	struct binlog_plan	 bp;
	struct engine_job	 job;
	char			 err[KB_ERRLEN], size[16];
	const char		*target;
	struct progress		 prog;
	uint64_t		 raw = 0, total = 0;
	size_t			 i;
	unsigned		 jobs;
	int			 rc, fresh;

	if (req->data_dir != NULL)
		return job_restore_physical(r, req);
	if (restore_jobs(r, req, &jobs) == -1)
		return EXIT_USAGE;
	if ((rc = job_open_plan(r, req, 1, &o, &p)) != EXIT_OK)
		return rc;
	if (pg_physical_is(o.m->details)) {
		log_kv(LOGL_ERROR, "a physical backup is restored into a data directory: "
		    "restore ... --data-dir DIR", "id", o.m->id, NULL);
		job_plan_free(&p);
		job_close_backup(&o);
		return EXIT_USAGE;
	}
	target = req->database != NULL ? req->database :
	    config_get(r->engine_section, "database");
	if ((rc = binlog_pitr_plan(r, req, &o, &bp)) != EXIT_OK) {
		job_plan_free(&p);
		job_close_backup(&o);
		return rc;
	}
	if (req->dry_run) {
		dry_run(r, req, &o, &p, target);
		binlog_pitr_print(&bp, stdout);
		binlog_pitr_free(&bp);
		job_plan_free(&p);
		job_close_backup(&o);
		return EXIT_OK;
	}
	if (spool_check(r, &o, &p, jobs) == -1) {
		job_plan_free(&p);
		job_close_backup(&o);
		return EXIT_JOB;
	}
	fresh = bp.active && pitr_target_fresh(r, req);
	log_kv(LOGL_INFO, "restore started", "id", o.m->id, "from", o.loc->desc, "into",
	    target != NULL ? target : "", NULL);
	for (i = 0; i < p.n; i++)
		total += o.m->parts[p.parts[i]].stored_bytes;
	progress_start(&prog, PROGRESS_RESTORE, total);
	memset(&job, 0, sizeof(job));
	for (i = 0, rc = 0; i < p.n && rc == 0; i++)
		rc = restore_part(r, req, &o, &p, p.parts[i], jobs, &job, &prog, &raw, err,
		    sizeof(err));
	progress_finish(&prog, rc == 0);
	if (r->engine->release != NULL)
		r->engine->release(&job);
	if (rc == 0 && bp.active &&
	    binlog_pitr_replay(r, &bp, req->database, err, sizeof(err)) == -1) {
		rc = -1;
		if (fresh)
			job_drop_database(r, req->database,
			    "the database this restore created");
	}
	binlog_pitr_free(&bp);
	if (rc == -1) {
		log_kv(LOGL_ERROR, "restore failed; the target was left as it was where the "
		    "engine allows", "id", o.m->id, "error", err, NULL);
		job_plan_free(&p);
		job_close_backup(&o);
		return EXIT_JOB;
	}
	format_bytes(raw, size);
	log_kv(LOGL_INFO, "restore finished", "id", o.m->id, "into",
	    target != NULL ? target : "", "raw", size, NULL);
	job_plan_free(&p);
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

/* Part n of o's backup into path (0600), whole or not at all. */
static int
unpack_file(struct opened *o, size_t n, const char *path, struct progress *prog, char *err,
    size_t errlen)
{
	char		*tmp;
	uint64_t	 raw;
	int		 fd, rc;

	if ((fd = open_output(path, &tmp)) == -1)
		return errf(err, errlen, "cannot create %s", path);
	rc = job_read_part(o->loc, &o->keys, o->m, n, fd, prog, &raw, err, errlen);
	if (tmp != NULL) {
		if (rc == 0 && (fsync(fd) == -1 || rename(tmp, path) == -1))
			rc = errf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		if (rc == -1)
			unlink(tmp);
		free(tmp);
	}
	return rc;
}

/*
 * A part's file name in an unpack directory: its name, with '/', '%' and
 * control characters as %XX ("database:shop", "globals").
 */
static char *
part_file(const char *dir, const char *name)
{
	char		 file[3 * ENGINE_PART_NAME_MAX + 1], *p = file;
	const char	*s;

	for (s = name; *s != '\0' && p < file + sizeof(file) - 4; s++) {
		if (*s == '/' || *s == '%' || (unsigned char)*s < 0x20 || *s == 0x7f)
			p += snprintf(p, 4, "%%%02X", (unsigned char)*s);
		else
			*p++ = *s;
	}
	*p = '\0';
	return path_join(dir, file);
}

/*
 * Several parts into a directory that must not exist: made as DIR.kbtmp.PID
 * (0700), renamed into place once every part is in it.
 */
static int
unpack_dir(struct opened *o, const struct restore_plan *p, const char *dir,
    struct progress *prog, char *err, size_t errlen)
{
	char	*tmp, *path;
	size_t	 i;
	int	 rc = 0;

	if (access(dir, F_OK) == 0)
		return errf(err, errlen, "%s exists: unpack writes a backup of several parts "
		    "into a new directory", dir);
	tmp = xasprintf("%s.kbtmp.%ld", dir, (long)getpid());
	if (mkdir(tmp, 0700) == -1) {
		rc = errf(err, errlen, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return rc;
	}
	for (i = 0; i < p->n && rc == 0; i++) {
		path = part_file(tmp, o->m->parts[p->parts[i]].name);
		rc = unpack_file(o, p->parts[i], path, prog, err, errlen);
		free(path);
	}
	if (rc == 0 && rename(tmp, dir) == -1)
		rc = errf(err, errlen, "%s: %s", dir, strerror(errno));
	if (rc == -1) {
		for (i = 0; i < p->n; i++) {
			path = part_file(tmp, o->m->parts[p->parts[i]].name);
			unlink(path);
			free(path);
		}
		rmdir(tmp);
	}
	free(tmp);
	return rc;
}

int
job_unpack(struct runner *r, const struct restore_request *req)
{
	struct opened		 o;
	struct restore_plan	 p;
	struct progress		 prog;
	char			 err[KB_ERRLEN];
	uint64_t		 total = 0;
	size_t			 i;
	int			 rc;

	if ((rc = job_open_plan(r, req, 1, &o, &p)) != EXIT_OK)
		return rc;
	if (p.n > 1 && (req->output == NULL || strcmp(req->output, "-") == 0)) {
		log_kv(LOGL_ERROR, "a backup of several parts unpacks into a directory: -o DIR "
		    "(or one part with --only NAME)", "id", o.m->id, NULL);
		job_plan_free(&p);
		job_close_backup(&o);
		return EXIT_USAGE;
	}
	for (i = 0; i < p.n; i++)
		total += o.m->parts[p.parts[i]].stored_bytes;
	progress_start(&prog, PROGRESS_UNPACK, total);
	if (p.n == 1)
		rc = unpack_file(&o, p.parts[0], req->output, &prog, err, sizeof(err));
	else
		rc = unpack_dir(&o, &p, req->output, &prog, err, sizeof(err));
	progress_finish(&prog, rc == 0);
	if (rc == -1)
		log_kv(LOGL_ERROR, "unpack failed", "id", o.m->id, "error", err, NULL);
	else
		log_kv(LOGL_INFO, "unpacked", "id", o.m->id, "output", req->output != NULL ?
		    req->output : "-", NULL);
	job_plan_free(&p);
	job_close_backup(&o);
	return rc == 0 ? EXIT_OK : EXIT_JOB;
}

/*
 * Whether a part that failed to read was pruned meanwhile, printed if so:
 * verify holds no lock, and another runner's prune (or this one's) deletes
 * the manifest first.  A backup that is gone is not a bad one.
 */
static int
pruned_meanwhile(struct catalog *c, const struct catalog_entry *e)
{
	char	err[KB_ERRLEN];

	if (catalog_still_there(c, e, err, sizeof(err)) != 0)
		return 0;
	printf("%s gone: pruned while it was verified, not checked\n", e->id);
	return 1;
}

/*
 * Every part of a backup, each frame and hash checked, nothing written:
 * 0 ok, -1 failed, 1 pruned while it was read.
 */
static int
verify_one(struct catalog *c, const struct keyring *kr, const struct catalog_entry *e)
{
	char		err[KB_ERRLEN], size[16], what[ENGINE_PART_NAME_MAX + 16];
	const char	*future = e->future ? "; dated in the future: this host's clock or the "
	    "writer's was wrong" : "";
	uint64_t	raw, total = 0;
	size_t		i;
	int		rc;

	for (i = 0; i < e->rec.nparts; i++) {
		rc = job_read_part(c->loc, kr, &e->rec, i, -1, NULL, &raw, err, sizeof(err));
		if (rc == -1 && pruned_meanwhile(c, e))
			return 1;
		/* The hash proves the data, not the manifest's other claims of it. */
		if (rc == 0 && raw != e->rec.parts[i].raw_bytes)
			rc = errf(err, sizeof(err), "its manifest says %llu bytes of data, the "
			    "data holds %llu", (unsigned long long)e->rec.parts[i].raw_bytes,
			    (unsigned long long)raw);
		if (rc == -1) {
			engine_part_describe(e->rec.parts[i].name, what, sizeof(what));
			printf("%s FAILED %s%s%s\n", e->id, is_multi(&e->rec) ? what : "",
			    is_multi(&e->rec) ? ": " : "", err);
			return -1;
		}
		total += raw;
	}
	format_bytes(total, size);
	if (is_multi(&e->rec))
		printf("%s ok (%s, %zu parts)%s\n", e->id, size, e->rec.nparts, future);
	else
		printf("%s ok (%s)%s\n", e->id, size, future);
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
			failed += verify_one(&c, &kr, e) == -1;
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
	failed += wal_report(r, loc, &c, stdout, 1);
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
	failed = verify_one(&o.catalog, &o.keys, o.e) != 0;
	failed |= wal_report(r, o.loc, &o.catalog, stdout, 1) > 0;
	fflush(stdout);
	if (failed)
		log_kv(LOGL_ERROR, "verify found bad backups", "location", o.loc->desc, NULL);
	job_close_backup(&o);
	return failed ? EXIT_JOB : EXIT_OK;
}

int
job_read_part(struct location *loc, const struct keyring *kr,
    const struct backup_record *rec, size_t n, int fd, struct progress *prog, uint64_t *raw,
    char *err, size_t errlen)
{
	const struct record_part	*p = &rec->parts[n];

	return pipeline_restore(loc->st, p->key, kr, rec->id, p->sha256, p->container.cipher,
	    fd, prog, raw, err, errlen);
}
