/*
 * verify_restore: verify --restore, a test restore.  The backup is restored
 * into a scratch database on the configured server (or one named with
 * --target), which must not exist yet, the engine counts every table's rows
 * there, and the scratch database is dropped whatever happened: a failed
 * restore, a failed count, SIGINT or SIGTERM.
 *
 * SIGKILL leaves no time to drop it, so the scratch database's name says
 * whose it is: kbackup_verify_RUNNERID_PID_START (START: when the process
 * started, so that a reused pid is not taken for it).  The next verify
 * --restore, and check, drop those of this runner whose process is gone.
 *
 * SIGINT or SIGTERM during the restore is the one cancel of common/cancel.h:
 * the pipeline stops writing to the restore tool (its pipe is polled with
 * the cancel pipe), the tool is stopped, and the drop runs in the cancel's
 * cleanup window, as for any other failed restore.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cancel.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/util.h"
#include "runner/cmd/jobs.h"
#include "runner/stream/pipeline.h"

/* Part n (of a backup of several: a database's) into the scratch database; err says why. */
static int
scratch_restore(struct runner *r, struct opened *o, const struct restore_plan *p, size_t n,
    const char *scratch, uint64_t *raw, char *err, size_t errlen)
{
	struct engine_job	job;
	char			eerr[KB_ERRLEN];
	int			fd, prc, erc;

	*raw = 0;
	runner_engine_job(r, &job, scratch);
	job.part = p->multi ? o->m->parts[n].name : NULL;
	if (r->engine->restore_begin(&job, &fd, err, errlen) == -1) {
		if (r->engine->release != NULL)
			r->engine->release(&job);
		return -1;
	}
	prc = job_read_part(o->loc, &o->keys, o->m, n, fd, NULL, raw, err, errlen);
	erc = r->engine->restore_end(&job, prc == -1 || cancel_requested(), eerr,
	    sizeof(eerr));
	if (r->engine->release != NULL)
		r->engine->release(&job);
	if (cancel_requested())
		return errf(err, errlen, "%s", cancel_why());
	if (prc == -1)
		return -1;
	if (erc == -1) {
		strlcpy(err, eerr, errlen);
		return errprefix(err, errlen, "restoring into %s", scratch);
	}
	return 0;
}

/* Prints one line per table and returns the totals. */
static int
scratch_count(struct runner *r, const char *scratch, size_t *ntables, uint64_t *nrows,
    char *err, size_t errlen)
{
	struct engine_job	job;
	struct engine_sanity	s;
	size_t			i;

	*ntables = 0;
	*nrows = 0;
	runner_engine_job(r, &job, scratch);
	if (r->engine->sanity(&job, scratch, &s, err, errlen) == -1)
		return errprefix(err, errlen, "counting rows in %s", scratch);
	for (i = 0; i < s.ntables; i++) {
		printf("%s\t%llu\n", s.tables[i].table, (unsigned long long)s.tables[i].rows);
		*nrows += s.tables[i].rows;
	}
	*ntables = s.ntables;
	engine_sanity_free(&s);
	fflush(stdout);
	return 0;
}

int
job_drop_database(struct runner *r, const char *database, const char *what)
{
	struct engine_job	job;
	char			err[KB_ERRLEN], msg[96];
	int			was, rc;

	runner_engine_job(r, &job, database);
	was = cancel_cleanup_begin();
	rc = r->engine->drop(&job, database, err, sizeof(err));
	cancel_cleanup_end(was);
	if (rc == -1) {
		snprintf(msg, sizeof(msg), "cannot drop %s: drop it by hand", what);
		log_kv(LOGL_ERROR, msg, "database", database, "error", err, NULL);
		return -1;
	}
	snprintf(msg, sizeof(msg), "dropped %s", what);
	log_kv(LOGL_INFO, msg, "database", database, NULL);
	return 0;
}

/*
 * The database verify --restore drops afterwards must not exist before: a
 * --target (not the configured database either), or the generated name.
 */
static int
scratch_unused(struct runner *r, const char *name, int named)
{
	struct engine_job	job;
	const char		*db = config_get(r->engine_section, "database");
	char			err[KB_ERRLEN];

	if (named && db != NULL && strcmp(db, name) == 0) {
		log_kv(LOGL_ERROR, "--target names the configured database; verify --restore "
		    "drops its target afterwards: name a scratch database", "target", name,
		    NULL);
		return EXIT_USAGE;
	}
	runner_engine_job(r, &job, name);
	switch (r->engine->exists(&job, name, err, sizeof(err))) {
	case 0:
		return EXIT_OK;
	case 1:
		if (named)
			log_kv(LOGL_ERROR, "the --target database exists; verify --restore "
			    "drops its target afterwards: name one that does not exist",
			    "target", name, NULL);
		else
			log_kv(LOGL_ERROR, "the scratch database exists already: drop it, "
			    "or name another with --target", "database", name, NULL);
		return EXIT_USAGE;
	default:
		log_kv(LOGL_ERROR, "cannot tell whether the scratch database exists",
		    "database", name, "error", err, NULL);
		return EXIT_JOB;
	}
}

