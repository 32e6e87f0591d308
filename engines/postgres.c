/*
 * postgres: PostgreSQL through pg_dump -Fc and pg_restore.
 *
 * The password reaches libpq as PGPASSFILE=/proc/self/fd/N, a memfile (in
 * memory, mode 0600) that only the tool it is passed to inherits: never
 * argv, never on disk, gone when the runner is.  Compression is ours (-Z0).
 * The tools are of the server's major version or newer (pg_client.h) unless
 * bin_dir says which.  Restores run in one transaction, so a stream that
 * stops half-way (a frame that fails its check) leaves the target database
 * as it was; a database the restore created for itself is dropped again.
 *
 * databases = NAME... | * makes a backup of several parts (engine.h): the
 * output of pg_dumpall --globals-only (with globals) and one pg_dump per
 * database, listed when the backup starts (*: every database that allows
 * connections, templates, exclude's globs and verify --restore's scratch
 * databases left out).  A database restored under its own name where the
 * server lacks it is made by pg_restore --create from its dump (owner,
 * encoding, locale, settings and grants as they were; not in one
 * transaction, so dropped again if the restore fails); one that exists,
 * or a restore under another name, goes as above.  The globals go through
 * psql after pg_globals.h has left out what would change existing roles.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cancel.h"
#include "common/log.h"
#include "common/util.h"
#include "common/proc.h"
#include "engines/engine.h"
#include "engines/pg_client.h"
#include "engines/pg_globals.h"
#include "engines/pg_physical.h"

/* Where the runner connects for what concerns the whole server. */
#define PG_SERVER_DB	"postgres"

struct pg_job {
	struct child	 child;
	int		 running;
	struct memfile	 pass;		/* the .pgpass line */
	int		 resolved;	/* pg_resolve() ran: resolve_err says how */
	int		 resolve_rc;
	char		 resolve_err[KB_ERRLEN];
	char		*bindir;	/* the chosen client's, or NULL: bin_dir or PATH */
	char		*created;	/* restore: the database it created, dropped on failure */
	/* restore of the globals: the pipeline writes feed[1], the filter thread reads feed[0] */
	int		 feed[2];
	int		 sql_fd;	/* psql's stdin, the thread's to write and close */
	pthread_t	 thread;
	int		 thread_running;
	int		 thread_rc;
	char		 thread_err[KB_ERRLEN];
	struct pg_globals *globals;
	void		*physical;	/* method = physical: pg_physical.c's state */
};

