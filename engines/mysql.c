/*
 * mysql: MySQL and MariaDB through mariadb-dump (or mysqldump) and the
 * mariadb (or mysql) client.
 *
 * The dump is one consistent snapshot of InnoDB tables
 * (--single-transaction) with routines, events and triggers, binary columns
 * in hex.  The password reaches the tools through an option file in memory
 * (a memfile, mode 0600, that only the tool it is passed to inherits) given
 * as --defaults-extra-file=/proc/self/fd/N (which the tools only accept as
 * their first argument): never argv, never on disk.
 *
 * One database is dumped without --databases, so the dump holds no CREATE
 * DATABASE or USE: restore runs it in whichever database it is told, which
 * is how restore --database NAME restores into another (created if
 * missing, and dropped again if the restore fails).  A list of databases,
 * or "*" (--all-databases), makes a dump that names its databases itself:
 * it restores only into those names.
 *
 * binlog = archive: the server must write a binary log (preflight and
 * check say so when it does not); the dump records its position in it
 * (engines/my_binlog), which point-in-time recovery starts from.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cancel.h"
#include "common/log.h"
#include "common/util.h"
#include "common/proc.h"
#include "engines/engine.h"
#include "engines/my_binlog.h"
#include "engines/mysql.h"

struct my_job {
	struct child	 child;
	int		 running;
	const char	*position_opts;	/* preflight: the dump's options for its position */
	uint32_t	 server_id;	/* preflight: @@server_id, recorded with the position */
	struct my_binlog_tee *tee;	/* binlog = archive: the dump read on its way */
	struct memfile	 opts;		/* [client] password=... */
	char		*created;	/* restore: the database it created, dropped on failure */
};