#define SCRATCH_PREFIX	ENGINE_SCRATCH_PREFIX

/* This run's base name: at most 15 + 12 + 1 + 10 + 1 + 20 = 59 bytes. */
static void
scratch_base(const struct runner *r, char *buf, size_t len)
{
	unsigned long long	start = 0;

	proc_start_ticks(getpid(), &start);
	snprintf(buf, len, SCRATCH_PREFIX "%s_%ld_%llu", r->runner_id, (long)getpid(), start);
}

struct scratch_run {
	char			id[13];
	pid_t			pid;
	unsigned long long	start;
};

/* A run of digits into *v; the rest of s in *end. */
static int
scratch_number(const char *s, unsigned long long max, unsigned long long *v,
    const char **end)
{
	size_t	n = strspn(s, "0123456789");
	char	num[24];

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n);
	num[n] = '\0';
	*v = strtoull(num, NULL, 10);
	*end = s + n;
	return *v <= max ? 0 : -1;
}

/* The run an engine's scratch name belongs to (its last path component, up to a '.'). */
static int
scratch_parse(const char *name, struct scratch_run *run)
{
	const char		*p = strrchr(name, '/');
	unsigned long long	 pid;

	p = p != NULL ? p + 1 : name;
	if (strncmp(p, SCRATCH_PREFIX, strlen(SCRATCH_PREFIX)) != 0)
		return -1;
	p += strlen(SCRATCH_PREFIX);
	if (strspn(p, "0123456789abcdef") != 12 || p[12] != '_')
		return -1;
	memcpy(run->id, p, 12);
	run->id[12] = '\0';
	if (scratch_number(p + 13, INT32_MAX, &pid, &p) == -1 || *p != '_' ||
	    scratch_number(p + 1, ULLONG_MAX, &run->start, &p) == -1 ||
	    (*p != '\0' && *p != '.'))
		return -1;
	run->pid = (pid_t)pid;
	return 0;
}

/* What check prints, or nothing (verify --restore: the log says it). */
static void __attribute__((format(printf, 2, 3)))
scratch_say(FILE *out, const char *fmt, ...)
{
	va_list	ap;

	if (out == NULL)
		return;
	fprintf(out, "scratch: ");
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
}

/* One scratch database: dropped if its run is gone; 1 if it was, -1 if that failed. */
static int
scratch_sweep_one(struct runner *r, const char *name, FILE *out)
{
	struct scratch_run	run;
	struct engine_job	job;
	char			pid[24], err[KB_ERRLEN];

	if (scratch_parse(name, &run) == -1) {
		log_kv(LOGL_WARN, "a scratch database of no run this runner knows (an older "
		    "version's?): left alone; drop it by hand if no verify --restore uses it",
		    "database", name, NULL);
		scratch_say(out, "%s: of no run this runner knows, left alone", name);
		return 0;
	}
	snprintf(pid, sizeof(pid), "%ld", (long)run.pid);
	if (strcmp(run.id, r->runner_id) != 0) {
		log_kv(LOGL_INFO, "a scratch database of another runner: left alone",
		    "database", name, "runner", run.id, NULL);
		scratch_say(out, "%s: of runner %s, left alone", name, run.id);
		return 0;
	}
	if (proc_running_as_us(run.pid, run.start) != 0) {
		log_kv(LOGL_INFO, "a scratch database in use by a running verify --restore "
		    "(or no telling: no /proc): left alone", "database", name, "pid", pid, NULL);
		scratch_say(out, "%s: in use by process %s, left alone", name, pid);
		return 0;
	}
	runner_engine_job(r, &job, name);
	if (r->engine->drop(&job, name, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "cannot drop the scratch database a killed run left: drop it "
		    "by hand", "database", name, "pid", pid, "error", err, NULL);
		scratch_say(out, "%s: cannot drop it: %s", name, err);
		return -1;
	}
	log_kv(LOGL_INFO, "dropped the scratch database a killed run left", "database", name,
	    "pid", pid, NULL);
	scratch_say(out, "%s: dropped, its run (process %s) is no longer running", name, pid);
	return 1;
}

int
job_scratch_sweep(struct runner *r, FILE *out)
{
	struct engine_job	  job;
	char			**names, err[KB_ERRLEN];
	size_t			  i, failed = 0;

	if (r->engine->scratch_list == NULL || r->engine->drop == NULL)
		return 0;
	if (runner_state_read(r) == -1)
		return 0;	/* no runner id yet: no run of ours named a database */
	runner_engine_job(r, &job, NULL);
	if (r->engine->scratch_list(&job, SCRATCH_PREFIX, &names, err, sizeof(err)) == -1) {
		log_kv(LOGL_WARN, "cannot list scratch databases", "error", err, NULL);
		scratch_say(out, "cannot list scratch databases: %s", err);
		return -1;
	}
	for (i = 0; names[i] != NULL; i++)
		failed += scratch_sweep_one(r, names[i], out) == -1;
	if (i == 0)
		scratch_say(out, "none left by killed runs");
	words_free(names);
	return failed == 0 ? 0 : -1;
}

