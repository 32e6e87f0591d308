/*
 * kbackup-runner: the command line.  Parses options, loads and checks the
 * config (exit 2 on any error, before anything runs), takes the
 * definition's lock where a command writes, and hands over to runner/jobs.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "engines/child.h"
#include "runner/jobs.h"
#include "runner/lock.h"
#include "runner/schema.h"

#define DEFAULT_CONFIG "/etc/kbackup/kbackup.conf"

struct cli {
	const char		*config;
	const char		*command;
	struct restore_request	 req;
	int			 json;
	int			 all;
	int			 offline;
	int			 verbose;
	int			 quiet;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: kbackup-runner [-c FILE] [-v | -q] COMMAND [ARGS]\n"
	    "\n"
	    "  --once | backup                 one backup now (then prune)\n"
	    "  list [--json] [--storage NAME]  the backups and their labels\n"
	    "  restore [ID | latest | --at TIME] [--database NAME] [--dry-run]\n"
	    "  unpack [ID | latest] -o FILE|-  the plain dump, verified\n"
	    "  verify [ID | latest | --all]    check every frame, no database needed\n"
	    "  prune [--dry-run]               delete what no retention label holds\n"
	    "  check [--offline]               config, database and storage reachable\n"
	    "\n"
	    "Exit status: 0 success, 1 the job failed, 2 usage or config error.\n"
	    "See kbackup-runner(8) and kbackup.conf(5).\n");
}

static int
parse_cli(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, '1' },
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "at", required_argument, NULL, 't' },
		{ "database", required_argument, NULL, 'd' },
		{ "storage", required_argument, NULL, 's' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "offline", no_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int	ch;

	memset(cli, 0, sizeof(*cli));
	cli->config = DEFAULT_CONFIG;
	while ((ch = getopt_long(argc, argv, "c:o:vqh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': cli->config = optarg; break;
		case '1': cli->command = "backup"; break;
		case 'j': cli->json = 1; break;
		case 'a': cli->all = 1; break;
		case 't': cli->req.at = optarg; break;
		case 'd': cli->req.database = optarg; break;
		case 's': cli->req.storage = optarg; break;
		case 'n': cli->req.dry_run = 1; break;
		case 'f': cli->offline = 1; break;
		case 'o': cli->req.output = optarg; break;
		case 'v': cli->verbose = 1; break;
		case 'q': cli->quiet = 1; break;
		case 'h': usage(stdout); exit(EXIT_OK);
		case 'V': printf("kbackup-runner %s\n", KBACKUP_VERSION); exit(EXIT_OK);
		default: return -1;
		}
	}
	if (cli->command == NULL) {
		if (optind >= argc) {
			fprintf(stderr, "kbackup-runner: no command given\n");
			return -1;
		}
		cli->command = argv[optind++];
	}
	if (optind < argc)
		cli->req.which = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "kbackup-runner: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (cli->req.which != NULL && cli->req.at != NULL) {
		fprintf(stderr, "kbackup-runner: give a backup ID or --at TIME, not both\n");
		return -1;
	}
	return 0;
}

static void
setup_logging(const struct cli *cli, const struct config *cfg)
{
	const struct config_section	*b = config_section(cfg, "backup");
	const char			*level = config_get(b, "log_level");
	enum log_format			 fmt;

	if (log_parse_format(config_get(b, "log_format"), &fmt) == 0)
		log_set_format(fmt);
	if (cli->verbose)
		log_set_level(LOGL_DEBUG);
	else if (cli->quiet)
		log_set_level(LOGL_ERROR);
	else if (strcmp(level, "error") == 0)
		log_set_level(LOGL_ERROR);
	else if (strcmp(level, "warn") == 0)
		log_set_level(LOGL_WARN);
	else if (strcmp(level, "debug") == 0)
		log_set_level(LOGL_DEBUG);
}

static int
command_takes_lock(const char *command)
{
	return strcmp(command, "backup") == 0 || strcmp(command, "restore") == 0 ||
	    strcmp(command, "prune") == 0;
}

static int
dispatch(struct runner *r, const struct cli *cli)
{
	struct job_result	res;
	const char		*c = cli->command;

	if (strcmp(c, "backup") == 0) {
		/* Prune only after a successful backup. */
		if (job_backup(r, &res) != EXIT_OK)
			return EXIT_JOB;
		return job_prune(r, 0);
	}
	if (strcmp(c, "prune") == 0)
		return job_prune(r, cli->req.dry_run);
	if (strcmp(c, "restore") == 0)
		return job_restore(r, &cli->req);
	if (strcmp(c, "unpack") == 0) {
		if (cli->req.output == NULL) {
			fprintf(stderr, "kbackup-runner: unpack needs -o FILE or -o -\n");
			return EXIT_USAGE;
		}
		return job_unpack(r, &cli->req);
	}
	if (strcmp(c, "verify") == 0)
		return job_verify(r, &cli->req, cli->all);
	if (strcmp(c, "list") == 0)
		return job_list(r, cli->req.storage, cli->json);
	if (strcmp(c, "check") == 0)
		return job_check(r, cli->offline);
	fprintf(stderr, "kbackup-runner: unknown command '%s'\n", c);
	usage(stderr);
	return EXIT_USAGE;
}

static int
known_command(const char *c)
{
	static const char *commands[] = { "backup", "restore", "unpack", "verify", "list",
	    "check", "prune", NULL };
	size_t		   i;

	for (i = 0; commands[i] != NULL; i++)
		if (strcmp(commands[i], c) == 0)
			return 1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct cli	 cli;
	struct config	*cfg;
	struct runner	 r;
	char		 err[KB_ERRLEN];
	int		 lock = -1, rc;

	signal(SIGPIPE, SIG_IGN);
	if (parse_cli(argc, argv, &cli) == -1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!known_command(cli.command)) {
		fprintf(stderr, "kbackup-runner: unknown command '%s'\n", cli.command);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (runner_config_load(cli.config, &cfg, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "invalid configuration", "error", err, NULL);
		return EXIT_USAGE;
	}
	setup_logging(&cli, cfg);
	child_set_env_denylist(config_secret_env_names(cfg));
	runner_init(&r, cfg);
	if (strcmp(cli.command, "check") == 0 && cli.offline) {
		rc = job_check(&r, 1);
		runner_free(&r);
		return rc;
	}
	if (command_takes_lock(cli.command) && !cli.req.dry_run &&
	    (lock = lock_acquire(r.workdir, r.namespace_, r.name, err, sizeof(err))) == -1) {
		log_kv(LOGL_ERROR, "not started", "error", err, NULL);
		runner_free(&r);
		return EXIT_JOB;
	}
	if (runner_open_storage(&r, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "cannot open storage", "error", err, NULL);
		rc = EXIT_JOB;
	} else
		rc = dispatch(&r, &cli);
	lock_release(lock);
	runner_free(&r);
	return rc;
}
