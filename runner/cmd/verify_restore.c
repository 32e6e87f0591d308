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
 * A signal during the restore swaps the restore tool's input for a pipe
 * nobody reads (dup2 is async-signal-safe): the pipeline's next write fails,
 * the tool sees its input end, and the cleanup below runs as for any other
 * failed restore.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/proc.h"
#include "common/util.h"
#include "runner/cmd/jobs.h"
#include "runner/stream/pipeline.h"

static volatile sig_atomic_t	interrupted;
static volatile sig_atomic_t	restore_fd = -1;
static int			broken_fd = -1;

static void
on_signal(int sig)
{
	int	saved = errno;

	interrupted = sig;
	if (restore_fd != -1 && broken_fd != -1)
		dup2(broken_fd, restore_fd);
	errno = saved;
}

struct saved_signals {
	struct sigaction	intr, term;
};

static void
signals_catch(struct saved_signals *old)
{
	struct sigaction	sa;
	int			p[2];

	interrupted = 0;
	restore_fd = -1;
	if (pipe(p) == 0) {
		close(p[0]);
		fcntl(p[1], F_SETFD, FD_CLOEXEC);
		broken_fd = p[1];
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old->intr);
	sigaction(SIGTERM, &sa, &old->term);
}

static void
signals_restore(const struct saved_signals *old)
{
	sigaction(SIGINT, &old->intr, NULL);
	sigaction(SIGTERM, &old->term, NULL);
	restore_fd = -1;
	if (broken_fd != -1)
		close(broken_fd);
	broken_fd = -1;
}

/* The restore into the scratch database; err says why it failed. */
static int
scratch_restore(struct runner *r, struct opened *o, const char *scratch, uint64_t *raw,
    char *err, size_t errlen)
{
	struct engine_job	job;
	char			eerr[KB_ERRLEN];
	int			fd, prc, erc;

	*raw = 0;
	runner_engine_job(r, &job, scratch);
	if (r->engine->restore_begin(&job, &fd, err, errlen) == -1)
		return -1;
	restore_fd = fd;
	if (interrupted)
		on_signal(interrupted);
	prc = job_read_backup(o->loc, &o->keys, o->m, fd, NULL, raw, err, errlen);
	restore_fd = -1;
	erc = r->engine->restore_end(&job, prc == -1 || interrupted, eerr, sizeof(eerr));
	if (interrupted)
		return errf(err, errlen, "interrupted by signal %d", (int)interrupted);
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

static int
scratch_drop(struct runner *r, const char *scratch)
{
	struct engine_job	job;
	char			err[KB_ERRLEN];

	runner_engine_job(r, &job, scratch);
	if (r->engine->drop(&job, scratch, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "cannot drop the scratch database: drop it by hand",
		    "database", scratch, "error", err, NULL);
		return -1;
	}
	log_kv(LOGL_INFO, "dropped the scratch database", "database", scratch, NULL);
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

#define SCRATCH_PREFIX	"kbackup_verify_"

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

int
job_verify_restore(struct runner *r, const struct restore_request *req, const char *target)
{
	struct opened		o;
	struct saved_signals	old;
	char			scratch[PATH_MAX], err[KB_ERRLEN], size[16];
	char			counts[24], rows[24];
	uint64_t		raw, nrows = 0;
	size_t			ntables = 0;
	int			rc;

	if ((rc = scratch_choose(r, target, scratch, sizeof(scratch))) != EXIT_OK)
		return rc;
	if (job_open_backup(r, req, &o) == -1)
		return EXIT_JOB;
	log_kv(LOGL_INFO, "test restore started", "id", o.m->id, "from", o.loc->desc,
	    "into", scratch, NULL);
	signals_catch(&old);
	rc = scratch_restore(r, &o, scratch, &raw, err, sizeof(err));
	if (rc == 0 && !interrupted)
		rc = scratch_count(r, scratch, &ntables, &nrows, err, sizeof(err));
	if (rc == 0 && interrupted)
		rc = errf(err, sizeof(err), "interrupted by signal %d", (int)interrupted);
	if (scratch_drop(r, scratch) == -1 && rc == 0)
		rc = errf(err, sizeof(err), "the scratch database %s was not dropped", scratch);
	signals_restore(&old);
	if (rc == -1) {
		printf("%s FAILED %s\n", o.m->id, err);
		fflush(stdout);
		log_kv(LOGL_ERROR, "test restore failed", "id", o.m->id, "error", err, NULL);
		job_close_backup(&o);
		return EXIT_JOB;
	}
	format_bytes(raw, size);
	printf("%s ok: restored %s into %s, %zu tables, %llu rows; dropped it\n", o.m->id,
	    size, scratch, ntables, (unsigned long long)nrows);
	fflush(stdout);
	snprintf(counts, sizeof(counts), "%zu", ntables);
	snprintf(rows, sizeof(rows), "%llu", (unsigned long long)nrows);
	log_kv(LOGL_INFO, "test restore finished", "id", o.m->id, "tables", counts,
	    "rows", rows, NULL);
	job_close_backup(&o);
	return EXIT_OK;
}
