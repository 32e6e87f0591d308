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
#include "engines/pg_client.h"
#include "engines/pg_physical.h"

struct pg_job {
	struct child	 child;
	int		 running;
	struct memfile	 pass;		/* the .pgpass line */
	int		 resolved;	/* pg_resolve() ran: resolve_err says how */
	int		 resolve_rc;
	char		 resolve_err[KB_ERRLEN];
	char		*bindir;	/* the chosen client's, or NULL: bin_dir or PATH */
	char		*created;	/* restore: the database it created, dropped on failure */
	void		*physical;	/* method = physical: pg_physical.c's state */
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
	if (job->priv == NULL)
		job->priv = xcalloc(1, sizeof(struct pg_job));
	return job->priv;
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

	if (password == NULL || pg->pass.path[0] != '\0')
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
	rc = memfile_open(&pg->pass, "kbackup-pgpass", line, (size_t)(p - line), err, errlen);
	freezero(line, size);
	return rc;
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
	rc = child_run_input(child_args_list(&a), child_args_list(&env), &pg->pass, script,
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

static int
pg_backup_begin(struct engine_job *job, int *fd, char *err, size_t errlen)
{
	const char		*database = config_get(job->section, "database");
	struct child_args	 a = { 0 };

	if (pg_physical_on(job->section)) {
		if (pg_physical_backup_begin(job, &pg_tools, fd, err, errlen) == -1) {
			pg_end(job, 1, NULL, 0);
			return -1;
		}
		return 0;
	}

	if (pg_resolve(job, database, err, errlen) == -1 ||
	    pg_write_passfile(job, err, errlen) == -1) {
		pg_end(job, 1, NULL, 0);
		return -1;
	}
	pg_tool(job, &a, "pg_dump");
	child_args_add(&a, "--format=custom");
	child_args_add(&a, "--compress=0");
	pg_conn_args(job, &a);
	child_args_add_words(&a, config_get(job->section, "dump_options"));
	child_args_addf(&a, "--dbname=%s", database);
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
	char		 err[KB_ERRLEN], *var;
	const char	*vars[2];

	var = xasprintf("db=%s", pg->created);
	vars[0] = var;
	vars[1] = NULL;
	engine_log_created_drop(pg->created, pg_psql(job, "postgres",
	    "DROP DATABASE IF EXISTS :\"db\" WITH (FORCE);\n", vars, NULL, err, sizeof(err)),
	    err);
	free(var);
}

static int
pg_end(struct engine_job *job, int aborted, char *err, size_t errlen)
{
	struct pg_job	*pg = job->priv;
	int		 rc = 0;

	if (pg == NULL)
		return 0;
	if (pg->physical != NULL)
		rc = pg_physical_end(job, &pg_tools, aborted, err, errlen);
	if (pg->running) {
		if (aborted) {
			child_kill(&pg->child);
			rc = -1;
			errf(err, errlen, "aborted");
		} else
			rc = child_wait(&pg->child, err, errlen);
		pg->running = 0;
	}
	if (pg->created != NULL && (aborted || rc == -1))
		pg_drop_created(job);
	memfile_close(&pg->pass);
	free(pg->created);
	free(pg->bindir);
	free(pg);
	job->priv = NULL;
	return rc;
}

static const char *
pg_target(struct engine_job *job)
{
	return job->database != NULL ? job->database : config_get(job->section, "database");
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
	char		*var, *out = NULL;
	const char	*vars[2];
	int		 rc;

	var = xasprintf("db=%s", name);
	vars[0] = var;
	vars[1] = NULL;
	rc = pg_psql(job, "postgres", script, vars, &out, err, errlen);
	if (rc == 0 && out != NULL && strstr(out, "created") != NULL) {
		log_kv(LOGL_INFO, "created database", "database", name, NULL);
		pg->created = xstrdup(name);
	}
	free(out);
	free(var);
	if (rc == -1)
		return errprefix(err, errlen, "creating database %s", name);
	return 0;
}

/* The client is chosen before the target is created: a missing one creates nothing. */
static int
pg_restore_begin(struct engine_job *job, int *fd, char *err, size_t errlen)
{
	struct child_args	 a = { 0 };
	const char		*target = pg_target(job);

	if (job->data_dir != NULL) {
		if (pg_physical_restore_begin(job, &pg_tools, fd, err, errlen) == -1) {
			pg_end(job, 1, NULL, 0);
			return -1;
		}
		return 0;
	}

	if (pg_resolve(job, "postgres", err, errlen) == -1 ||
	    pg_ensure_database(job, target, err, errlen) == -1) {
		pg_end(job, 1, NULL, 0);
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
	if (pg_start(job, &a, CHILD_STDIN_PIPE | CHILD_STDOUT_LOG, fd, err, errlen) == -1) {
		pg_end(job, 1, NULL, 0);
		return -1;
	}
	return 0;
}

/* The database answers, and there is a client for its version. */
static int
pg_check(struct engine_job *job, char *err, size_t errlen)
{
	const char	*database = config_get(job->section, "database");
	int		 rc;

	if (pg_physical_on(job->section))
		rc = pg_physical_check(job, &pg_tools, err, errlen);
	else if ((rc = pg_resolve(job, database, err, errlen)) == 0)
		rc = pg_psql(job, database, "SELECT 1;\n", NULL, NULL, err, errlen);
	pg_end(job, 0, NULL, 0);
	return rc;
}

/* The chosen pg_dump's: backup_begin() of the same job then runs it. */
static int
pg_tool_version(struct engine_job *job, char *buf, size_t len)
{
	struct child_args	 a = { 0 };
	char			 err[KB_ERRLEN];

	if (pg_resolve(job, config_get(job->section, "database"), err, sizeof(err)) == -1)
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

static void
pg_pod(const struct config_section *section, struct engine_pod *pod)
{
	memset(pod, 0, sizeof(*pod));
	pod->image = "kbackup/runner-postgres";
}

/* What the config schema and the operator read. */
const struct engine_desc engine_postgres_desc = {
	.name = "postgres",
	.keys = postgres_keys,
	.validate = pg_physical_validate,
	.pod = pg_pod,
};

const struct engine_ops engine_postgres = {
	.desc = &engine_postgres_desc,
	.backup_begin = pg_backup_begin,
	.backup_end = pg_end,
	.restore_begin = pg_restore_begin,
	.restore_end = pg_end,
	.check = pg_check,
	.tool_version = pg_tool_version,
	.scratch_name = pg_scratch_name,
	.scratch_list = pg_scratch_list,
	.exists = pg_exists,
	.sanity = pg_sanity,
	.drop = pg_drop,
};
