/*
 * commands: the command table, its one option parser, and the functions
 * that run each command.  See commands.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/timeparse.h"
#include "common/util.h"
#include "runner/commands.h"
#include "runner/service/control.h"
#include "runner/service/daemon.h"
#include "runner/service/jobrun.h"
#include "runner/wal/walcmd.h"

/* Every option a command can take; a command names those it takes. */
static const struct {
	const char	*name;
	char		 letter;	/* a short form, or 0 */
	const char	*value;		/* the value's name, or NULL: a flag */
	int		 optional;	/* the value only as --name=VALUE, or none */
} options[] = {
	{ "config", 'c', "FILE", 0 },
	{ "verbose", 'v', NULL, 0 },
	{ "quiet", 'q', NULL, 0 },
	{ "help", 'h', NULL, 0 },
	{ "version", 'V', NULL, 0 },
	{ "at", 0, "TIME", 0 },
	{ "database", 0, "NAME", 0 },
	{ "storage", 0, "NAME", 0 },
	{ "output", 'o', "FILE", 0 },
	{ "target", 0, "NAME", 0 },
	{ "count", 0, "N", 0 },
	{ "json", 0, NULL, 0 },
	{ "all", 0, NULL, 0 },
	{ "restore", 0, NULL, 0 },
	{ "dry-run", 0, NULL, 0 },
	{ "skip-damaged", 0, NULL, 0 },
	{ "damaged", 0, NULL, 0 },
	{ "offline", 0, NULL, 0 },
	{ "only", 0, "NAME", 0 },
	{ "globals", 0, "MODE", 1 },
	{ "lsn", 0, "LSN", 0 },
	{ "position", 0, "FILE:POS", 0 },
	{ "gtid", 0, "SET", 0 },
	{ "data-dir", 0, "DIR", 0 },
	{ "jobs", 'j', "N", 0 },
};
#define NOPTIONS	(sizeof(options) / sizeof(options[0]))
#define GLOBAL_OPTIONS	5	/* the first ones: every command takes them */
_Static_assert(NOPTIONS <= sizeof(unsigned long) * 8, "cmd_args.given holds a bit per option");

static int	 cmd_backup(struct cmd_ctx *);
static int	 cmd_restore(struct cmd_ctx *);
static int	 cmd_unpack(struct cmd_ctx *);
static int	 cmd_verify(struct cmd_ctx *);
static int	 cmd_list(struct cmd_ctx *);
static int	 cmd_prune(struct cmd_ctx *);
static int	 cmd_check(struct cmd_ctx *);
static int	 cmd_run(struct cmd_ctx *);
static int	 cmd_schedule(struct cmd_ctx *);
static int	 cmd_trigger_client(struct cmd_ctx *);
static int	 cmd_wal_push(struct cmd_ctx *);
static int	 cmd_wal_get(struct cmd_ctx *);

