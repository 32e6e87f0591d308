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

struct redis_job {
	struct snapfile	 sf;
};

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

static struct redis_job *
rd_priv(struct engine_job *job)
{
	if (job->priv == NULL) {
		job->priv = xcalloc(1, sizeof(struct redis_job));
		((struct redis_job *)job->priv)->sf.fd = -1;
	}
	return job->priv;
}

static void
rd_free(struct engine_job *job)
{
	struct redis_job	*rd = job->priv;

	if (rd == NULL)
		return;
	snapfile_discard(&rd->sf);
	free(rd);
	job->priv = NULL;
}

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
		if ((v = config_get(s, "cacert")) != NULL)
			child_args_addf(a, "--cacert=%s", v);
		if ((v = config_get(s, "cert")) != NULL)
			child_args_addf(a, "--cert=%s", v);
		if ((v = config_get(s, "key")) != NULL)
			child_args_addf(a, "--key=%s", v);
	}
	child_args_add(a, "--no-auth-warning");
	if ((v = config_get(s, "password")) != NULL)
		child_args_addf(env, "REDISCLI_AUTH=%s", v);
}

static int	rd_backup_end(struct engine_job *, int, char *, size_t);

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
	struct redis_job	*rd = rd_priv(job);
	struct child_args	 a = { 0 }, env = { 0 };
	int			 rc;

	if (snapfile_prepare(&rd->sf, job->tmpdir, "redis-backup", err, errlen) == -1) {
		rd_free(job);
		return -1;
	}
	rd_command(job, &a, &env);
	child_args_add(&a, "--rdb");
	child_args_add(&a, rd->sf.path);
	rc = child_run(child_args_list(&a), child_args_list(&env), NULL, 0, err, errlen);
	child_args_free(&a);
	child_args_free(&env);
	if (rc == 0)
		rc = snapfile_open(&rd->sf, err, errlen);
	if (rc == 0)
		rc = rd_check_magic(rd->sf.fd, err, errlen);
	if (rc == -1) {
		rd_free(job);
		return errprefix(err, errlen, "redis-cli --rdb");
	}
	*fd = rd->sf.fd;
	return 0;
}

static int
rd_backup_end(struct engine_job *job, int aborted, char *err, size_t errlen)
{
	rd_free(job);
	return 0;
}

static int
rd_restore_begin(struct engine_job *job, int *fd, char *err, size_t errlen)
{
	struct redis_job	*rd;
	const char		*target = job->database != NULL ? job->database :
				    config_get(job->section, "rdb_restore_path");

	if (target == NULL)
		return errf(err, errlen, "Redis restores write an RDB file: set "
		    "rdb_restore_path or give restore --database PATH");
	rd = rd_priv(job);
	if (snapfile_create(&rd->sf, target, err, errlen) == -1) {
		rd_free(job);
		return -1;
	}
	*fd = rd->sf.fd;
	return 0;
}

static int
rd_restore_end(struct engine_job *job, int aborted, char *err, size_t errlen)
{
	struct redis_job	*rd = job->priv;
	const char		*argv[3];
	char			*out = NULL;
	int			 rc = -1;

	if (rd == NULL)
		return 0;
	if (aborted) {
		errf(err, errlen, "aborted");
		goto out;
	}
	if (snapfile_sync(&rd->sf, err, errlen) == -1)
		goto out;
	if (child_in_path("redis-check-rdb")) {
		argv[0] = "redis-check-rdb";
		argv[1] = rd->sf.path;
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
	if (snapfile_commit(&rd->sf, err, errlen) == -1)
		goto out;
	log_kv(LOGL_INFO, "RDB file written; to load it: stop the server, make this file "
	    "its dbfilename in its dir, with appendonly no (or move the appendonly "
	    "directory away), start it, then CONFIG SET appendonly yes if wanted",
	    "path", rd->sf.target, NULL);
	rc = 0;
out:
	rd_free(job);
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
	rc = child_run(child_args_list(&a), child_args_list(&env), &out, 4096, err, errlen);
	child_args_free(&a);
	child_args_free(&env);
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
	struct child_args	 a = { 0 };
	int			 rc;

	child_args_add(&a, config_get(job->section, "redis_cli"));
	child_args_add(&a, "--version");
	rc = child_version(&a, buf, len);
	return rc;
}

static void
rd_pod(const struct config_section *section, struct engine_pod *pod)
{
	memset(pod, 0, sizeof(*pod));
	pod->image = "kbackup/runner-redis";
}

/* What the config schema and the operator read. */
const struct engine_desc engine_redis_desc = {
	.name = "redis",
	.keys = redis_keys,
	.pod = rd_pod,
};

const struct engine_ops engine_redis = {
	.desc = &engine_redis_desc,
	.backup_begin = rd_backup_begin,
	.backup_end = rd_backup_end,
	.restore_begin = rd_restore_begin,
	.restore_end = rd_restore_end,
	.check = rd_check,
	.tool_version = rd_tool_version,
};