/*
 * The scratch database's name in buf: target, or the engine's own for this
 * run; what killed runs left is dropped first.
 */
static int
scratch_choose(struct runner *r, const char *target, char *buf, size_t len)
{
	struct engine_job	job;
	char			err[KB_ERRLEN], base[64];

	if (r->engine->scratch_name == NULL || r->engine->exists == NULL ||
	    r->engine->sanity == NULL || r->engine->drop == NULL) {
		log_kv(LOGL_ERROR, "verify --restore is not supported for this engine: it has "
		    "no scratch database to restore into; verify checks every frame without "
		    "one", "engine", r->engine->desc->name, NULL);
		return EXIT_USAGE;
	}
	if (runner_state_open(r, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "verify --restore not started", "error", err, NULL);
		return EXIT_JOB;
	}
	scratch_base(r, base, sizeof(base));
	runner_engine_job(r, &job, NULL);
	if (r->engine->scratch_name(&job, base, buf, len, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "verify --restore refused", "error", err, NULL);
		return EXIT_USAGE;
	}
	if (target != NULL && strlcpy(buf, target, len) >= len) {
		log_kv(LOGL_ERROR, "--target is too long", "target", target, NULL);
		return EXIT_USAGE;
	}
	job_scratch_sweep(r, NULL);
	return scratch_unused(r, buf, target != NULL);
}

/*
 * Part n into the scratch database, its rows counted, the scratch database
 * dropped whatever happened; prints one line.  label: "" or " database app".
 */
static int
verify_part(struct runner *r, struct opened *o, const struct restore_plan *p, size_t n,
    const char *scratch, const char *label)
{
	char		err[KB_ERRLEN], size[16], counts[24], rows[24];
	uint64_t	raw = 0, nrows = 0;
	size_t		ntables = 0;
	int		rc;

	rc = scratch_restore(r, o, p, n, scratch, &raw, err, sizeof(err));
	if (rc == 0 && !cancel_requested())
		rc = scratch_count(r, scratch, &ntables, &nrows, err, sizeof(err));
	if (cancel_requested())	/* whatever failed first, say why */
		rc = errf(err, sizeof(err), "%s", cancel_why());
	if (job_drop_database(r, scratch, "the scratch database") == -1 && rc == 0)
		rc = errf(err, sizeof(err), "the scratch database %s was not dropped", scratch);
	if (rc == -1) {
		printf("%s%s FAILED %s\n", o->m->id, label, err);
		fflush(stdout);
		log_kv(LOGL_ERROR, "test restore failed", "id", o->m->id, "part",
		    o->m->parts[n].name, "error", err, NULL);
		return -1;
	}
	format_bytes(raw, size);
	printf("%s%s ok: restored %s into %s, %zu tables, %llu rows; dropped it\n", o->m->id,
	    label, size, scratch, ntables, (unsigned long long)nrows);
	fflush(stdout);
	snprintf(counts, sizeof(counts), "%zu", ntables);
	snprintf(rows, sizeof(rows), "%llu", (unsigned long long)nrows);
	log_kv(LOGL_INFO, "test restore finished", "id", o->m->id, "part",
	    o->m->parts[n].name, "tables", counts, "rows", rows, NULL);
	return 0;
}

int
job_verify_restore(struct runner *r, const struct restore_request *req, const char *target)
{
	struct opened		o;
	struct restore_plan	p;
	char			scratch[PATH_MAX], label[ENGINE_PART_NAME_MAX + 16];
	size_t			i, failed = 0;
	int			rc;

	if ((rc = scratch_choose(r, target, scratch, sizeof(scratch))) != EXIT_OK)
		return rc;
	if ((rc = job_open_plan(r, req, 0, &o, &p)) != EXIT_OK)
		return rc;
	log_kv(LOGL_INFO, "test restore started", "id", o.m->id, "from", o.loc->desc,
	    "into", scratch, NULL);
	for (i = 0; i < p.n && !cancel_requested(); i++) {
		label[0] = '\0';
		if (p.multi) {
			label[0] = ' ';
			engine_part_describe(o.m->parts[p.parts[i]].name, label + 1,
			    sizeof(label) - 1);
		}
		failed += verify_part(r, &o, &p, p.parts[i], scratch, label) == -1;
	}
	job_plan_free(&p);
	job_close_backup(&o);
	return failed == 0 && !cancel_requested() ? EXIT_OK : EXIT_JOB;
}