const struct cmd_entry cmd_table[] = {
	{ "backup", "--once", "", "one backup now (then prune)", "",
	    CMD_LOCK | CMD_STORAGE | CMD_WRITES | CMD_TRIGGER, cmd_backup },
	{ "list", NULL, "[--json] [--storage NAME]", "the backups and their labels",
	    "json storage", CMD_STORAGE, cmd_list },
	{ "restore", NULL, "[ID | latest | --at TIME | --lsn LSN | --position FILE:POS | "
	    "--gtid SET] [--only NAME]... [--globals[=replace|skip]] [--database NAME | --data-dir DIR] "
	    "[--jobs N] [--storage NAME] [--skip-damaged] [--dry-run]", "restore a backup "
	    "into the database (or server), or a physical one into a data directory",
	    "at lsn position gtid only globals database data-dir jobs storage skip-damaged dry-run",
	    CMD_LOCK | CMD_STORAGE | CMD_WRITES | CMD_TRIGGER | CMD_WHICH, cmd_restore },
	{ "unpack", NULL, "[ID | latest | --at TIME] [--only NAME]... [--storage NAME] "
	    "[--skip-damaged] -o FILE|DIR|-", "the plain dump (or one file per part), verified",
	    "at only storage skip-damaged output", CMD_STORAGE | CMD_WHICH, cmd_unpack },
	{ "verify", NULL, "[ID | latest | --at TIME | --all] [--restore [--target NAME] "
	    "[--only NAME]...] [--storage NAME] [--skip-damaged]",
	    "check every frame; --restore: a test restore into a scratch database",
	    "at all restore target only storage skip-damaged", CMD_STORAGE | CMD_WHICH,
	    cmd_verify },
	{ "prune", NULL, "[--dry-run] [--damaged]", "delete what no retention label holds",
	    "dry-run damaged", CMD_LOCK | CMD_STORAGE | CMD_WRITES, cmd_prune },
	{ "check", NULL, "[--offline]", "config, database and storage reachable",
	    "offline", CMD_STORAGE, cmd_check },
	{ "run", NULL, "", "daemon: schedule, /metrics, control socket", "",
	    CMD_LOCK | CMD_STORAGE | CMD_WRITES, cmd_run },
	{ "schedule", NULL, "[--count N]", "the next runs and the OnCalendar= line", "count",
	    0, cmd_schedule },
	{ "trigger", NULL, "backup | restore ARGS... | status", "ask the running daemon",
	    "", 0, cmd_trigger_client },
	{ "wal-push", NULL, "PATH", "archive one WAL file (PostgreSQL's archive_command)", "",
	    CMD_STORAGE | CMD_WRITES | CMD_ARGS, cmd_wal_push },
	{ "wal-get", NULL, "NAME PATH [--storage NAME]",
	    "fetch one WAL file from the archive (PostgreSQL's restore_command)", "storage",
	    CMD_STORAGE | CMD_ARGS | CMD_RESTORE_COMMAND, cmd_wal_get },
	{ NULL, NULL, NULL, NULL, NULL, 0, NULL }
};

const struct cmd_entry *
cmd_find(const char *name)
{
	const struct cmd_entry	*e;

	for (e = cmd_table; e->name != NULL; e++)
		if (strcmp(e->name, name) == 0 || (e->alias != NULL &&
		    strcmp(e->alias, name) == 0))
			return e;
	return NULL;
}

/* Whether the blank-separated list names word. */
static int
names(const char *list, const char *word)
{
	size_t	len = strlen(word);

	while (*list != '\0') {
		while (*list == ' ')
			list++;
		if (strncmp(list, word, len) == 0 && (list[len] == ' ' || list[len] == '\0'))
			return 1;
		list += strcspn(list, " ");
	}
	return 0;
}

static int
find_option(const char *word, int *idx, const char **inline_value)
{
	size_t	i, len;

	*inline_value = NULL;
	if (word[0] == '-' && word[1] != '-' && word[1] != '\0' && word[2] == '\0') {
		for (i = 0; i < NOPTIONS; i++)
			if (options[i].letter == word[1]) {
				*idx = (int)i;
				return 0;
			}
		return -1;
	}
	if (strncmp(word, "--", 2) != 0)
		return -1;
	len = strcspn(word + 2, "=");
	for (i = 0; i < NOPTIONS; i++)
		if (strlen(options[i].name) == len && strncmp(options[i].name, word + 2,
		    len) == 0) {
			*idx = (int)i;
			if (word[2 + len] == '=')
				*inline_value = word + 3 + len;
			return 0;
		}
	return -1;
}

/* --only NAME, once per database. */
static int
add_only(struct restore_request *req, const char *name, char *err, size_t errlen)
{
	size_t	i;

	if (*name == '\0')
		return errf(err, errlen, "--only needs a database name");
	for (i = 0; i < req->nonly; i++)
		if (strcmp(req->only[i], name) == 0)
			return errf(err, errlen, "--only %s given twice", name);
	if (req->nonly == RESTORE_ONLY_MAX)
		return errf(err, errlen, "--only: at most %d databases (a whole restore takes "
		    "every one)", RESTORE_ONLY_MAX);
	req->only[req->nonly++] = name;
	return 0;
}

