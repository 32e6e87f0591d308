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
#include <time.h>
#include <unistd.h>

#include "common/cancel.h"
#include "common/log.h"
#include "common/util.h"
#include "common/proc.h"
#include "runner/service/control.h"
#include "runner/service/daemon.h"
#include "runner/service/jobrun.h"
#include "runner/cmd/jobs.h"
#include "runner/lock.h"
#include "runner/schema.h"

#define DEFAULT_CONFIG "/etc/kbackup/kbackup.conf"

struct cli {
	const char		*config;
	const char		*command;
	struct restore_request	 req;
	int			 json;
	int			 all;
	int			 restore;	/* verify --restore */
	const char		*target;	/* verify --restore --target NAME */
	int			 offline;
	int			 damaged;	/* prune --damaged */
	int			 verbose;
	int			 quiet;
	int			 count;		/* schedule --count */
	int			 targc;		/* trigger's request words */
	char			**targv;
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
	    "          [--skip-damaged]        pass over damaged backups for latest/--at\n"
	    "  unpack [ID | latest] -o FILE|-  the plain dump, verified\n"
	    "  verify [ID | latest | --all]    check every frame, no database needed\n"
	    "  verify --restore [ID | latest] [--target NAME]\n"
	    "                                  test restore into a scratch database\n"
	    "  prune [--dry-run] [--damaged]   delete what no retention label holds\n"
	    "  check [--offline]               config, database and storage reachable\n"
	    "  run                             daemon: schedule, /metrics, control socket\n"
	    "  schedule [--count N]            the next runs and the OnCalendar= line\n"
	    "  trigger backup|restore ARGS|status   ask the running daemon\n"
	    "\n"
	    "Exit status: 0 success, 1 the job failed, 2 usage or config error.\n"
	    "See kbackup-runner(8) and kbackup.conf(5).\n");
}

/*
 * Index of a "trigger" command word, or -1: the first word that is neither
 * an option nor the value of -c/--config.
 */
static int
find_trigger(int argc, char **argv)
{
	int	i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return i + 1 < argc && strcmp(argv[i + 1], "trigger") == 0 ? i + 1 : -1;
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) {
			i++;
			continue;
		}
		if (argv[i][0] == '-')
			continue;
		return strcmp(argv[i], "trigger") == 0 ? i : -1;
	}
	return -1;
}

