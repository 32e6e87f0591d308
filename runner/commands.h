/*
 * commands: the table of kbackup-runner's commands, as tmux's cmd_entry is.
 *
 * Each command says here, once, what it is: its name, usage line and
 * summary (--help is printed from them, and a unit test holds the SYNOPSIS
 * of kbackup-runner(8) to the same), the options it takes, whether it
 * takes the definition's lock, opens the storage locations or writes
 * anything, and the function that runs it.  The command line and the
 * daemon's control socket parse a command's words with the same
 * cmd_parse(), and the daemon runs triggered jobs through the same
 * functions, so a trigger takes exactly the options the command line does.
 *
 * Exit statuses (kbackup-runner(8)): EXIT_OK; EXIT_JOB when the job
 * failed; EXIT_USAGE when the words or the config are wrong -- decided
 * before anything runs.
 */
#ifndef KB_COMMANDS_H
#define KB_COMMANDS_H

#include <stdio.h>

#include "runner/cmd/jobs.h"
#include "runner/runner.h"

struct jobrun;

#define CMD_LOCK	0x1	/* takes the definition's lock (not with --dry-run) */
#define CMD_STORAGE	0x2	/* opens the storage locations (not check --offline) */
#define CMD_WRITES	0x4	/* writes to storage or a database (else read-only) */
#define CMD_TRIGGER	0x8	/* the daemon runs it on "trigger" */
#define CMD_WHICH	0x10	/* takes one ID or "latest" */
#define CMD_NOCONFIG	0x20	/* runs without reading the config */
#define CMD_ARGS	0x40	/* takes words of its own: wal-push PATH, wal-get NAME PATH */
/*
 * PostgreSQL's restore_command: every failure but "not in the archive"
 * (exit 1) exits EXIT_WAL_REFUSED, which stops recovery (runner/wal/walcmd.h).
 */
#define CMD_RESTORE_COMMAND 0x80

/* What a command's words asked for. */
struct cmd_args {
	const struct cmd_entry	*entry;
	const char		*config;	/* -c FILE */
	struct restore_request	 req;		/* which, --at, --database, --storage, -o, ... */
	int			 json;
	int			 all;
	int			 restore;	/* verify --restore */
	const char		*target;	/* verify --restore --target NAME */
	int			 offline;
	int			 damaged;	/* prune --damaged */
	int			 count;		/* schedule --count N */
	int			 verbose;
	int			 quiet;
	int			 help;
	int			 version;
	int			 wordc;		/* trigger: its request words */
	char			**wordv;
	int			 nargs;		/* CMD_ARGS: its words */
	const char		*argv[2];
	unsigned long		 given;		/* a bit per option seen (options[] in commands.c) */
};

/* What a command runs with. */
struct cmd_ctx {
	struct runner		*r;
	const struct cmd_args	*args;
	struct jobrun		*jr;		/* the daemon's, or NULL: one is made per job */
	struct job_result	*res;		/* a backup's, for the daemon; may be NULL */
};

struct cmd_entry {
	const char	*name;
	const char	*alias;		/* "--once" for backup, or NULL */
	const char	*usage;		/* what follows the name in the synopsis */
	const char	*summary;
	const char	*options;	/* the options it takes, blank-separated */
	int		 flags;
	int		(*exec)(struct cmd_ctx *);
};

extern const struct cmd_entry cmd_table[];	/* NULL name ends */

const struct cmd_entry *cmd_find(const char *name);
/*
 * The whole command line: global options (-c, -v, -q, -h, -V) anywhere,
 * the command word (or --once), its options and its ID; "trigger" keeps
 * the words after it untouched.  -1 with what is wrong in err.
 */
int	 cmd_parse_argv(int argc, char **argv, struct cmd_args *, char *err, size_t errlen);
/* The words of one command (name first), as a trigger sends them. */
int	 cmd_parse_words(int argc, char **argv, struct cmd_args *, char *err, size_t errlen);
/* Whether the command, with these options, takes the lock and opens storage. */
int	 cmd_takes_lock(const struct cmd_args *);
int	 cmd_opens_storage(const struct cmd_args *);
void	 cmd_usage(FILE *);
/*
 * The option values that need the config to be read (--at TIME, in its
 * timezone): -1 with what is wrong in err, a usage error like those of the
 * parser, found before the store is opened.
 */
int	 cmd_check_values(struct runner *, const struct cmd_args *, char *err, size_t errlen);
/*
 * The daemon's runner of triggered jobs (daemon_run()'s trigger function):
 * the words of a command the table marks CMD_TRIGGER, parsed as on the
 * command line and run with the daemon's runner and jobrun.
 */
int	 cmd_trigger(struct runner *, struct jobrun *, int argc, char **argv,
	    struct job_result *);

#endif
