/*
 * postgres: PostgreSQL through pg_dump -Fc and pg_restore.
 *
 * The password reaches libpq through a 0600 PGPASSFILE in workdir, written
 * for the job and removed after it: never argv, never the environment of the
 * runner's other children.  Compression is ours (-Z0).  Restores run in one
 * transaction, so a stream that stops half-way (a frame that fails its check)
 * leaves the target database as it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "common/proc.h"
#include "engines/engine.h"

struct pg_job {
	struct child	 child;
	int		 running;
	char		*passfile;
};

static const struct config_key postgres_keys[] = {
	{ "host", CFG_STRING, 0, NULL, "a host name, address or socket directory", 0, 0, NULL },
	{ "port", CFG_UINT, 0, "5432", "a port", 1, 65535, NULL },
	{ "user", CFG_STRING, 0, NULL, "a role name", 0, 0, NULL },
	{ "password", CFG_SECRET, 0, NULL, "the role's password", 0, 0, NULL },
	{ "database", CFG_STRING, 1, NULL, "the database to back up", 0, 0, NULL },
	{ "sslmode", CFG_ENUM, 0, NULL, "disable|allow|prefer|require|verify-ca|verify-full",
	    0, 0, NULL },
	{ "dump_options", CFG_LIST, 0, NULL, "extra pg_dump arguments", 0, 0, NULL },
	{ "restore_options", CFG_LIST, 0, NULL, "extra pg_restore arguments", 0, 0, NULL },
	{ "bin_dir", CFG_PATH, 0, NULL, "the directory of pg_dump and pg_restore", 0, 0, NULL },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

static struct pg_job *
pg_priv(struct engine_job *job)
{
	if (job->priv == NULL)
		job->priv = xcalloc(1, sizeof(struct pg_job));
	return job->priv;
}

static void
pg_tool(struct engine_job *job, struct child_args *a, const char *tool)
{
	const char	*dir = config_get(job->section, "bin_dir");

	if (dir != NULL) {
		char *p = path_join(dir, tool);
		child_args_add(a, p);
		free(p);
	} else
		child_args_add(a, tool);
}

/* A .pgpass line matches any host, port, database and user: '\' and ':' escaped. */
static int
pg_write_passfile(struct engine_job *job, char *err, size_t errlen)
{
	struct pg_job	*pg = pg_priv(job);
	const char	*password = config_get(job->section, "password");
	char		*line, *p;
	const char	*s;
	size_t		 size;
	int		 rc;

	if (password == NULL || pg->passfile != NULL)
		return 0;
	size = 8 + 2 * strlen(password) + 2;
	line = xmalloc(size);
	p = line + strlcpy(line, "*:*:*:*:", size);
	for (s = password; *s != '\0'; s++) {
		if (*s == '\\' || *s == ':')
			*p++ = '\\';
		*p++ = *s;
	}
	*p++ = '\n';
	rc = secret_file_write(job->tmpdir, "pgpass.XXXXXX", line, (size_t)(p - line),
	    &pg->passfile, err, errlen);
	freezero(line, size);
	return rc;
}

static void
pg_remove_passfile(struct engine_job *job)
{
	struct pg_job	*pg = job->priv;

	if (pg != NULL)
		secret_file_remove(&pg->passfile);
}

/* Environment for libpq tools: the passfile, never the password itself. */
static void
pg_env(struct engine_job *job, struct child_args *env)
{
	struct pg_job	*pg = pg_priv(job);
	const char	*sslmode = config_get(job->section, "sslmode");

	child_args_add(env, "PGAPPNAME=kbackup");
	child_args_add(env, "PGCONNECT_TIMEOUT=30");
	if (pg->passfile != NULL)
		child_args_addf(env, "PGPASSFILE=%s", pg->passfile);
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

/*
 * Runs psql on database with the SQL script on its stdin (psql variables
 * given as NAME=VALUE in vars interpolate there, quoted by psql itself), and
 * returns its unaligned output in *out if out is not NULL.
 */
static int
pg_psql(struct engine_job *job, const char *database, const char *script,
    const char *const *vars, char **out, char *err, size_t errlen)
{
	struct child_args	 a = { 0 }, env = { 0 };
	char			*drop = NULL;
	int			 rc;

	if (pg_write_passfile(job, err, errlen) == -1)
		return -1;
	pg_tool(job, &a, "psql");
	pg_conn_args(job, &a);
	child_args_add(&a, "--no-psqlrc");
	child_args_add(&a, "--quiet");
	child_args_add(&a, "--tuples-only");
	child_args_add(&a, "--no-align");
	child_args_add(&a, "--field-separator=\t");
	child_args_add(&a, "--set=ON_ERROR_STOP=1");
	for (; vars != NULL && *vars != NULL; vars++)
		child_args_addf(&a, "--set=%s", *vars);
	child_args_addf(&a, "--dbname=%s", database);
	pg_env(job, &env);
	/* Output nobody asked for is dropped, not logged: it may be table data. */
	rc = child_run_input(child_args_list(&a), child_args_list(&env), script,
	    out != NULL ? out : &drop, 1024 * 1024, err, errlen);
	free(drop);
	child_args_free(&a);
	child_args_free(&env);
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
	rc = child_spawn(&pg->child, child_args_list(a), child_args_list(&env), flags, err,
	    errlen);
	child_args_free(a);
	child_args_free(&env);
	if (rc == -1) {
		pg_remove_passfile(job);
		return -1;
	}
	pg->running = 1;
	*fd = (flags & CHILD_STDIN_PIPE) ? pg->child.in_fd : pg->child.out_fd;
	return 0;
}

static int
pg_backup_begin(struct engine_job *job, int *fd, char *err, size_t errlen)
{
	struct child_args	a = { 0 };

	if (pg_write_passfile(job, err, errlen) == -1)
		return -1;
	pg_tool(job, &a, "pg_dump");
	child_args_add(&a, "--format=custom");
	child_args_add(&a, "--compress=0");
	pg_conn_args(job, &a);
	child_args_add_words(&a, config_get(job->section, "dump_options"));
	child_args_addf(&a, "--dbname=%s", config_get(job->section, "database"));
	return pg_start(job, &a, CHILD_STDOUT_PIPE, fd, err, errlen);
}

static int
pg_end(struct engine_job *job, int aborted, char *err, size_t errlen)
{
	struct pg_job	*pg = job->priv;
	int		 rc = 0;

	if (pg == NULL)
		return 0;
	if (pg->running) {
		if (aborted) {
			child_kill(&pg->child);
			rc = -1;
			errf(err, errlen, "aborted");
		} else
			rc = child_wait(&pg->child, err, errlen);
		pg->running = 0;
	}
	pg_remove_passfile(job);
	free(pg);
	job->priv = NULL;
	return rc;
}

static const char *
pg_target(struct engine_job *job)
{
	return job->database != NULL ? job->database : config_get(job->section, "database");
}

/* Creates the target database unless it exists (restore --database NAME). */
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
	char		*var, *out = NULL;
	const char	*vars[2];
	int		 rc;

	var = xasprintf("db=%s", name);
	vars[0] = var;
	vars[1] = NULL;
	rc = pg_psql(job, "postgres", script, vars, &out, err, errlen);
	if (rc == 0 && out != NULL && strstr(out, "created") != NULL)
		log_kv(LOGL_INFO, "created database", "database", name, NULL);
	free(out);
	free(var);
	if (rc == -1)
		return errprefix(err, errlen, "creating database %s", name);
	return 0;
}

