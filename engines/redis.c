/*
 * redis: Redis (and compatible servers) through redis-cli --rdb, which asks
 * the server for a fresh RDB snapshot over the replication protocol.
 *
 * redis-cli writes the RDB into a private file in workdir (it cannot write
 * it to a pipe reliably), which is opened, unlinked and streamed.  The
 * password reaches redis-cli, and only it, in REDISCLI_AUTH.
 *
 * Restore is offline: the RDB is written atomically to rdb_restore_path (or
 * restore --database PATH), checked with redis-check-rdb when installed,
 * and the steps to load it (stop the server, put the file in place as its
 * dbfilename, mind AOF, start) are logged: a running server cannot load an
 * RDB without a restart.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "common/proc.h"
#include "engines/engine.h"
#include "engines/snapfile.h"

static const struct config_key redis_keys[] = {
	{ "host", CFG_STRING, 0, "127.0.0.1", "a host name or address", 0, 0, NULL },
	{ "port", CFG_UINT, 0, "6379", "a port", 1, 65535, NULL },
	{ "socket", CFG_PATH, 0, NULL, "the server's Unix socket", 0, 0, NULL },
	{ "user", CFG_STRING, 0, NULL, "an ACL user name", 0, 0, NULL },
	{ "password", CFG_SECRET, 0, NULL, "the password (requirepass or the user's)", 0, 0,
	    NULL },
	{ "tls", CFG_BOOL, 0, "no", "yes or no", 0, 0, NULL },
	{ "cacert", CFG_PATH, 0, NULL, "the CA certificate file (tls)", 0, 0, NULL },
	{ "cert", CFG_PATH, 0, NULL, "the client certificate file (tls)", 0, 0, NULL },
	{ "key", CFG_PATH, 0, NULL, "the client key file (tls)", 0, 0, NULL },
	{ "rdb_restore_path", CFG_PATH, 0, NULL, "where restore writes the RDB file", 0, 0,
	    NULL },
	{ "redis_cli", CFG_STRING, 0, "redis-cli", "the redis-cli to run", 0, 0, NULL },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

/* redis-cli and the connection; REDISCLI_AUTH in env if there is a password. */
static void
rd_command(struct engine_job *job, struct child_args *a, struct child_args *env)
{
	const struct config_section	*s = job->section;
	const char			*v;

	child_args_add(a, config_get(s, "redis_cli"));
	if ((v = config_get(s, "socket")) != NULL) {
		child_args_add(a, "-s");
		child_args_add(a, v);
	} else {
		child_args_add(a, "-h");
		child_args_add(a, config_get(s, "host"));
		child_args_add(a, "-p");
		child_args_add(a, config_get(s, "port"));
	}
	if ((v = config_get(s, "user")) != NULL) {
		child_args_add(a, "--user");
		child_args_add(a, v);
	}
	if (config_get_bool(s, "tls")) {
		child_args_add(a, "--tls");
		child_args_add_set(a, "--cacert", config_get(s, "cacert"));
		child_args_add_set(a, "--cert", config_get(s, "cert"));
		child_args_add_set(a, "--key", config_get(s, "key"));
	}
	child_args_add(a, "--no-auth-warning");
	child_args_add_set(env, "REDISCLI_AUTH", config_get(s, "password"));
}

/* RDB files begin with "REDIS" and a version. */
static int
rd_check_magic(int fd, char *err, size_t errlen)
{
	char	magic[5];

	if (pread(fd, magic, sizeof(magic), 0) != (ssize_t)sizeof(magic) ||
	    memcmp(magic, "REDIS", 5) != 0)
		return errf(err, errlen, "redis-cli did not write an RDB file");
	return 0;
}

static int
rd_backup_begin(struct engine_job *job, int *fd, char *err, size_t errlen)
{
	struct snapfile		*sf = snapfile_job(job);
	struct child_args	 a = { 0 }, env = { 0 };
	int			 rc;

	if (snapfile_prepare(sf, job->tmpdir, "redis-backup", err, errlen) == -1) {
		snapfile_job_end(job);
		return -1;
	}
	rd_command(job, &a, &env);
	child_args_add(&a, "--rdb");
	child_args_add(&a, sf->path);
	rc = snapfile_run(sf, &a, &env, err, errlen);
	if (rc == 0)
		rc = rd_check_magic(sf->fd, err, errlen);
	if (rc == -1) {
		snapfile_job_end(job);
		return errprefix(err, errlen, "redis-cli --rdb");
	}
	*fd = sf->fd;
	return 0;
}

static int
rd_restore_begin(struct engine_job *job, int *fd, char *err, size_t errlen)
{
	const char	*target = job->database != NULL ? job->database :
			    config_get(job->section, "rdb_restore_path");

	if (target == NULL)
		return errf(err, errlen, "Redis restores write an RDB file: set "
		    "rdb_restore_path or give restore --database PATH");
	return snapfile_restore_begin(job, target, fd, err, errlen);
}

static int
rd_restore_end(struct engine_job *job, int aborted, char *err, size_t errlen)
{
	struct snapfile		*sf = job->priv;
	const char		*argv[3];
	char			*out = NULL;
	int			 rc;

	if ((rc = snapfile_restore_ready(job, aborted, err, errlen)) != 1)
		return rc;
	if (child_in_path("redis-check-rdb")) {
		argv[0] = "redis-check-rdb";
		argv[1] = sf->path;
		argv[2] = NULL;
		rc = child_run(argv, NULL, &out, 64 * 1024, err, errlen);
		free(out);
		out = NULL;
		if (rc == -1) {
			errprefix(err, errlen, "the restored RDB fails redis-check-rdb");
			goto out;
		}
	}
	rc = -1;
	if (snapfile_commit(sf, err, errlen) == -1)
		goto out;
	log_kv(LOGL_INFO, "RDB file written; to load it: stop the server, make this file "
	    "its dbfilename in its dir, with appendonly no (or move the appendonly "
	    "directory away), start it, then CONFIG SET appendonly yes if wanted",
	    "path", sf->target, NULL);
	rc = 0;
out:
	snapfile_job_end(job);
	return rc;
}

static int
rd_check(struct engine_job *job, char *err, size_t errlen)
{
	struct child_args	 a = { 0 }, env = { 0 };
	char			*out = NULL;
	int			 rc;

	rd_command(job, &a, &env);
	child_args_add(&a, "PING");
	rc = child_run_args(&a, &env, &out, 4096, err, errlen);
	if (rc == 0 && strncmp(out, "PONG", 4) != 0) {
		out[strcspn(out, "\n")] = '\0';
		rc = errf(err, errlen, "PING answered: %.200s", out);
	}
	free(out);
	return rc;
}

static int
rd_tool_version(struct engine_job *job, char *buf, size_t len)
{
	return child_tool_version(buf, len, config_get(job->section, "redis_cli"),
	    "--version", NULL);
}

/* What the config schema and the operator read. */
const struct engine_desc engine_redis_desc = {
	.name = "redis",
	.keys = redis_keys,
};

const struct engine_ops engine_redis = {
	.desc = &engine_redis_desc,
	.backup_begin = rd_backup_begin,
	.backup_end = snapfile_backup_end,
	.restore_begin = rd_restore_begin,
	.restore_end = rd_restore_end,
	.check = rd_check,
	.tool_version = rd_tool_version,
};