static int
parse_cli(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, '1' },
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "restore", no_argument, NULL, 'R' },
		{ "target", required_argument, NULL, 'T' },
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
		{ "count", required_argument, NULL, 'C' },
		{ "skip-damaged", no_argument, NULL, 'S' },
		{ "damaged", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*errstr;
	int		 ch, t;

	memset(cli, 0, sizeof(*cli));
	cli->config = DEFAULT_CONFIG;
	cli->count = 5;
	/* trigger passes its words on untouched: parse only what comes before it. */
	if ((t = find_trigger(argc, argv)) != -1) {
		cli->targc = argc - t - 1;
		cli->targv = argv + t + 1;
		argc = t + 1;
	}
	while ((ch = getopt_long(argc, argv, "c:o:vqh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': cli->config = optarg; break;
		case '1': cli->command = "backup"; break;
		case 'j': cli->json = 1; break;
		case 'a': cli->all = 1; break;
		case 'R': cli->restore = 1; break;
		case 'T': cli->target = optarg; break;
		case 't': cli->req.at = optarg; break;
		case 'd': cli->req.database = optarg; break;
		case 's': cli->req.storage = optarg; break;
		case 'n': cli->req.dry_run = 1; break;
		case 'f': cli->offline = 1; break;
		case 'o': cli->req.output = optarg; break;
		case 'S': cli->req.skip_damaged = 1; break;
		case 'D': cli->damaged = 1; break;
		case 'v': cli->verbose = 1; break;
		case 'q': cli->quiet = 1; break;
		case 'h': usage(stdout); exit(EXIT_OK);
		case 'V': printf("kbackup-runner %s\n", KBACKUP_VERSION); exit(EXIT_OK);
		case 'C':
			cli->count = (int)strtonum(optarg, 1, 1000, &errstr);
			if (errstr != NULL) {
				fprintf(stderr, "kbackup-runner: --count %s is %s (1-1000)\n",
				    optarg, errstr);
				return -1;
			}
			break;
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
	if (strcmp(cli->command, "trigger") == 0) {
		if (cli->targc < 1) {
			fprintf(stderr, "kbackup-runner: trigger needs backup, restore ARGS... "
			    "or status\n");
			return -1;
		}
		return 0;
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
	    strcmp(command, "run") == 0 ||
	    strcmp(command, "prune") == 0;
}

static void
on_cancel_signal(int sig)
{
	(void)sig;
	cancel_request();
}

/* A job given on the command line is aborted cleanly by SIGTERM or SIGINT (exit 1). */
static void
cancel_signals(void)
{
	struct sigaction	sa;

	cancel_init();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_cancel_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

/* backup and restore from the command line, with hooks, notify and metrics. */
static int
wrapped_job(struct runner *r, const struct cli *cli)
{
	struct jobrun	jr;
	int		rc;

	jobrun_init(&jr, r, time(NULL));
	if (strcmp(cli->command, "backup") == 0)
		rc = jobrun_backup(&jr, NULL);
	else
		rc = jobrun_restore(&jr, &cli->req);
	jobrun_free(&jr);
	return rc;
}

static int
dispatch(struct runner *r, const struct cli *cli)
{
	const char		*c = cli->command;

	if (strcmp(c, "backup") == 0 || (strcmp(c, "restore") == 0 && !cli->req.dry_run))
		return wrapped_job(r, cli);
	if (strcmp(c, "prune") == 0) {
		struct prune_request	pr = { cli->req.dry_run, cli->damaged };

		return job_prune(r, NULL, &pr);
	}
	if (strcmp(c, "restore") == 0)
		return job_restore(r, &cli->req);
	if (strcmp(c, "run") == 0)
		return daemon_run(r, cli->config);
	if (strcmp(c, "unpack") == 0) {
		if (cli->req.output == NULL) {
			fprintf(stderr, "kbackup-runner: unpack needs -o FILE or -o -\n");
			return EXIT_USAGE;
		}
		return job_unpack(r, &cli->req);
	}
	if (cli->restore && strcmp(c, "verify") != 0) {
		fprintf(stderr, "kbackup-runner: --restore goes with verify\n");
		return EXIT_USAGE;
	}
	if (strcmp(c, "verify") == 0 && cli->restore) {
		if (cli->all || cli->req.at != NULL) {
			fprintf(stderr, "kbackup-runner: verify --restore takes one backup: "
			    "an ID or latest\n");
			return EXIT_USAGE;
		}
		return job_verify_restore(r, &cli->req, cli->target);
	}
	if (cli->target != NULL) {
		fprintf(stderr, "kbackup-runner: --target goes with verify --restore\n");
		return EXIT_USAGE;
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
	    "check", "run", "schedule", "trigger",
	    "prune", NULL };
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
	if (strcmp(cli.command, "schedule") == 0) {
		rc = daemon_schedule_print(&r, cli.count, stdout);
		runner_free(&r);
		return rc;
	}
	if (strcmp(cli.command, "trigger") == 0) {
		rc = control_client(r.control_path, r.base, cli.targc, cli.targv, stdout, err,
		    sizeof(err));
		if (rc == -1) {
			fprintf(stderr, "kbackup-runner: %s\n", err);
			rc = EXIT_JOB;
		}
		runner_free(&r);
		return rc;
	}
	if (strcmp(cli.command, "run") != 0)
		cancel_signals();
	if (command_takes_lock(cli.command) && !cli.req.dry_run) {
		if ((lock = lock_acquire(r.state_dir, r.base, err, sizeof(err))) == -1 ||
		    runner_state_open(&r, err, sizeof(err)) == -1) {
			log_kv(LOGL_ERROR, "not started", "error", err, NULL);
			lock_release(lock);
			runner_free(&r);
			return EXIT_JOB;
		}
		runner_state_sweep(&r);
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