static int
pg_restore_begin(struct engine_job *job, int *fd, char *err, size_t errlen)
{
	struct child_args	 a = { 0 };
	const char		*target = pg_target(job);

	if (pg_write_passfile(job, err, errlen) == -1)
		return -1;
	if (pg_ensure_database(job, target, err, errlen) == -1) {
		pg_remove_passfile(job);
		return -1;
	}
	pg_tool(job, &a, "pg_restore");
	pg_conn_args(job, &a);
	child_args_add(&a, "--clean");
	child_args_add(&a, "--if-exists");
	child_args_add(&a, "--single-transaction");
	child_args_add(&a, "--exit-on-error");
	child_args_add_words(&a, config_get(job->section, "restore_options"));
	child_args_addf(&a, "--dbname=%s", target);
	return pg_start(job, &a, CHILD_STDIN_PIPE | CHILD_STDOUT_LOG, fd, err, errlen);
}

static int
pg_check(struct engine_job *job, char *err, size_t errlen)
{
	int	rc;

	rc = pg_psql(job, config_get(job->section, "database"), "SELECT 1;\n", NULL, NULL,
	    err, errlen);
	pg_end(job, 0, NULL, 0);
	return rc;
}

static int
pg_tool_version(struct engine_job *job, char *buf, size_t len)
{
	struct child_args	 a = { 0 };
	int			 rc;

	pg_tool(job, &a, "pg_dump");
	child_args_add(&a, "--version");
	rc = child_version(&a, buf, len);
	return rc;
}

static int
pg_scratch_name(struct engine_job *job, char *buf, size_t len, char *err, size_t errlen)
{
	snprintf(buf, len, "kbackup_verify_%ld_%ld", (long)getpid(), (long)time(NULL));
	return 0;
}

/* Runs script in the postgres database with the psql variable db set to database. */
static int
pg_psql_about(struct engine_job *job, const char *script, const char *database, char **out,
    char *err, size_t errlen)
{
	char		*var;
	const char	*vars[2];
	int		 rc;

	var = xasprintf("db=%s", database);
	vars[0] = var;
	vars[1] = NULL;
	rc = pg_psql(job, "postgres", script, vars, out, err, errlen);
	pg_end(job, 0, NULL, 0);
	free(var);
	return rc;
}

static int
pg_exists(struct engine_job *job, const char *database, char *err, size_t errlen)
{
	char	*out = NULL;
	int	 rc;

	rc = pg_psql_about(job, "SELECT count(*) FROM pg_database WHERE datname = :'db';\n",
	    database, &out, err, errlen);
	if (rc == 0)
		rc = out[0] == '0' ? 0 : 1;
	free(out);
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
	if (rc == -1)
		return -1;
	engine_sanity_parse(s, out);
	free(out);
	return 0;
}

static int
pg_drop(struct engine_job *job, const char *database, char *err, size_t errlen)
{
	return pg_psql_about(job, "DROP DATABASE IF EXISTS :\"db\" WITH (FORCE);\n", database,
	    NULL, err, errlen);
}

static void
pg_pod(const struct config_section *section, struct engine_pod *pod)
{
	memset(pod, 0, sizeof(*pod));
	pod->image = "kbackup/runner-postgres";
}

const struct engine_ops engine_postgres = {
	.name = "postgres",
	.keys = postgres_keys,
	.backup_begin = pg_backup_begin,
	.backup_end = pg_end,
	.restore_begin = pg_restore_begin,
	.restore_end = pg_end,
	.check = pg_check,
	.tool_version = pg_tool_version,
	.scratch_name = pg_scratch_name,
	.exists = pg_exists,
	.sanity = pg_sanity,
	.drop = pg_drop,
	.pod = pg_pod,
};
