/*
 * kbackup-runner: the command line.  Parses the words against the command
 * table (runner/commands.h), loads and checks the config (exit 2 on any
 * error, before anything runs), takes the definition's lock and opens
 * storage where the command says so, and runs it.
 */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cancel.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/util.h"
#include "runner/commands.h"
#include "runner/lock.h"
#include "runner/schema.h"
#include "runner/wal/walcmd.h"

/*
 * restore_command: a failure to get going is not "the file is not in the
 * archive" (which ends recovery and promotes): it stops recovery.
 */
static int
failed(const struct cmd_args *a, int rc)
{
	if (a->entry != NULL && (a->entry->flags & CMD_RESTORE_COMMAND))
		return EXIT_WAL_REFUSED;
	return rc;
}

static void
setup_logging(const struct cmd_args *a, const struct config *cfg)
{
	const struct config_section	*b = config_section(cfg, "backup");
	const char			*level = config_get(b, "log_level");
	enum log_format			 fmt;

	if (log_parse_format(config_get(b, "log_format"), &fmt) == 0)
		log_set_format(fmt);
	if (a->verbose)
		log_set_level(LOGL_DEBUG);
	else if (a->quiet)
		log_set_level(LOGL_ERROR);
	else if (strcmp(level, "error") == 0)
		log_set_level(LOGL_ERROR);
	else if (strcmp(level, "warn") == 0)
		log_set_level(LOGL_WARN);
	else if (strcmp(level, "debug") == 0)
		log_set_level(LOGL_DEBUG);
}

/* The lock and the state directory, for commands that write. */
static int
take_lock(struct runner *r, int *lock)
{
	char	err[KB_ERRLEN];

	if ((*lock = lock_acquire(r->state_dir, r->base, err, sizeof(err))) == -1 ||
	    runner_state_open(r, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "not started", "error", err, NULL);
		return -1;
	}
	runner_state_sweep(r);
	return 0;
}

static int
run(struct runner *r, const struct cmd_args *a)
{
	struct cmd_ctx	ctx;
	char		err[KB_ERRLEN];
	int		lock = -1, rc;

	/* A location that is not there is a usage error, whatever the command. */
	if (a->req.storage != NULL && runner_location_section(r, a->req.storage) == NULL) {
		log_kv(LOGL_ERROR, "no such storage location", "storage", a->req.storage, NULL);
		return EXIT_USAGE;
	}
	if (cmd_check_values(r, a, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "bad argument", "error", err, NULL);
		return failed(a, EXIT_USAGE);
	}
	if (cmd_takes_lock(a) && take_lock(r, &lock) == -1)
		return EXIT_JOB;
	if (cmd_opens_storage(a) && runner_open_storage(r, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "cannot open storage", "error", err, NULL);
		lock_release(lock);
		return failed(a, EXIT_JOB);
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.r = r;
	ctx.args = a;
	rc = a->entry->exec(&ctx);
	lock_release(lock);
	return rc;
}

int
main(int argc, char **argv)
{
	struct cmd_args	 a;
	struct config	*cfg;
	struct runner	 r;
	char		 err[KB_ERRLEN];
	int		 rc;

	/*
	 * Large buffers (S3 parts of 8 MiB and more, zstd's jobs) from mmap
	 * always, returned to the system when freed.  glibc's default raises
	 * its threshold to the size of each large block freed, after which
	 * parts come from the heap and up to twice that stays resident when
	 * they go: part sizes that grow past part 1000 then took the S3 upload
	 * of an 8 GiB dump to 89 MiB against its 64 MiB bound.
	 */
	mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
	signal(SIGPIPE, SIG_IGN);
	if (cmd_parse_argv(argc, argv, &a, err, sizeof(err)) == -1) {
		fprintf(stderr, "kbackup-runner: %s\n", err);
		cmd_usage(stderr);
		return EXIT_USAGE;
	}
	if (a.help) {
		cmd_usage(stdout);
		return EXIT_OK;
	}
	if (a.version) {
		printf("kbackup-runner %s\n", KBACKUP_VERSION);
		return EXIT_OK;
	}
	if (runner_config_load(a.config, &cfg, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "invalid configuration", "error", err, NULL);
		return failed(&a, EXIT_USAGE);
	}
	setup_logging(&a, cfg);
	child_set_env_denylist(config_secret_env_names(cfg));
	runner_init(&r, cfg);
	cancel_signals();
	rc = run(&r, &a);
	runner_free(&r);
	return rc;
}