static const struct config_key postgres_keys[] = {
	{ "host", CFG_STRING, 0, NULL, "a host name, address or socket directory", 0, 0, NULL },
	{ "port", CFG_UINT, 0, "5432", "a port", 1, 65535, NULL },
	{ "user", CFG_STRING, 0, NULL, "a role name", 0, 0, NULL },
	{ "password", CFG_SECRET, 0, NULL, "the role's password", 0, 0, NULL },
	{ "database", CFG_STRING, 0, NULL, "the database to back up", 0, 0, NULL },
	{ "databases", CFG_LIST, 0, NULL, "databases to back up, or * for every one", 0, 0,
	    NULL },
	{ "exclude", CFG_LIST, 0, NULL, "glob patterns of databases * leaves out", 0, 0,
	    NULL },
	{ "globals", CFG_BOOL, 0, NULL, "yes or no", 0, 0, NULL },
	{ "role_passwords", CFG_BOOL, 0, "yes", "yes or no", 0, 0, NULL },
	{ "sslmode", CFG_ENUM, 0, NULL, "disable|allow|prefer|require|verify-ca|verify-full",
	    0, 0, NULL },
	{ "dump_options", CFG_LIST, 0, NULL, "extra pg_dump arguments", 0, 0, NULL },
	{ "restore_options", CFG_LIST, 0, NULL, "extra pg_restore arguments", 0, 0, NULL },
	{ "restore_jobs", CFG_UINT, 0, "1", "a number of pg_restore workers", 1,
	    ENGINE_RESTORE_JOBS_MAX, NULL },
	{ "bin_dir", CFG_PATH, 0, NULL, "the directory of pg_dump and pg_restore", 0, 0, NULL },
	/* method = physical: pg_physical.h */
	{ "method", CFG_ENUM, 0, "dump", "dump|physical", 0, 0, NULL },
	{ "wal_method", CFG_ENUM, 0, "push", "push|stream", 0, 0, NULL },
	{ "slot", CFG_STRING, 0, NULL, "a replication slot name", 0, 0, pg_physical_check_slot },
	{ "checkpoint", CFG_ENUM, 0, "spread", "fast|spread", 0, 0, NULL },
	{ "wal_wait", CFG_DURATION, 0, "5m", "how long a base backup waits for its WAL", 0, 0,
	    NULL },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

static struct pg_job *
pg_priv(struct engine_job *job)
{
	struct pg_job	*pg;

	if (job->priv == NULL) {
		pg = job->priv = xcalloc(1, sizeof(struct pg_job));
		pg->feed[0] = pg->feed[1] = pg->sql_fd = -1;
	}
	return job->priv;
}

/* globals = yes|no; by default yes for databases = *. */
static int
pg_globals_on(const struct config_section *s)
{
	if (config_get(s, "globals") != NULL)
		return config_get_bool(s, "globals");
	return strcmp(config_get(s, "databases"), "*") == 0;
}

/* One database (database =) or several (databases =): either, not both. */
static int
pg_validate(const struct config_section_schema *schema, const struct config_section *s,
    char *err, size_t errlen)
{
	static const char *const multi_only[] = { "globals", "role_passwords", NULL };
	const char	*one = config_get(s, "database"), *many = config_get(s, "databases");
	char		**words;
	size_t		  n, i, j;
	int		  rc = 0;

	if (one != NULL && many != NULL)
		return errf(err, errlen, "database and databases: give one of them "
		    "(database = NAME backs up one, databases = NAME... or * several)");
	if (one == NULL && many == NULL)
		return errf(err, errlen, "database: missing (or databases = NAME... | *)");
	if (one != NULL) {
		if (config_get(s, "exclude") != NULL)
			return errf(err, errlen, "exclude: goes with databases = *");
		for (i = 0; multi_only[i] != NULL; i++)
			if (config_get(s, multi_only[i]) != NULL && config_get_bool(s,
			    multi_only[i]) != (strcmp(multi_only[i], "role_passwords") == 0))
				return errf(err, errlen, "%s: goes with databases =, not "
				    "database =", multi_only[i]);
		return 0;
	}
	words = words_split(many, &n);
	for (i = 0; i < n && rc == 0; i++) {
		if (strcmp(words[i], "*") == 0 && n > 1)
			rc = errf(err, errlen, "databases: * stands alone (exclude = leaves "
			    "databases out)");
		for (j = 0; j < i && rc == 0; j++)
			if (strcmp(words[i], words[j]) == 0)
				rc = errf(err, errlen, "databases: %s given twice", words[i]);
		if (rc == 0 && strlen(words[i]) > 63)
			rc = errf(err, errlen, "databases: %.63s...: longer than a PostgreSQL "
			    "name (63 bytes)", words[i]);
	}
	if (rc == 0 && config_get(s, "exclude") != NULL && strcmp(many, "*") != 0)
		rc = errf(err, errlen, "exclude: goes with databases = *");
	if (rc == 0 && !config_get_bool(s, "role_passwords") && !pg_globals_on(s))
		rc = errf(err, errlen, "role_passwords: goes with globals = yes");
	words_free(words);
	return rc;
}

/* The physical method's checks, then those of one database or several. */
static int
pg_validate_all(const struct config_section_schema *schema,
    const struct config_section *s, char *err, size_t errlen)
{
	if (pg_physical_validate(schema, s, err, errlen) == -1)
		return -1;
	return pg_validate(schema, s, err, errlen);
}

/* With databases =: a backup of several parts. */
static int
pg_multi(const struct engine_job *job)
{
	return config_get(job->section, "databases") != NULL;
}


/* The database the runner asks about the server: the one it backs up, or postgres. */
static const char *
pg_home(const struct engine_job *job)
{
	return pg_multi(job) ? PG_SERVER_DB : config_get(job->section, "database");
}

/*
 * --dbname for a database's name: as a conninfo string, since a name with
 * '=' or of the form postgresql://... would be taken for one.
 */
static void
pg_dbname_arg(struct child_args *a, const char *name)
{
	char	*q = str_quote(name, '\'');

	child_args_addf(a, "--dbname=dbname=%s", q);
	free(q);
}

/* The newest client installed under the root, or NULL. */
static char *
pg_newest_bindir(void)
{
	const char	*root = pg_client_root();
	int		*majors;
	size_t		 n;
	char		*dir = NULL;

	if ((majors = pg_client_majors(root, &n)) != NULL)
		dir = xasprintf("%s/%d/bin", root, majors[n - 1]);
	free(majors);
	return dir;
}

/*
 * bin_dir's tool, else the chosen client's (pg_resolve()), else the newest
 * installed one's (psql before the choice: it talks to any server), else
 * PATH's.
 */
static void
pg_tool(struct engine_job *job, struct child_args *a, const char *tool)
{
	struct pg_job	*pg = pg_priv(job);
	const char	*dir = config_get(job->section, "bin_dir");
	char		*newest = NULL, *p;

	if (dir == NULL)
		dir = pg->bindir;
	if (dir == NULL)
		dir = newest = pg_newest_bindir();
	if (dir != NULL) {
		p = path_join(dir, tool);
		child_args_add(a, p);
		free(p);
	} else
		child_args_add(a, tool);
	free(newest);
}

/* The password's memfile, made once a job (pg_client.h). */
static int
pg_write_passfile(struct engine_job *job, char *err, size_t errlen)
{
	struct pg_job	*pg = pg_priv(job);
	const char	*password = config_get(job->section, "password");

	if (password == NULL || pg->pass.path[0] != '\0')
		return 0;
	return pg_passfile_open(&pg->pass, password, err, errlen);
}

/* Environment for libpq tools: the passfile, never the password itself. */
static void
pg_env(struct engine_job *job, struct child_args *env)
{
	struct pg_job	*pg = pg_priv(job);
	const char	*sslmode = config_get(job->section, "sslmode");

	child_args_add(env, "PGAPPNAME=kbackup");
	child_args_add(env, "PGCONNECT_TIMEOUT=30");
	if (pg->pass.path[0] != '\0')
		child_args_addf(env, "PGPASSFILE=%s", pg->pass.path);
	if (sslmode != NULL)
		child_args_addf(env, "PGSSLMODE=%s", sslmode);
}

/* --host --port --username --no-password: what every libpq tool takes. */
static void
pg_conn_args(struct engine_job *job, struct child_args *a)
{
	const char	*host = config_get(job->section, "host");
	const char	*user = config_get(job->section, "user");

	if (host != NULL)
		child_args_addf(a, "--host=%s", host);
	child_args_addf(a, "--port=%s", config_get(job->section, "port"));
	if (user != NULL)
		child_args_addf(a, "--username=%s", user);
	child_args_add(a, "--no-password");
}

/* What every psql here starts with: the connection, no ~/.psqlrc, no chatter. */
static void
pg_psql_command(struct engine_job *job, struct child_args *a)
{
	pg_tool(job, a, "psql");
	pg_conn_args(job, a);
	child_args_add(a, "--no-psqlrc");
	child_args_add(a, "--quiet");
}

/*
 * Runs psql on database with the SQL script on its stdin (psql variables
 * given as NAME=VALUE in vars interpolate there, quoted by psql itself), and
 * returns its unaligned output in *out if out is not NULL.
 */
static int
pg_psql(struct engine_job *job, const char *database, const char *script,
    const char *const *vars, char **out, char *err, size_t errlen)
{
	struct pg_job		*pg = pg_priv(job);
	struct child_args	 a = { 0 }, env = { 0 };
	char			*drop = NULL;
	int			 rc;

	if (pg_write_passfile(job, err, errlen) == -1)
		return -1;
	pg_psql_command(job, &a);
	child_args_add(&a, "--tuples-only");
	child_args_add(&a, "--no-align");
	child_args_add(&a, "--field-separator=\t");
	child_args_add(&a, "--set=ON_ERROR_STOP=1");
	for (; vars != NULL && *vars != NULL; vars++)
		child_args_addf(&a, "--set=%s", *vars);
	pg_dbname_arg(&a, database);
	pg_env(job, &env);
	/* Output nobody asked for is dropped, not logged: it may be table data. */
	rc = child_run_input(child_args_list(&a), child_args_list(&env), &pg->pass, script,
	    out != NULL ? out : &drop, 1024 * 1024, err, errlen);
	free(drop);
	child_args_free(&a);
	child_args_free(&env);
	return rc;
}

/* pg_psql() on the server's own database with the psql variable db set to name. */
static int
pg_psql_db(struct engine_job *job, const char *script, const char *name, char **out,
    char *err, size_t errlen)
{
	char		*var;
	const char	*vars[2];
	int		 rc;

	var = xasprintf("db=%s", name);
	vars[0] = var;
	vars[1] = NULL;
	rc = pg_psql(job, PG_SERVER_DB, script, vars, out, err, errlen);
	free(var);
	return rc;
}

/*
 * Starts the dump or restore tool of a job with args (freed here) and gives
 * the end of its pipe: stdout for pg_dump, stdin for pg_restore.
 */
static int
pg_start(struct engine_job *job, struct child_args *a, int flags, int *fd, char *err,
    size_t errlen)
{
	struct pg_job		*pg = pg_priv(job);
	struct child_args	 env = { 0 };
	int			 rc;

	pg_env(job, &env);
	rc = child_spawn(&pg->child, child_args_list(a), child_args_list(&env), &pg->pass,
	    flags, err, errlen);
	child_args_free(a);
	child_args_free(&env);
	if (rc == -1)
		return -1;
	pg->running = 1;
	*fd = (flags & CHILD_STDIN_PIPE) ? pg->child.in_fd : pg->child.out_fd;
	return 0;
}

/*
 * The client for the server, chosen once per job (pg_client.h): none to
 * choose when bin_dir is set or no client is installed under the root (then
 * PATH's); else the server's major, or a newer one, asked of the server in
 * database.  A server that does not answer gets the newest client, whose
 * own failure then says why (database missing, password refused, server
 * down) better than the question could.  A refusal is kept: tool_version()
 * and backup_begin() both ask.
 */
static int
pg_resolve(struct engine_job *job, const char *database, char *err, size_t errlen)
{
	static const char script[] =
	    "SELECT current_setting('server_version_num'), current_setting('server_version');\n";
	struct pg_job	*pg = pg_priv(job);
	const char	*root = pg_client_root();
	int		*majors = NULL, major = 0, choice;
	size_t		 n = 0;
	char		*out = NULL, version[64], installed[256];

	if (pg->resolved)
		return pg->resolve_rc == 0 ? 0 : errf(err, errlen, "%s", pg->resolve_err);
	pg->resolved = 1;
	if (config_get(job->section, "bin_dir") != NULL ||
	    (majors = pg_client_majors(root, &n)) == NULL)
		return 0;
	if (pg_psql(job, database, script, NULL, &out, pg->resolve_err,
	    sizeof(pg->resolve_err)) == -1) {
		log_kv(LOGL_WARN, "cannot ask the server for its version: taking the newest "
		    "client", "error", pg->resolve_err, NULL);
		pg->resolve_err[0] = '\0';
		pg->bindir = xasprintf("%s/%d/bin", root, majors[n - 1]);
		free(majors);
		return 0;
	}
	if (pg_client_server_version(out, &major, version, sizeof(version)) == -1) {
		errf(pg->resolve_err, sizeof(pg->resolve_err),
		    "cannot read the server's version from '%.60s'", out);
		goto fail;
	}
	if ((choice = pg_client_choose(majors, n, major)) == -1) {
		pg_client_majors_text(majors, n, installed, sizeof(installed));
		errf(pg->resolve_err, sizeof(pg->resolve_err), "the server runs PostgreSQL %s "
		    "and the client tools installed in %s are older (%s): install "
		    "postgresql-client-%d, or set [postgres] bin_dir", version, root, installed,
		    major);
		goto fail;
	}
	pg->bindir = xasprintf("%s/%d/bin", root, choice);
	log_kv(LOGL_INFO, "PostgreSQL client chosen for the server", "server", version,
	    "bin_dir", pg->bindir, NULL);
	free(majors);
	free(out);
	return 0;
fail:
	pg->resolve_rc = -1;
	free(majors);
	free(out);
	return errf(err, errlen, "%s", pg->resolve_err);
}

static int	pg_end(struct engine_job *, int, char *, size_t);

/* What the physical method borrows (pg_physical.h). */
static int
pg_prepare(struct engine_job *job, const char *database, char *err, size_t errlen)
{
	if (pg_resolve(job, database, err, errlen) == -1)
		return -1;
	return pg_write_passfile(job, err, errlen);
}

static struct memfile *
pg_pass(struct engine_job *job)
{
	return &pg_priv(job)->pass;
}

static void **
pg_physical_state(struct engine_job *job)
{
	return &pg_priv(job)->physical;
}

static const struct pg_tools pg_tools = {
	pg_prepare, pg_tool, pg_conn_args, pg_env, pg_pass, pg_psql, pg_physical_state
};

/* pg_dumpall --globals-only: roles, memberships, role settings, tablespaces. */
static void
pg_globals_args(struct engine_job *job, struct child_args *a)
{
	pg_tool(job, a, "pg_dumpall");
	child_args_add(a, "--globals-only");
	if (!config_get_bool(job->section, "role_passwords"))
		child_args_add(a, "--no-role-passwords");
	pg_conn_args(job, a);
	child_args_add(a, "--database=" PG_SERVER_DB);
}

static int
pg_backup_begin(struct engine_job *job, int *fd, char *err, size_t errlen)
{
	const char		*database = engine_part_database(job->part);
	struct child_args	 a = { 0 };

	if (pg_physical_on(job->section)) {
		if (pg_physical_backup_begin(job, &pg_tools, fd, err, errlen) == -1) {
			pg_end(job, 1, NULL, 0);
			return -1;
		}
		return 0;
	}
	if (job->part == NULL)
		database = config_get(job->section, "database");
	if (pg_resolve(job, pg_home(job), err, errlen) == -1 ||
	    pg_write_passfile(job, err, errlen) == -1) {
		pg_end(job, 1, NULL, 0);
		return -1;
	}
	if (job->part != NULL && strcmp(job->part, ENGINE_PART_GLOBALS) == 0)
		pg_globals_args(job, &a);
	else {
		pg_tool(job, &a, "pg_dump");
		child_args_add(&a, "--format=custom");
		child_args_add(&a, "--compress=0");
		pg_conn_args(job, &a);
		child_args_add_words(&a, config_get(job->section, "dump_options"));
		pg_dbname_arg(&a, database);
	}
	if (pg_start(job, &a, CHILD_STDOUT_PIPE, fd, err, errlen) == -1) {
		pg_end(job, 1, NULL, 0);
		return -1;
	}
	return 0;
}

/* A restore that failed drops the database it had created: nothing half-made stays. */
static void
pg_drop_created(struct engine_job *job)
{
	struct pg_job	*pg = job->priv;
	char		 err[KB_ERRLEN];
	int		 was;

	was = cancel_cleanup_begin();	/* a cancelled restore still drops it */
	engine_log_created_drop(pg->created, pg_psql_db(job, "DROP DATABASE IF EXISTS "
	    ":\"db\" WITH (FORCE);\n", pg->created, NULL, err, sizeof(err)), err);
	cancel_cleanup_end(was);
}

static void	pg_globals_stop(struct pg_job *, int);

/* Ends what one stream ran: the filter thread, the tool; drops what a failed restore made. */
static int
pg_stream_end(struct engine_job *job, int aborted, char *err, size_t errlen)
{
	struct pg_job	*pg = job->priv;
	int		 rc;

	pg_globals_stop(pg, aborted);
	rc = child_finish(&pg->child, &pg->running, aborted, err, errlen);
	if (aborted)
		rc = errf(err, errlen, "aborted");
	if (rc == 0 && pg->thread_rc == -1)
		rc = errf(err, errlen, "%s", pg->thread_err);
	pg->thread_rc = 0;
	if (pg->created != NULL && (aborted || rc == -1))
		pg_drop_created(job);
	free(pg->created);
	pg->created = NULL;
	return rc;
}

static void
pg_release(struct engine_job *job)
{
	struct pg_job	*pg = job->priv;

	if (pg == NULL)
		return;
	memfile_close(&pg->pass);
	free(pg->bindir);
	free(pg);
	job->priv = NULL;
}

/* A stream of one of several parts keeps the job's state for the next: release() frees it. */
static int
pg_end(struct engine_job *job, int aborted, char *err, size_t errlen)
{
	struct pg_job	*pg = job->priv;
	int		 rc;

	if (pg == NULL)
		return 0;
	if (pg->physical != NULL)
		rc = pg_physical_end(job, &pg_tools, aborted, err, errlen);
	else
		rc = pg_stream_end(job, aborted, err, errlen);
	if (job->part == NULL)
		pg_release(job);
	return rc;
}

/* The database a restore goes into: --database, the part's own, or the configured one. */
static const char *
pg_target(struct engine_job *job)
{
	if (job->database != NULL)
		return job->database;
	if (job->part != NULL)
		return engine_part_database(job->part);
	return config_get(job->section, "database");
}

/*
 * Creates the target database unless it exists (restore --database NAME, or
 * the configured one dropped); remembers one it created.
 */
static int
pg_ensure_database(struct engine_job *job, const char *name, char *err, size_t errlen)
{
	static const char script[] =
	    "SELECT count(*) > 0 AS exists FROM pg_database WHERE datname = :'db'\n"
	    "\\gset kb_\n"
	    "\\if :kb_exists\n"
	    "\\else\n"
	    "CREATE DATABASE :\"db\";\n"
	    "\\echo created\n"
	    "\\endif\n";
	struct pg_job	*pg = pg_priv(job);
	char		*out = NULL;
	int		 rc;

	rc = pg_psql_db(job, script, name, &out, err, errlen);
	if (rc == 0 && out != NULL && strstr(out, "created") != NULL) {
		log_kv(LOGL_INFO, "created database", "database", name, NULL);
		pg->created = xstrdup(name);
	}
	free(out);
	if (rc == -1)
		return errprefix(err, errlen, "creating database %s", name);
	return 0;
}

/* pg_restore's arguments but for where it connects. */
static void
pg_restore_args(struct engine_job *job, struct child_args *a)
{
	pg_tool(job, a, "pg_restore");
	pg_conn_args(job, a);
	child_args_add(a, "--exit-on-error");
	child_args_add_words(a, config_get(job->section, "restore_options"));
}

/*
 * Starts pg_restore: on the stream of its stdin, or (restore --jobs) with
 * --jobs=N on the spool file, which pg_restore -j needs to seek in (each
 * worker reopens it).  Parallel workers cannot share one transaction.
 */
static int
pg_restore_start(struct engine_job *job, struct child_args *a, int *fd, char *err,
    size_t errlen)
{
	if (job->restore_file == NULL)
		return pg_start(job, a, CHILD_STDIN_PIPE | CHILD_STDOUT_LOG, fd, err, errlen);
	child_args_addf(a, "--jobs=%u", job->restore_jobs);
	child_args_add(a, job->restore_file);
	if (pg_start(job, a, CHILD_STDOUT_LOG, fd, err, errlen) == -1)
		return -1;
	*fd = -1;
	return 0;
}

/* restore --jobs: the dumps of databases, not the globals (SQL for psql) nor a data directory. */
static int
pg_restore_jobs(struct engine_job *job, const char *part, unsigned *configured)
{
	*configured = (unsigned)config_get_uint(job->section, "restore_jobs");
	if (pg_physical_on(job->section))
		return 0;
	return part == NULL || engine_part_database(part) != NULL;
}

/* 1 if the server has database name, 0 if not, -1 if it cannot tell. */
static int
pg_has_database(struct engine_job *job, const char *name, char *err, size_t errlen)
{
	char	*out = NULL;
	int	 rc;

	rc = pg_psql_db(job, "SELECT count(*) FROM pg_database WHERE datname = :'db';\n", name,
	    &out, err, errlen);
	if (rc == 0)
		rc = out != NULL && out[0] != '0';
	free(out);
	return rc;
}

/*
 * A database the server lacks, restored under its own name: pg_restore
 * --create makes it as its dump says (owner, encoding, locale, settings,
 * grants).  CREATE DATABASE cannot run in a transaction, so this restore is
 * not one: a failure drops the database again.
 */
static int
pg_restore_create(struct engine_job *job, const char *name, int *fd, char *err,
    size_t errlen)
{
	struct pg_job		*pg = pg_priv(job);
	struct child_args	 a = { 0 };

	pg_restore_args(job, &a);
	child_args_add(&a, "--create");
	pg_dbname_arg(&a, PG_SERVER_DB);
	pg->created = xstrdup(name);
	log_kv(LOGL_INFO, "restoring a database the server lacks: pg_restore --create makes "
	    "it as it was", "database", name, NULL);
	return pg_restore_start(job, &a, fd, err, errlen);
}

/* Into target, created empty if missing: in one transaction, what it holds replaced. */
static int
pg_restore_into(struct engine_job *job, const char *target, int *fd, char *err,
    size_t errlen)
{
	struct child_args	 a = { 0 };

	if (pg_ensure_database(job, target, err, errlen) == -1)
		return -1;
	pg_restore_args(job, &a);
	child_args_add(&a, "--clean");
	child_args_add(&a, "--if-exists");
	if (job->restore_file == NULL)
		child_args_add(&a, "--single-transaction");
	pg_dbname_arg(&a, target);
	return pg_restore_start(job, &a, fd, err, errlen);
}

static int	pg_restore_globals(struct engine_job *, int *, char *, size_t);

/* The client is chosen before the target is created: a missing one creates nothing. */
static int
pg_restore_begin(struct engine_job *job, int *fd, char *err, size_t errlen)
{
	const char	*target = pg_target(job);
	int		 rc, has = 1;

	if (job->data_dir != NULL) {
		if (pg_physical_restore_begin(job, &pg_tools, fd, err, errlen) == -1) {
			pg_end(job, 1, NULL, 0);
			return -1;
		}
		return 0;
	}
	if (pg_resolve(job, PG_SERVER_DB, err, errlen) == -1) {
		pg_end(job, 1, NULL, 0);
		return -1;
	}
	if (job->part != NULL && strcmp(job->part, ENGINE_PART_GLOBALS) == 0)
		rc = pg_restore_globals(job, fd, err, errlen);
	else if (target == NULL)
		rc = errf(err, errlen, "%s: not a part this engine restores", job->part);
	else if (job->part != NULL && job->database == NULL &&
	    (has = pg_has_database(job, target, err, errlen)) == 0)
		rc = pg_restore_create(job, target, fd, err, errlen);
	else
		rc = has == -1 ? -1 : pg_restore_into(job, target, fd, err, errlen);
	if (rc == -1)
		pg_end(job, 1, NULL, 0);
	return rc;
}

/* Names in the hex of their bytes, one a line (any byte may be in a name), decoded. */
static char **
pg_hex_lines(const char *out)
{
	char		**lines = engine_lines(out), *name;
	size_t		  i, len;

	for (i = 0; lines[i] != NULL; i++) {
		len = strcspn(lines[i], "\t");
		name = xcalloc(1, len / 2 + 1);
		if (len % 2 != 0 || hex_decode(lines[i], len / 2, (unsigned char *)name) == -1)
			name[0] = '\0';
		free(lines[i]);
		lines[i] = name;
	}
	return lines;
}

/*
 * The filter thread: the globals from the pipeline, through pg_globals, to
 * psql.  On a failure it stops reading, so that the pipeline's next write
 * fails, and closes psql's input, so that psql ends.
 */
static int
globals_write(const char *buf, size_t len, void *arg, char *err, size_t errlen)
{
	struct pg_job	*pg = arg;

	if (write_all(pg->sql_fd, buf, len) == -1)
		return errf(err, errlen, "psql stopped reading the globals (see its messages "
		    "above)");
	return 0;
}

static void *
globals_thread(void *arg)
{
	struct pg_job	*pg = arg;
	char		 buf[64 * 1024];
	ssize_t		 n;
	int		 rc = 0;

	for (;;) {
		if ((n = read(pg->feed[0], buf, sizeof(buf))) == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rc = errf(pg->thread_err, sizeof(pg->thread_err), "reading the globals: %s",
			    strerror(errno));
			break;
		}
		if (n == 0) {
			rc = pg_globals_finish(pg->globals, pg->thread_err,
			    sizeof(pg->thread_err));
			break;
		}
		if ((rc = pg_globals_feed(pg->globals, buf, (size_t)n, pg->thread_err,
		    sizeof(pg->thread_err))) == -1)
			break;
	}
	explicit_bzero(buf, sizeof(buf));
	close(pg->feed[0]);
	pg->feed[0] = -1;
	close(pg->sql_fd);
	pg->sql_fd = -1;
	pg->thread_rc = rc;
	return NULL;
}

/* What the server has: its roles and tablespaces, and the role we are. */
static int
pg_server_names(struct engine_job *job, char ***roles, char ***spaces, char **self,
    char *err, size_t errlen)
{
	static const char script[] =
	    "SELECT encode(convert_to(current_user, 'UTF8'), 'hex');\n"
	    "SELECT encode(convert_to(rolname, 'UTF8'), 'hex') FROM pg_roles;\n"
	    "SELECT '-';\n"
	    "SELECT encode(convert_to(spcname, 'UTF8'), 'hex') FROM pg_tablespace;\n";
	char	*out = NULL, *dash;

	*roles = *spaces = NULL;
	*self = NULL;
	if (pg_psql(job, PG_SERVER_DB, script, NULL, &out, err, errlen) == -1)
		return errprefix(err, errlen, "listing the server's roles");
	if ((dash = strstr(out, "\n-\n")) == NULL) {
		free(out);
		return errf(err, errlen, "listing the server's roles: unexpected output");
	}
	*dash = '\0';
	*spaces = pg_hex_lines(dash + 3);
	*roles = pg_hex_lines(out);
	*self = xstrdup_or_null((*roles)[0]);
	free(out);
	return 0;
}

/*
 * The globals: psql on the server's own database, its input what
 * pg_globals keeps of the stream.  VERBOSITY=terse: an error shows no
 * statement, so no password hash reaches the log.
 */
static int
pg_restore_globals(struct engine_job *job, int *fd, char *err, size_t errlen)
{
	struct pg_job		*pg = pg_priv(job);
	struct child_args	 a = { 0 };
	char			**roles, **spaces, *self;
	int			 in;

	if (pg_server_names(job, &roles, &spaces, &self, err, errlen) == -1)
		return -1;
	pg->globals = pg_globals_new(roles + (self != NULL), spaces, self,
	    job->globals == ENGINE_GLOBALS_REPLACE, globals_write, pg);
	pg_psql_command(job, &a);
	child_args_add(&a, "--set=ON_ERROR_STOP=1");
	child_args_add(&a, "--set=VERBOSITY=terse");
	pg_dbname_arg(&a, PG_SERVER_DB);
	if (pg_write_passfile(job, err, errlen) == -1 ||
	    pg_start(job, &a, CHILD_STDIN_PIPE | CHILD_STDOUT_LOG, &in, err, errlen) == -1)
		goto fail;
	pg->sql_fd = in;
	pg->child.in_fd = -1;	/* the thread's now: it closes it when done */
	if (pipe(pg->feed) == -1) {
		errf(err, errlen, "pipe: %s", strerror(errno));
		pg->feed[0] = pg->feed[1] = -1;
		goto fail;
	}
	if (pthread_create(&pg->thread, NULL, globals_thread, pg) != 0) {
		errf(err, errlen, "pthread_create failed");
		goto fail;
	}
	pg->thread_running = 1;
	*fd = pg->feed[1];
	log_kv(LOGL_INFO, job->globals == ENGINE_GLOBALS_REPLACE ? "restoring the globals: "
	    "existing roles take the backup's attributes and passwords (--globals=replace)" :
	    "restoring the globals: only roles the server lacks are created; existing ones "
	    "stay as they are", NULL);
	words_free(roles);
	words_free(spaces);
	free(self);
	return 0;
fail:
	words_free(roles);
	words_free(spaces);
	free(self);
	return -1;
}

/* Ends the filter thread (the pipeline has stopped writing) and logs what it did. */
static void
pg_globals_stop(struct pg_job *pg, int aborted)
{
	size_t	created, left;
	char	c[24], l[24];

	if (pg->feed[1] != -1)
		close(pg->feed[1]);
	pg->feed[1] = -1;
	if (pg->thread_running) {
		if (aborted && pg->running) {
			child_kill(&pg->child);	/* a thread stuck writing to psql gets EPIPE */
			pg->running = 0;
		}
		pthread_join(pg->thread, NULL);
		pg->thread_running = 0;
	}
	/* A start that failed half-way: what the thread would have closed. */
	if (pg->feed[0] != -1)
		close(pg->feed[0]);
	if (pg->sql_fd != -1)
		close(pg->sql_fd);
	pg->feed[0] = pg->sql_fd = -1;
	if (pg->globals != NULL && pg->thread_rc == 0 && !aborted) {
		pg_globals_counts(pg->globals, &created, &left);
		snprintf(c, sizeof(c), "%zu", created);
		snprintf(l, sizeof(l), "%zu", left);
		log_kv(LOGL_INFO, "globals restored", "roles_created", c,
		    "roles_left_as_they_were", l, NULL);
	}
	pg_globals_free(pg->globals);
	pg->globals = NULL;
}

/* Left out of databases = *: an exclude glob's, or a test restore's scratch database. */
static int
pg_excluded(struct engine_job *job, const char *name)
{
	char	**globs;
	size_t	  n, i;
	int	  out;

	if (strncmp(name, ENGINE_SCRATCH_PREFIX, strlen(ENGINE_SCRATCH_PREFIX)) == 0)
		return 1;
	globs = words_split(config_get(job->section, "exclude"), &n);
	for (i = 0, out = 0; i < n && !out; i++)
		out = fnmatch(globs[i], name, 0) == 0;
	words_free(globs);
	return out;
}

/*
 * The server's databases that allow connections, but templates, in the
 * bytes of their names (hex: any byte may be in one), with a flag for a
 * name that reads the same in UTF-8 (a manifest's part names are UTF-8).
 */
static int
pg_server_databases(struct engine_job *job, char ***names, char *err, size_t errlen)
{
	static const char script[] =
	    "SELECT encode(convert_to(datname, getdatabaseencoding()), 'hex'),\n"
	    "    convert_to(datname, getdatabaseencoding()) = convert_to(datname, 'UTF8')\n"
	    "FROM pg_database WHERE datallowconn AND NOT datistemplate\n"
	    "ORDER BY datname COLLATE \"C\";\n";
	char	*out = NULL, **lines;
	size_t	 i;

	*names = NULL;
	if (pg_psql(job, PG_SERVER_DB, script, NULL, &out, err, errlen) == -1)
		return errprefix(err, errlen, "listing the server's databases");
	lines = engine_lines(out);
	for (i = 0; lines[i] != NULL; i++)
		if (strstr(lines[i], "\tt") == NULL) {
			errf(err, errlen, "database %.*s (hex) is not named in UTF-8: back it up "
			    "with a definition of its own (database =)", (int)strcspn(lines[i],
			    "\t"), lines[i]);
			words_free(lines);
			free(out);
			return -1;
		}
	words_free(lines);
	*names = pg_hex_lines(out);
	free(out);
	return 0;
}

static int
pg_listed(char **v, const char *name)
{
	for (; *v != NULL; v++)
		if (strcmp(*v, name) == 0)
			return 1;
	return 0;
}

/* The databases this backup takes: databases = *, less exclude; or those named, all there. */
static int
pg_backup_databases(struct engine_job *job, char ***dbs, char *err, size_t errlen)
{
	const char	*want = config_get(job->section, "databases");
	char		**server, **named, **v;
	size_t		  n, i, k = 0;
	int		  rc = 0;

	if (pg_server_databases(job, &server, err, errlen) == -1)
		return -1;
	named = strcmp(want, "*") == 0 ? NULL : words_split(want, &n);
	for (n = 0; server[n] != NULL; n++)
		;
	v = xcalloc((named != NULL ? n + 1 : n) + 1, sizeof(*v));
	if (named == NULL) {
		for (i = 0; i < n; i++)
			if (!pg_excluded(job, server[i]))
				v[k++] = xstrdup(server[i]);
		if (k == 0)
			rc = errf(err, errlen, "no database to back up: every one the server "
			    "has is a template, takes no connections or is excluded");
	} else
		for (i = 0; named[i] != NULL && rc == 0; i++) {
			if (!pg_listed(server, named[i]))
				rc = errf(err, errlen, "database %s: the server has no such "
				    "database, or it takes no connections (databases = %s)",
				    named[i], want);
			else
				v[k++] = xstrdup(named[i]);
		}
	words_free(server);
	words_free(named);
	if (rc == -1) {
		words_free(v);
		return -1;
	}
	*dbs = v;
	return 0;
}

/* databases =: the globals (with globals) and one part per database, named now. */
static int
pg_parts(struct engine_job *job, char ***names, char *err, size_t errlen)
{
	char	**dbs, **v;
	size_t	  n, i, k = 0;

	*names = NULL;
	if (!pg_multi(job))
		return 0;
	if (pg_resolve(job, PG_SERVER_DB, err, errlen) == -1 ||
	    pg_backup_databases(job, &dbs, err, errlen) == -1)
		return -1;
	for (n = 0; dbs[n] != NULL; n++)
		;
	v = xcalloc(n + 2, sizeof(*v));
	if (pg_globals_on(job->section))
		v[k++] = xstrdup(ENGINE_PART_GLOBALS);
	for (i = 0; i < n; i++)
		v[k++] = xasprintf("%s%s", ENGINE_PART_DATABASE, dbs[i]);
	words_free(dbs);
	*names = v;
	return 0;
}

/* Before the backup writes anything: a client for the server's version (pg_client.h). */
static int
pg_preflight(struct engine_job *job, char *err, size_t errlen)
{
	return pg_resolve(job, pg_home(job), err, errlen);
}

/* The database answers, there is a client for its version, and databases = names what is there. */
static int
pg_check(struct engine_job *job, char *err, size_t errlen)
{
	const char	*database = pg_home(job);
	char		**dbs = NULL;
	int		  rc;

	if (pg_physical_on(job->section)) {
		rc = pg_physical_check(job, &pg_tools, err, errlen);
		pg_end(job, 0, NULL, 0);
		return rc;
	}
	rc = pg_resolve(job, database, err, errlen);
	if (rc == 0)
		rc = pg_psql(job, database, "SELECT 1;\n", NULL, NULL, err, errlen);
	if (rc == 0 && pg_multi(job))
		rc = pg_backup_databases(job, &dbs, err, errlen);
	words_free(dbs);
	pg_end(job, 0, NULL, 0);
	return rc;
}

/* The chosen pg_dump's: backup_begin() of the same job then runs it. */
static int
pg_tool_version(struct engine_job *job, char *buf, size_t len)
{
	struct child_args	 a = { 0 };
	char			 err[KB_ERRLEN];

	if (pg_resolve(job, pg_home(job), err, sizeof(err)) == -1)
		return -1;
	pg_tool(job, &a, pg_physical_on(job->section) ? "pg_basebackup" : "pg_dump");
	child_args_add(&a, "--version");
	return child_version(&a, buf, len);
}

static int
pg_scratch_name(struct engine_job *job, const char *base, char *buf, size_t len, char *err,
    size_t errlen)
{
	if (pg_physical_on(job->section))
		return errf(err, errlen, "a physical backup is not restored into a scratch "
		    "database: restore it with --data-dir DIR and start a server there");
	if (strlcpy(buf, base, len) >= len)
		return errf(err, errlen, "%s: too long a name", base);
	return 0;
}

/* Runs script in the postgres database with the psql variable db set to database (or prefix). */
static int
pg_psql_about(struct engine_job *job, const char *script, const char *database, char **out,
    char *err, size_t errlen)
{
	int	rc;

	rc = pg_psql_db(job, script, database, out, err, errlen);
	pg_end(job, 0, NULL, 0);
	return rc;
}

static int
pg_exists(struct engine_job *job, const char *database, char *err, size_t errlen)
{
	int	rc;

	rc = pg_has_database(job, database, err, errlen);
	pg_end(job, 0, NULL, 0);
	return rc;
}

/* Exact row counts: one count(*) per user table, generated and run with \gexec. */
static int
pg_sanity(struct engine_job *job, const char *database, struct engine_sanity *s,
    char *err, size_t errlen)
{
	/* Tables with rows of their own: a partitioned one's are in its partitions. */
	static const char script[] =
	    "SELECT format('SELECT %L, count(*) FROM %I.%I', n.nspname || '.' || c.relname,\n"
	    "    n.nspname, c.relname)\n"
	    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace\n"
	    "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog',\n"
	    "    'information_schema') AND n.nspname NOT LIKE 'pg_toast%'\n"
	    "ORDER BY 1\n"
	    "\\gexec\n";
	char	*out = NULL;
	int	 rc;

	memset(s, 0, sizeof(*s));
	rc = pg_psql(job, database, script, NULL, &out, err, errlen);
	pg_end(job, 0, NULL, 0);
	return engine_sanity_done(s, rc, out);
}

static int
pg_drop(struct engine_job *job, const char *database, char *err, size_t errlen)
{
	return pg_psql_about(job, "DROP DATABASE IF EXISTS :\"db\" WITH (FORCE);\n", database,
	    NULL, err, errlen);
}

/* A prefix compared as text (not LIKE, where _ is a wildcard). */
static int
pg_scratch_list(struct engine_job *job, const char *prefix, char ***names, char *err,
    size_t errlen)
{
	char	*out = NULL;

	*names = NULL;
	if (pg_psql_about(job, "SELECT datname FROM pg_database WHERE left(datname, "
	    "length(:'db')) = :'db' ORDER BY 1;\n", prefix, &out, err, errlen) == -1)
		return -1;
	*names = engine_lines(out);
	free(out);
	return 0;
}

/* What the config schema and the operator read. */
const struct engine_desc engine_postgres_desc = {
	.name = "postgres",
	.keys = postgres_keys,
	.validate = pg_validate_all,
};

const struct engine_ops engine_postgres = {
	.desc = &engine_postgres_desc,
	.preflight = pg_preflight,
	.parts = pg_parts,
	.release = pg_release,
	.backup_begin = pg_backup_begin,
	.backup_end = pg_end,
	.restore_begin = pg_restore_begin,
	.restore_end = pg_end,
	.restore_jobs = pg_restore_jobs,
	.check = pg_check,
	.tool_version = pg_tool_version,
	.scratch_name = pg_scratch_name,
	.scratch_list = pg_scratch_list,
	.exists = pg_exists,
	.sanity = pg_sanity,
	.drop = pg_drop,
};