/* --globals (missing), --globals=missing|replace|skip. */
static int
set_globals(struct restore_request *req, const char *mode, char *err, size_t errlen)
{
	if (mode == NULL || strcmp(mode, "missing") == 0)
		req->globals = RESTORE_GLOBALS_MISSING;
	else if (strcmp(mode, "replace") == 0)
		req->globals = RESTORE_GLOBALS_REPLACE;
	else if (strcmp(mode, "skip") == 0)
		req->globals = RESTORE_GLOBALS_SKIP;
	else
		return errf(err, errlen, "--globals=%s: expected --globals, --globals=replace or "
		    "--globals=skip", mode);
	return 0;
}

static int
set_option(struct cmd_args *a, const char *name, const char *value, char *err,
    size_t errlen)
{
	const char	*errstr;

	if (strcmp(name, "config") == 0) a->config = value;
	else if (strcmp(name, "verbose") == 0) a->verbose = 1;
	else if (strcmp(name, "quiet") == 0) a->quiet = 1;
	else if (strcmp(name, "help") == 0) a->help = 1;
	else if (strcmp(name, "version") == 0) a->version = 1;
	else if (strcmp(name, "at") == 0) a->req.at = value;
	else if (strcmp(name, "database") == 0) a->req.database = value;
	else if (strcmp(name, "storage") == 0) a->req.storage = value;
	else if (strcmp(name, "output") == 0) a->req.output = value;
	else if (strcmp(name, "target") == 0) a->target = value;
	else if (strcmp(name, "json") == 0) a->json = 1;
	else if (strcmp(name, "all") == 0) a->all = 1;
	else if (strcmp(name, "restore") == 0) a->restore = 1;
	else if (strcmp(name, "dry-run") == 0) a->req.dry_run = 1;
	else if (strcmp(name, "skip-damaged") == 0) a->req.skip_damaged = 1;
	else if (strcmp(name, "damaged") == 0) a->damaged = 1;
	else if (strcmp(name, "offline") == 0) a->offline = 1;
	else if (strcmp(name, "lsn") == 0) a->req.lsn = value;
	else if (strcmp(name, "position") == 0) a->req.position = value;
	else if (strcmp(name, "gtid") == 0) a->req.gtid = value;
	else if (strcmp(name, "data-dir") == 0) a->req.data_dir = value;
	else if (strcmp(name, "only") == 0) return add_only(&a->req, value, err, errlen);
	else if (strcmp(name, "globals") == 0) return set_globals(&a->req, value, err, errlen);
	else if (strcmp(name, "jobs") == 0) {
		a->req.jobs = (unsigned)strtonum(value, 1, ENGINE_RESTORE_JOBS_MAX, &errstr);
		if (errstr != NULL)
			return errf(err, errlen, "--jobs %s is %s (1-%d)", value, errstr,
			    ENGINE_RESTORE_JOBS_MAX);
	} else if (strcmp(name, "count") == 0) {
		a->count = (int)strtonum(value, 1, 1000, &errstr);
		if (errstr != NULL)
			return errf(err, errlen, "--count %s is %s (1-1000)", value, errstr);
	}
	return 0;
}

/* One option at argv[*i]; the command (if known) must take it. */
static int
parse_option(struct cmd_args *a, int argc, char **argv, int *i, char *err, size_t errlen)
{
	const char	*value;
	int		 o;

	if (find_option(argv[*i], &o, &value) == -1)
		return errf(err, errlen, "unknown option '%s'", argv[*i]);
	if (o >= (int)GLOBAL_OPTIONS && a->entry != NULL &&
	    !names(a->entry->options, options[o].name))
		return errf(err, errlen, "%s takes no --%s", a->entry->name, options[o].name);
	if (options[o].value == NULL && value != NULL)
		return errf(err, errlen, "--%s takes no value", options[o].name);
	if (options[o].value != NULL && value == NULL && !options[o].optional) {
		if (*i + 1 >= argc)
			return errf(err, errlen, "--%s needs a value (%s)", options[o].name,
			    options[o].value);
		value = argv[++*i];
	}
	/* An empty value reaches nothing as meant: "-o ''" was a file named "". */
	if (value != NULL && *value == '\0' && !options[o].optional)
		return errf(err, errlen, "--%s needs a value (%s), not an empty one",
		    options[o].name, options[o].value);
	/* The second of two values would silently win over the first. */
	if (options[o].value != NULL && strcmp(options[o].name, "only") != 0 &&
	    (a->given & (1UL << o)))
		return errf(err, errlen, "--%s given twice", options[o].name);
	a->given |= 1UL << o;
	return set_option(a, options[o].name, value, err, errlen);
}