static const struct config_key mysql_keys[] = {
	{ "host", CFG_STRING, 0, NULL, "a host name or address", 0, 0, NULL },
	{ "port", CFG_UINT, 0, "3306", "a port", 1, 65535, NULL },
	{ "socket", CFG_PATH, 0, NULL, "the server's Unix socket", 0, 0, NULL },
	{ "user", CFG_STRING, 0, NULL, "a user name", 0, 0, NULL },
	{ "password", CFG_SECRET, 0, NULL, "the user's password", 0, 0, NULL },
	{ "databases", CFG_LIST, 1, NULL, "a database, several, or * for all", 0, 0, NULL },
	{ "dump_command", CFG_STRING, 0, NULL, "mariadb-dump or mysqldump", 0, 0, NULL },
	{ "client_command", CFG_STRING, 0, NULL, "mariadb or mysql", 0, 0, NULL },
	{ "dump_options", CFG_LIST, 0, NULL, "extra dump arguments", 0, 0, NULL },
	{ "restore_options", CFG_LIST, 0, NULL, "extra client arguments for restores",
	    0, 0, NULL },
	{ "bin_dir", CFG_PATH, 0, NULL, "the directory of the dump tool and client", 0, 0, NULL },
	{ "binlog", CFG_ENUM, 0, "off", "off|archive", 0, 0, NULL },
	{ "binlog_flush", CFG_DURATION, 0, "1m",
	    "how often the current binary log file is stored", 1, 86400, NULL },
	{ "binlog_command", CFG_STRING, 0, NULL, "mariadb-binlog or mysqlbinlog", 0, 0, NULL },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

static const char *const dump_tools[] = { "mariadb-dump", "mysqldump", NULL };
static const char *const client_tools[] = { "mariadb", "mysql", NULL };
static const char *const binlog_tools[] = { "mariadb-binlog", "mysqlbinlog", NULL };

static struct my_job *
my_priv(struct engine_job *job)
{
	if (job->priv == NULL)
		job->priv = xcalloc(1, sizeof(struct my_job));
	return job->priv;
}

static int
executable_in(const char *dir, const char *name)
{
	char	*p = path_join(dir, name);
	int	 ok = access(p, X_OK) == 0;

	free(p);
	return ok;
}

/* The configured command, else the first of names found in bin_dir or PATH. */
static void
my_tool(struct engine_job *job, struct child_args *a, const char *key,
    const char *const *names)
{
	const char	*cmd = config_get(job->section, key);
	const char	*dir = config_get(job->section, "bin_dir");
	const char	*path = getenv("PATH");
	char		*copy, *d, *save = NULL, *p;
	size_t		 i;

	if (cmd != NULL && strchr(cmd, '/') == NULL && dir != NULL) {
		p = path_join(dir, cmd);
		child_args_add(a, p);
		free(p);
		return;
	}
	if (cmd != NULL) {
		child_args_add(a, cmd);
		return;
	}
	for (i = 0; names[i] != NULL; i++) {
		if (dir != NULL) {
			if (!executable_in(dir, names[i]))
				continue;
			p = path_join(dir, names[i]);
			child_args_add(a, p);
			free(p);
			return;
		}
		copy = xstrdup(path != NULL ? path : "/usr/bin:/bin");
		for (d = strtok_r(copy, ":", &save); d != NULL; d = strtok_r(NULL, ":", &save))
			if (executable_in(d, names[i]))
				break;
		free(copy);
		if (d != NULL) {
			child_args_add(a, names[i]);
			return;
		}
	}
	child_args_add(a, names[0]);	/* fails at spawn, with its name in the message */
}

/* [client] password="..." with the option-file escapes for \ " and newlines. */
static int
my_write_optfile(struct engine_job *job, char *err, size_t errlen)
{
	struct my_job	*my = my_priv(job);
	const char	*password = config_get(job->section, "password");
	char		*text, *p;
	const char	*s;
	size_t		 size;
	int		 rc;

	if (password == NULL || my->opts.path[0] != '\0')
		return 0;
	size = 32 + 2 * strlen(password);
	text = xmalloc(size);
	p = text + strlcpy(text, "[client]\npassword=\"", size);
	for (s = password; *s != '\0'; s++) {
		if (*s == '\n') {
			*p++ = '\\';
			*p++ = 'n';
			continue;
		}
		if (*s == '\\' || *s == '"')
			*p++ = '\\';
		*p++ = *s;
	}
	*p++ = '"';
	*p++ = '\n';
	rc = memfile_open(&my->opts, "kbackup-my.cnf", text, (size_t)(p - text), err, errlen);
	freezero(text, size);
	return rc;
}

/*
 * The tool, then --defaults-extra-file (it must come first), then the
 * connection, in UTF-8: the clients otherwise take the locale's character
 * set (latin1 under LANG=C), and a database name such as --database=é would
 * name another database than CREATE DATABASE `é` made.
 */
static void
my_connection(struct engine_job *job, struct child_args *a, const char *key,
    const char *const *names)
{
	struct my_job	*my = my_priv(job);
	const char	*host = config_get(job->section, "host");
	const char	*sock = config_get(job->section, "socket");
	const char	*user = config_get(job->section, "user");

	my_tool(job, a, key, names);
	if (my->opts.path[0] != '\0')
		child_args_addf(a, "--defaults-extra-file=%s", my->opts.path);
	if (sock != NULL)
		child_args_addf(a, "--socket=%s", sock);
	if (host != NULL) {
		child_args_addf(a, "--host=%s", host);
		child_args_addf(a, "--port=%s", config_get(job->section, "port"));
	}
	if (user != NULL)
		child_args_addf(a, "--user=%s", user);
}

static void
my_command(struct engine_job *job, struct child_args *a, const char *key,
    const char *const *names)
{
	my_connection(job, a, key, names);
	child_args_add(a, "--default-character-set=utf8mb4");
}

/* A `quoted` identifier. */
static char *
my_ident(const char *s)
{
	char	*q, *p;

	q = p = xmalloc(2 * strlen(s) + 3);
	*p++ = '`';
	for (; *s != '\0'; s++) {
		if (*s == '`')
			*p++ = '`';
		*p++ = *s;
	}
	*p++ = '`';
	*p = '\0';
	return q;
}

/* A string literal that reads the same whatever the sql_mode: _utf8mb4 X'...'. */
static char *
my_hex_literal(const char *s)
{
	size_t	 len = strlen(s);
	char	*hex, *q;

	hex = xmalloc(2 * len + 1);
	hex_encode((const unsigned char *)s, len, hex);
	q = xasprintf("_utf8mb4 X'%s'", hex);
	free(hex);
	return q;
}

/*
 * Runs the client with script on stdin; tab-separated rows in *out if out
 * is not NULL, escaped as batch mode does (\\, \t, \n) unless raw.
 */
static int
my_sql(struct engine_job *job, const char *database, const char *script, int raw,
    char **out, char *err, size_t errlen)
{
	struct my_job		*my = my_priv(job);
	struct child_args	 a = { 0 };
	char			*drop = NULL;
	int			 rc;

	if (my_write_optfile(job, err, errlen) == -1)
		return -1;
	my_command(job, &a, "client_command", client_tools);
	child_args_add(&a, "--batch");
	child_args_add(&a, "--skip-column-names");
	if (raw)
		child_args_add(&a, "--raw");
	if (database != NULL)
		child_args_addf(&a, "--database=%s", database);
	/* Output nobody asked for is dropped, not logged: it may be table data. */
	rc = child_run_input(child_args_list(&a), NULL, &my->opts, script,
	    out != NULL ? out : &drop, 1024 * 1024, err, errlen);
	free(drop);
	child_args_free(&a);
	return rc;
}

/* A query's one number, within [min, max]. */
static int
my_sql_number(struct engine_job *job, const char *query, long long min, long long max,
    long long *v, char *err, size_t errlen)
{
	const char	*errstr;
	char		*out = NULL;
	int		 rc;

	rc = my_sql(job, NULL, query, 0, &out, err, errlen);
	if (rc == 0) {
		out[strcspn(out, "\n")] = '\0';
		*v = strtonum(out, min, max, &errstr);
		if (errstr != NULL)
			rc = errf(err, errlen, "%.*s gave '%s'", (int)strcspn(query, ";"), query,
			    out);
	}
	free(out);
	return rc;
}

/* A restore that failed drops the database it had created: nothing half-made stays. */
static void
my_drop_created(struct engine_job *job)
{
	struct my_job	*my = job->priv;
	char		*ident, *script, err[KB_ERRLEN];

	int		 was;

	ident = my_ident(my->created);
	script = xasprintf("DROP DATABASE IF EXISTS %s;\n", ident);
	was = cancel_cleanup_begin();	/* a cancelled restore still drops it */
	engine_log_created_drop(my->created,
	    my_sql(job, NULL, script, 0, NULL, err, sizeof(err)), err);
	cancel_cleanup_end(was);
	free(script);
	free(ident);
}

static int
my_end(struct engine_job *job, int aborted, char *err, size_t errlen)
{
	struct my_job	*my = job->priv;
	char		 terr[KB_ERRLEN];
	long long	 now = 0;
	int		 rc = 0;

	if (my == NULL)
		return 0;
	if (my->tee != NULL && aborted)
		my_binlog_tee_abort(my->tee);
	if (my->running) {
		if (aborted) {
			child_kill(&my->child);
			rc = -1;
			errf(err, errlen, "aborted");
		} else
			rc = child_wait(&my->child, err, errlen);
		my->running = 0;
	}
	if (my->tee != NULL) {
		if (my_binlog_tee_end(my->tee, terr, sizeof(terr)) == -1 && rc == 0)
			rc = errf(err, errlen, "%s", terr);
		/*
		 * The server's clock once the dump is over: no transaction in the
		 * dump committed after it, so restore --at takes the dump from then
		 * on, on the clock the binary log's events carry, whatever this
		 * host's says.
		 */
		if (rc == 0)
			rc = my_sql_number(job, "SELECT UNIX_TIMESTAMP();\n", 1, INT64_MAX, &now,
			    err, errlen);
		if (rc == 0)
			rc = my_binlog_dump_details(my->tee, my->server_id, (time_t)now,
			    &job->details, err, errlen);
		free(my->tee);
	}
	if (my->created != NULL && (aborted || rc == -1))
		my_drop_created(job);
	memfile_close(&my->opts);
	free(my->created);
	free(my);
	job->priv = NULL;
	return rc;
}

/* One database (and not "*"): dumped without --databases. */
static int
my_single(struct engine_job *job, char **name)
{
	char	**w;
	size_t	  n;
	int	  single;

	w = words_split(config_get(job->section, "databases"), &n);
	single = n == 1 && strcmp(w[0], "*") != 0;
	if (single && name != NULL)
		*name = xstrdup(w[0]);
	words_free(w);
	return single;
}

int
mysql_binlog_archiving(const struct config_section *section)
{
	return strcmp(config_get(section, "binlog"), "archive") == 0;
}

static int
my_archiving(struct engine_job *job)
{
	return mysql_binlog_archiving(job->section);
}

/*
 * binlog = archive needs a server that writes a binary log: said before
 * anything is written.  Remembers the dump's options for its position,
 * which differ between MariaDB and MySQL versions.
 */
static int
my_binlog_ready(struct engine_job *job, char *err, size_t errlen)
{
	struct my_job	*my = my_priv(job);
	const char	*tab;
	char		*out = NULL;
	int		 rc;

	if (!my_archiving(job))
		return 0;
	rc = my_sql(job, NULL, "SELECT @@log_bin, @@version, @@server_id;\n", 0, &out, err,
	    errlen);
	if (rc == 0)
		rc = my_binlog_server_check(out, &my->position_opts, err, errlen);
	/* The version holds no tab: the id is the last column. */
	if (rc == 0 && (tab = strrchr(out, '\t')) != NULL)
		my->server_id = (uint32_t)strtoul(tab + 1, NULL, 10);
	free(out);
	return rc;
}

static int
my_preflight(struct engine_job *job, char *err, size_t errlen)
{
	if (my_binlog_ready(job, err, errlen) == -1) {
		my_end(job, 0, NULL, 0);
		return -1;
	}
	return 0;
}

static void
my_release(struct engine_job *job)
{
	my_end(job, 1, NULL, 0);
}

static int
my_backup_begin(struct engine_job *job, int *fd, char *err, size_t errlen)
{
	struct my_job		*my = my_priv(job);
	struct child_args	 a = { 0 };
	const char		*dbs = config_get(job->section, "databases");
	char			**w;
	size_t			 n, i;
	int			 rc;

	if (my_write_optfile(job, err, errlen) == -1) {
		my_end(job, 1, NULL, 0);
		return -1;
	}
	my_command(job, &a, "dump_command", dump_tools);
	child_args_add(&a, "--single-transaction");
	child_args_add(&a, "--quick");
	child_args_add(&a, "--routines");
	child_args_add(&a, "--events");
	child_args_add(&a, "--triggers");
	child_args_add(&a, "--hex-blob");
	if (my_archiving(job))
		child_args_add_words(&a, my->position_opts != NULL ? my->position_opts :
		    "--master-data=2");
	child_args_add_words(&a, config_get(job->section, "dump_options"));
	w = words_split(dbs, &n);
	if (n == 1 && strcmp(w[0], "*") == 0)
		child_args_add(&a, "--all-databases");
	else {
		if (n > 1)
			child_args_add(&a, "--databases");
		child_args_add(&a, "--");
		for (i = 0; i < n; i++)
			child_args_add(&a, w[i]);
	}
	words_free(w);
	rc = child_spawn(&my->child, child_args_list(&a), NULL, &my->opts, CHILD_STDOUT_PIPE,
	    err, errlen);
	child_args_free(&a);
	if (rc == -1) {
		my_end(job, 1, NULL, 0);
		return -1;
	}
	my->running = 1;
	*fd = my->child.out_fd;
	if (my_archiving(job)) {
		my->tee = xcalloc(1, sizeof(*my->tee));
		if (my_binlog_tee_start(my->tee, my->child.out_fd, fd, err, errlen) == -1) {
			free(my->tee);
			my->tee = NULL;
			my_end(job, 1, NULL, 0);
			return -1;
		}
	}
	return 0;
}

/*
 * Creates the target database unless it exists; remembers one it created.
 * An existing one makes CREATE ... IF NOT EXISTS a note (a warning), so the
 * warning count tells, in the same statement, which it was.
 */
static int
my_ensure_database(struct engine_job *job, const char *name, char *err, size_t errlen)
{
	struct my_job	*my = my_priv(job);
	char		*ident, *script, *out = NULL;
	int		 rc;

	ident = my_ident(name);
	script = xasprintf("CREATE DATABASE IF NOT EXISTS %s;\nSELECT @@warning_count;\n",
	    ident);
	rc = my_sql(job, NULL, script, 0, &out, err, errlen);
	if (rc == 0 && strncmp(out, "0\n", 2) == 0) {
		log_kv(LOGL_INFO, "created database", "database", name, NULL);
		my->created = xstrdup(name);
	}
	free(out);
	free(script);
	free(ident);
	if (rc == -1)
		return errprefix(err, errlen, "creating database %s", name);
	return 0;
}

static int
my_restore_begin(struct engine_job *job, int *fd, char *err, size_t errlen)
{
	struct my_job		*my = my_priv(job);
	struct child_args	 a = { 0 };
	char			*single = NULL;
	const char		*target;
	int			 rc;

	if (!my_single(job, &single) && job->database != NULL) {
		my_end(job, 1, NULL, 0);
		return errf(err, errlen, "restore --database needs a backup of one database; "
		    "this definition backs up '%s', whose dump names its databases itself",
		    config_get(job->section, "databases"));
	}
	target = job->database != NULL ? job->database : single;
	if (my_write_optfile(job, err, errlen) == -1 ||
	    (target != NULL && my_ensure_database(job, target, err, errlen) == -1)) {
		free(single);
		my_end(job, 1, NULL, 0);
		return -1;
	}
	my_command(job, &a, "client_command", client_tools);
	child_args_add(&a, "--batch");
	child_args_add(&a, "--binary-mode");
	child_args_add_words(&a, config_get(job->section, "restore_options"));
	if (target != NULL)
		child_args_addf(&a, "--database=%s", target);
	free(single);
	rc = child_spawn(&my->child, child_args_list(&a), NULL, &my->opts,
	    CHILD_STDIN_PIPE | CHILD_STDOUT_LOG, err, errlen);
	child_args_free(&a);
	if (rc == -1) {
		my_end(job, 1, NULL, 0);
		return -1;
	}
	my->running = 1;
	*fd = my->child.in_fd;
	return 0;
}

static int
my_check(struct engine_job *job, char *err, size_t errlen)
{
	char	*out = NULL;
	int	 rc;

	rc = my_sql(job, NULL, "SELECT 1;\n", 0, &out, err, errlen);
	if (rc == 0 && strncmp(out, "1", 1) != 0)
		rc = errf(err, errlen, "SELECT 1 did not answer 1");
	if (rc == 0)
		rc = my_binlog_ready(job, err, errlen);
	my_end(job, 0, NULL, 0);
	free(out);
	return rc;
}

static int
my_tool_version(struct engine_job *job, char *buf, size_t len)
{
	struct child_args	 a = { 0 };
	int			 rc, ours = job->priv == NULL;

	my_tool(job, &a, "dump_command", dump_tools);
	child_args_add(&a, "--version");
	rc = child_version(&a, buf, len);
	/* Asked during a backup too: what preflight learned stays for the dump. */
	if (ours)
		my_end(job, 0, NULL, 0);
	return rc;
}

static int
my_scratch_name(struct engine_job *job, const char *base, char *buf, size_t len, char *err,
    size_t errlen)
{
	if (!my_single(job, NULL))
		return errf(err, errlen, "verify --restore needs a backup of one database; "
		    "this definition backs up '%s', whose dump names its databases itself",
		    config_get(job->section, "databases"));
	if (strlcpy(buf, base, len) >= len)
		return errf(err, errlen, "%s: too long a name", base);
	return 0;
}

/*
 * The server compares the name as it compares database names: in case too,
 * unless lower_case_table_names is set.
 */
static int
my_exists(struct engine_job *job, const char *database, char *err, size_t errlen)
{
	char	*lit, *script, *out = NULL;
	int	 rc;

	lit = my_hex_literal(database);
	script = xasprintf("SELECT COUNT(*) FROM information_schema.schemata "
	    "WHERE schema_name = %s;\n", lit);
	rc = my_sql(job, NULL, script, 0, &out, err, errlen);
	my_end(job, 0, NULL, 0);
	free(script);
	free(lit);
	if (rc == 0)
		rc = out[0] == '0' ? 0 : 1;
	free(out);
	return rc;
}

/*
 * Exact row counts: a COUNT(*) per base table (and per system-versioned
 * one: its current rows), generated from information_schema, whose
 * TABLE_ROWS is only an estimate for InnoDB.  The generated SQL is read raw;
 * the counts come back escaped as batch mode escapes them, one line per
 * table.  Names go into that SQL as hex literals and `quoted` identifiers,
 * which no sql_mode reads differently.
 */
static int
my_sanity(struct engine_job *job, const char *database, struct engine_sanity *s,
    char *err, size_t errlen)
{
	static const char script[] =
	    "SELECT CONCAT('SELECT _utf8mb4 X''', HEX(table_name), ''', COUNT(*) FROM `',\n"
	    "    REPLACE(table_schema, '`', '``'), '`.`', REPLACE(table_name, '`', '``'),\n"
	    "    '`;') FROM information_schema.tables WHERE table_schema = DATABASE()\n"
	    "    AND table_type IN ('BASE TABLE', 'SYSTEM VERSIONED') ORDER BY table_name;\n";
	char	*gen = NULL, *out = NULL;
	int	 rc;

	memset(s, 0, sizeof(*s));
	rc = my_sql(job, database, script, 1, &gen, err, errlen);
	if (rc == 0 && *gen != '\0')
		rc = my_sql(job, database, gen, 0, &out, err, errlen);
	my_end(job, 0, NULL, 0);
	free(gen);
	return engine_sanity_done(s, rc, out);
}

static int
my_drop(struct engine_job *job, const char *database, char *err, size_t errlen)
{
	char	*ident, *script;
	int	 rc;

	ident = my_ident(database);
	script = xasprintf("DROP DATABASE IF EXISTS %s;\n", ident);
	rc = my_sql(job, NULL, script, 0, NULL, err, errlen);
	my_end(job, 0, NULL, 0);
	free(script);
	free(ident);
	return rc;
}

/* A prefix compared as bytes (LIKE would take _ for a wildcard). */
static int
my_scratch_list(struct engine_job *job, const char *prefix, char ***names, char *err,
    size_t errlen)
{
	char	*lit, *script, *out = NULL;
	int	 rc;

	*names = NULL;
	lit = my_hex_literal(prefix);
	script = xasprintf("SELECT schema_name FROM information_schema.schemata WHERE "
	    "BINARY LEFT(schema_name, CHAR_LENGTH(%s)) = %s ORDER BY 1;\n", lit, lit);
	rc = my_sql(job, NULL, script, 0, &out, err, errlen);
	my_end(job, 0, NULL, 0);
	if (rc == 0)
		*names = engine_lines(out);
	free(out);
	free(script);
	free(lit);
	return rc;
}

/* binlog = archive: what a replay can filter, one database or all of them. */
static int
my_validate(const struct config_section_schema *schema, const struct config_section *s,
    char *err, size_t errlen)
{
	const char	*dbs = config_get(s, "databases");
	char		**w;
	size_t		 n;

	if (!mysql_binlog_archiving(s) || dbs == NULL)
		return 0;
	w = words_split(dbs, &n);
	words_free(w);
	if (n > 1)
		return errf(err, errlen, "binlog = archive: databases must be one database or *, "
		    "not a list (a binary log replay keeps one database's events or every one)");
	return 0;
}

/* The binary log archive's side (engines/mysql.h) */

/* "NAME\tSIZE..." of SHOW BINARY LOGS, split; -1 when the line is not that. */
static int
binlog_line(char *line, char **name, uint64_t *size)
{
	char	*tab = strchr(line, '\t'), *end;

	if (tab == NULL || tab == line)
		return -1;
	*tab = '\0';
	*name = line;
	errno = 0;
	*size = strtoull(tab + 1, &end, 10);
	return errno != 0 || end == tab + 1 ? -1 : 0;
}

int
mysql_binlog_start(struct engine_job *job, const char *want, char *name, size_t len,
    uint64_t *size, char *err, size_t errlen)
{
	char		*out = NULL, *line, *save = NULL, *file;
	uint64_t	 fsize;
	int		 rc, first = 1;

	if (my_binlog_ready(job, err, errlen) == -1)	/* log_bin off: said plainly */
		return -1;
	rc = my_sql(job, NULL, "SHOW BINARY LOGS;\n", 0, &out, err, errlen);
	for (line = rc == 0 ? strtok_r(out, "\n", &save) : NULL; line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (binlog_line(line, &file, &fsize) == -1 || strlen(file) >= len) {
			rc = errf(err, errlen, "SHOW BINARY LOGS gave a line that is no file "
			    "and size");
			break;
		}
		if (first || (want != NULL && strcmp(file, want) == 0)) {
			strlcpy(name, file, len);
			*size = fsize;
		}
		first = 0;
		if (want != NULL && strcmp(file, want) == 0)
			break;
	}
	if (rc == 0 && first)
		rc = errf(err, errlen, "SHOW BINARY LOGS named no file: is log_bin on?");
	free(out);
	return rc;
}

int
mysql_binlog_gtid_pos(struct engine_job *job, char *buf, size_t len, char *err,
    size_t errlen)
{
	char	*out = NULL;
	int	 rc;

	rc = my_sql(job, NULL, "SELECT @@gtid_binlog_pos;\n", 0, &out, err, errlen);
	if (rc == 0) {
		out[strcspn(out, "\n")] = '\0';
		if (strlcpy(buf, out, len) >= len)
			rc = errf(err, errlen, "@@gtid_binlog_pos is longer than %zu bytes", len);
	}
	free(out);
	return rc;
}

int
mysql_binlog_server_id(struct engine_job *job, uint32_t *id, char *err, size_t errlen)
{
	long long	v;

	if (my_sql_number(job, "SELECT @@server_id;\n", 0, UINT32_MAX, &v, err,
	    errlen) == -1)
		return -1;
	*id = (uint32_t)v;
	return 0;
}

int
mysql_binlog_stream_spawn(struct engine_job *job, const char *start, const char *dir,
    struct child *c, char *err, size_t errlen)
{
	struct my_job		*my = my_priv(job);
	struct child_args	 a = { 0 };
	int			 rc;

	if (my_write_optfile(job, err, errlen) == -1)
		return -1;
	my_connection(job, &a, "binlog_command", binlog_tools);
	child_args_add(&a, "--read-from-remote-server");
	child_args_add(&a, "--raw");
	child_args_add(&a, "--stop-never");
	child_args_addf(&a, "--result-file=%s", dir);
	child_args_add(&a, "--");
	child_args_add(&a, start);
	rc = child_spawn(c, child_args_list(&a), NULL, &my->opts, CHILD_STDOUT_PIPE, err,
	    errlen);
	child_args_free(&a);
	return rc;
}

int
mysql_binlog_decode_spawn(struct engine_job *job, const char *const *files,
    uint64_t start_pos, const char *stop_datetime, uint64_t stop_pos, struct child *c,
    char *err, size_t errlen)
{
	static const char *const utc[] = { "TZ=UTC", NULL };
	struct child_args	 a = { 0 };
	const char		*dbs = config_get(job->section, "databases");
	char			*single = NULL;
	size_t			 i;
	int			 rc;

	if (!my_single(job, &single) && strcmp(dbs, "*") != 0)
		return errf(err, errlen, "restore --at with binary logs needs a definition of "
		    "one database or of all (*): this one backs up '%s', and the binary log "
		    "decoder keeps one database or every one", dbs);
	my_tool(job, &a, "binlog_command", binlog_tools);
	if (start_pos > 4)
		child_args_addf(&a, "--start-position=%llu", (unsigned long long)start_pos);
	if (stop_datetime != NULL)
		child_args_addf(&a, "--stop-datetime=%s", stop_datetime);
	if (stop_pos > 0)
		child_args_addf(&a, "--stop-position=%llu", (unsigned long long)stop_pos);
	if (single != NULL && job->database != NULL && strcmp(single, job->database) != 0)
		child_args_addf(&a, "--rewrite-db=%s->%s", single, job->database);
	if (single != NULL)	/* the filter reads the names before the rewrite */
		child_args_addf(&a, "--database=%s", single);
	child_args_add(&a, "--");
	for (i = 0; files[i] != NULL; i++)
		child_args_add(&a, files[i]);
	free(single);
	rc = child_spawn(c, child_args_list(&a), utc, NULL, CHILD_STDOUT_PIPE, err, errlen);
	child_args_free(&a);
	return rc;
}

void
mysql_binlog_done(struct engine_job *job)
{
	my_end(job, 0, NULL, 0);
}

/* What the config schema and the operator read. */
const struct engine_desc engine_mysql_desc = {
	.name = "mysql",
	.keys = mysql_keys,
	.validate = my_validate,
};

const struct engine_ops engine_mysql = {
	.desc = &engine_mysql_desc,
	.preflight = my_preflight,
	.release = my_release,
	.backup_begin = my_backup_begin,
	.backup_end = my_end,
	.restore_begin = my_restore_begin,
	.restore_end = my_end,
	.check = my_check,
	.tool_version = my_tool_version,
	.scratch_name = my_scratch_name,
	.scratch_list = my_scratch_list,
	.exists = my_exists,
	.sanity = my_sanity,
	.drop = my_drop,
};