/* Rules across options and words, the same wherever the words come from. */
static int
check_args(struct cmd_args *a, char *err, size_t errlen)
{
	const char	*name = a->entry->name;

	/* A physical restore may start from a named base backup and recover to a target. */
	if (a->req.which != NULL && (a->req.at != NULL || a->req.lsn != NULL) &&
	    (a->req.data_dir == NULL || strcmp(a->req.which, "latest") == 0))
		return errf(err, errlen, "give a backup ID or --at TIME, not both (a base "
		    "backup's ID and a target go with --data-dir)");
	if (a->req.at != NULL && a->req.lsn != NULL)
		return errf(err, errlen, "give --at TIME or --lsn LSN, not both");
	if (a->req.position != NULL && (a->req.at != NULL || a->req.lsn != NULL ||
	    a->req.data_dir != NULL))
		return errf(err, errlen, "--position FILE:POS (a binary log position) goes with "
		    "neither --at, --lsn nor --data-dir");
	if (a->req.gtid != NULL && (a->req.at != NULL || a->req.lsn != NULL ||
	    a->req.position != NULL || a->req.data_dir != NULL))
		return errf(err, errlen, "--gtid SET (a MariaDB GTID position) goes with "
		    "neither --at, --lsn, --position nor --data-dir");
	if (a->req.lsn != NULL && a->req.data_dir == NULL)
		return errf(err, errlen, "--lsn goes with --data-dir (a physical restore)");
	if (a->req.data_dir != NULL && (a->req.database != NULL || a->req.nonly > 0 ||
	    a->req.globals != RESTORE_GLOBALS_DEFAULT))
		return errf(err, errlen, "--data-dir restores a whole cluster: not with "
		    "--database, --only or --globals");
	if (a->req.data_dir != NULL && a->req.jobs > 0)
		return errf(err, errlen, "--jobs goes with a restore into the database "
		    "(pg_restore -j), not with --data-dir");
	if (strcmp(name, "wal-push") == 0 && a->nargs != 1 && !a->help)
		return errf(err, errlen, "wal-push takes the path of one WAL file (%%p)");
	if (strcmp(name, "wal-get") == 0 && a->nargs != 2 && !a->help)
		return errf(err, errlen, "wal-get takes a WAL file's name and where it goes "
		    "(%%f %%p)");
	if (strcmp(name, "unpack") == 0 && a->req.output == NULL && !a->help)
		return errf(err, errlen, "unpack needs -o FILE or -o -");
	if (a->target != NULL && !a->restore)
		return errf(err, errlen, "--target goes with verify --restore");
	if (a->restore && (a->all || a->req.at != NULL))
		return errf(err, errlen, "verify --restore takes one backup: an ID or latest");
	if (a->all && a->req.which != NULL)
		return errf(err, errlen, "give a backup ID or --all, not both");
	if (a->req.nonly > 0 && strcmp(name, "verify") == 0 && !a->restore)
		return errf(err, errlen, "--only goes with verify --restore (verify checks "
		    "every part)");
	if (a->req.database != NULL && a->req.nonly > 1)
		return errf(err, errlen, "--database takes one database: give one --only NAME");
	if (strcmp(name, "trigger") == 0 && a->wordc < 1 && !a->help)
		return errf(err, errlen, "trigger needs backup, restore ARGS... or status");
	return 0;
}

static void
args_init(struct cmd_args *a)
{
	memset(a, 0, sizeof(*a));
	a->config = "/etc/kbackup/kbackup.conf";
	a->count = 5;
}

/* The command word's index (first word that is no option nor an option's value), or -1. */
static int
find_command(int argc, char **argv)
{
	const char	*value;
	int		 i, o;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--once") == 0 || argv[i][0] != '-' || argv[i][1] == '\0')
			return i;
		if (find_option(argv[i], &o, &value) == 0 && options[o].value != NULL &&
		    value == NULL && !options[o].optional)
			i++;
	}
	return -1;
}

int
cmd_parse_argv(int argc, char **argv, struct cmd_args *a, char *err, size_t errlen)
{
	int	i, c;

	args_init(a);
	/* The command first, so that every option is checked against it. */
	if ((c = find_command(argc, argv)) != -1 && (a->entry = cmd_find(argv[c])) == NULL)
		return errf(err, errlen, "unknown command '%s'", argv[c]);
	for (i = 1; i < argc; i++) {
		if (i == c)
			continue;
		if (i > c && c != -1 && strcmp(a->entry->name, "trigger") == 0) {
			a->wordc = argc - i;	/* its words, untouched */
			a->wordv = argv + i;
			break;
		}
		if (strcmp(argv[i], "--once") == 0)
			return errf(err, errlen, "two commands: %s and --once", a->entry->name);
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			if (parse_option(a, argc, argv, &i, err, errlen) == -1)
				return -1;
		} else if (a->entry != NULL && (a->entry->flags & CMD_WHICH) &&
		    a->req.which == NULL)
			a->req.which = argv[i];
		else if (a->entry != NULL && (a->entry->flags & CMD_ARGS) && a->nargs < 2)
			a->argv[a->nargs++] = argv[i];
		else
			return errf(err, errlen, "unexpected argument '%s'", argv[i]);
	}
	if (a->entry == NULL)
		return a->help || a->version ? 0 : errf(err, errlen, "no command given");
	return check_args(a, err, errlen);
}

int
cmd_parse_words(int argc, char **argv, struct cmd_args *a, char *err, size_t errlen)
{
	int	i;

	args_init(a);
	if (argc < 1 || (a->entry = cmd_find(argv[0])) == NULL)
		return errf(err, errlen, "unknown request: %s", argc > 0 ? argv[0] : "");
	for (i = 1; i < argc; i++) {
		if (argv[i][0] == '-') {
			if (parse_option(a, argc, argv, &i, err, errlen) == -1)
				return -1;
		} else if ((a->entry->flags & CMD_WHICH) && a->req.which == NULL)
			a->req.which = argv[i];
		else
			return errf(err, errlen, "%s: unexpected argument %s", argv[0], argv[i]);
	}
	if (a->config != NULL && strcmp(a->config, "/etc/kbackup/kbackup.conf") != 0)
		return errf(err, errlen, "-c is the daemon's own");
	/* Nobody asks for a usage and means a restore over the database. */
	if (a->help || a->version)
		return errf(err, errlen, "%s: --help and --version are not requests to the "
		    "daemon (kbackup-runner --help shows the usage)", argv[0]);
	return check_args(a, err, errlen);
}

/* A restore into a new data directory writes nothing of the definition's: no lock. */
int
cmd_takes_lock(const struct cmd_args *a)
{
	return (a->entry->flags & CMD_LOCK) && !a->req.dry_run && a->req.data_dir == NULL;
}

int
cmd_opens_storage(const struct cmd_args *a)
{
	return (a->entry->flags & CMD_STORAGE) && !a->offline;
}

int
cmd_check_values(struct runner *r, const struct cmd_args *a, char *err, size_t errlen)
{
	time_t	at;

	if (a->req.at != NULL && time_parse(a->req.at, config_get(r->backup, "timezone"),
	    &at, err, errlen) == -1)
		return errprefix(err, errlen, "--at");
	return 0;
}

void
cmd_usage(FILE *f)
{
	const struct cmd_entry	*e;
	char			 line[256];

	fprintf(f, "usage: kbackup-runner [-c FILE] [-v | -q] COMMAND [ARGS]\n\n");
	for (e = cmd_table; e->name != NULL; e++) {
		snprintf(line, sizeof(line), "%s%s%s %s", e->alias != NULL ? e->alias : "",
		    e->alias != NULL ? " | " : "", e->name, e->usage);
		fprintf(f, "  %s\n      %s\n", line, e->summary);
	}
	fprintf(f, "\nExit status: 0 success, 1 the job failed, 2 usage or config error.\n"
	    "See kbackup-runner(8) and kbackup.conf(5).\n");
}

/* The commands. */

static int
in_jobrun(struct cmd_ctx *ctx, int (*fn)(struct jobrun *, struct cmd_ctx *))
{
	struct jobrun	own;
	int		rc;

	if (ctx->jr != NULL)
		return fn(ctx->jr, ctx);
	jobrun_init(&own, ctx->r, time(NULL));
	rc = fn(&own, ctx);
	jobrun_free(&own);
	return rc;
}

static int
backup_in(struct jobrun *jr, struct cmd_ctx *ctx)
{
	return jobrun_backup(jr, ctx->res);
}

static int
cmd_backup(struct cmd_ctx *ctx)
{
	return in_jobrun(ctx, backup_in);
}

static int
restore_in(struct jobrun *jr, struct cmd_ctx *ctx)
{
	return jobrun_restore(jr, &ctx->args->req);
}

/* A dry run only reads: no hooks, no notifications, no metrics. */
static int
cmd_restore(struct cmd_ctx *ctx)
{
	if (ctx->args->req.dry_run)
		return job_restore(ctx->r, &ctx->args->req);
	return in_jobrun(ctx, restore_in);
}

static int
cmd_unpack(struct cmd_ctx *ctx)
{
	return job_unpack(ctx->r, &ctx->args->req);
}

static int
cmd_verify(struct cmd_ctx *ctx)
{
	if (ctx->args->restore)
		return job_verify_restore(ctx->r, &ctx->args->req, ctx->args->target);
	return job_verify(ctx->r, &ctx->args->req, ctx->args->all);
}

static int
cmd_list(struct cmd_ctx *ctx)
{
	return job_list(ctx->r, ctx->args->req.storage, ctx->args->json);
}

static int
cmd_prune(struct cmd_ctx *ctx)
{
	struct prune_request	pr;

	pr.dry_run = ctx->args->req.dry_run;
	pr.damaged = ctx->args->damaged;
	return job_prune(ctx->r, NULL, &pr);
}

static int
cmd_check(struct cmd_ctx *ctx)
{
	return job_check(ctx->r, ctx->args->offline);
}

static int
cmd_run(struct cmd_ctx *ctx)
{
	return daemon_run(ctx->r, ctx->args->config, cmd_trigger);
}

static int
cmd_schedule(struct cmd_ctx *ctx)
{
	return daemon_schedule_print(ctx->r, ctx->args->count, stdout);
}

static int
cmd_wal_push(struct cmd_ctx *ctx)
{
	return job_wal_push(ctx->r, ctx->args->argv[0]);
}

static int
cmd_wal_get(struct cmd_ctx *ctx)
{
	return job_wal_get(ctx->r, ctx->args->argv[0], ctx->args->argv[1],
	    ctx->args->req.storage);
}

static int
cmd_trigger_client(struct cmd_ctx *ctx)
{
	char	err[KB_ERRLEN];
	int	rc;

	rc = control_client(ctx->r->control_path, ctx->r->base, ctx->args->wordc,
	    ctx->args->wordv, stdout, err, sizeof(err));
	if (rc == -1) {
		fprintf(stderr, "kbackup-runner: %s\n", err);
		return EXIT_JOB;
	}
	return rc;
}

int
cmd_trigger(struct runner *r, struct jobrun *jr, int argc, char **argv,
    struct job_result *res)
{
	struct cmd_args	a;
	struct cmd_ctx	ctx;
	char		err[KB_ERRLEN];

	if (cmd_parse_words(argc, argv, &a, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "bad request", "error", err, NULL);
		return EXIT_USAGE;
	}
	if (!(a.entry->flags & CMD_TRIGGER)) {
		log_kv(LOGL_ERROR, "bad request", "error", "not a command the daemon runs",
		    "command", a.entry->name, NULL);
		return EXIT_USAGE;
	}
	if (cmd_check_values(r, &a, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "bad request", "error", err, NULL);
		return EXIT_USAGE;
	}
	if (a.req.storage != NULL && runner_location(r, a.req.storage) == NULL) {
		log_kv(LOGL_ERROR, "no such storage location", "storage", a.req.storage, NULL);
		return EXIT_USAGE;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.r = r;
	ctx.args = &a;
	ctx.jr = jr;
	ctx.res = res;
	return a.entry->exec(&ctx);
}
