/*
 * etcd: an etcd v3 cluster through etcdctl snapshot save, restored with
 * etcdutl (or etcdctl) snapshot restore into a new data directory.
 *
 * snapshot save asks one member (the first endpoint) for its snapshot and
 * writes it to a file: a private file in workdir, opened, unlinked and
 * streamed.  The user name and password reach etcdctl, and only it, in
 * ETCDCTL_USER and ETCDCTL_PASSWORD (etcdctl takes every flag from
 * ETCDCTL_<FLAG>); never --user user:pass in argv.
 *
 * Restore writes the stream to a temporary file in workdir and runs
 * snapshot restore into restore_data_dir (or restore --database PATH),
 * which must not exist yet: the member is then started on it (see
 * RESTORING BY ENGINE in man/kbackup-runner.8).
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

static const struct config_key etcd_keys[] = {
	{ "endpoints", CFG_LIST, 0, "127.0.0.1:2379", "HOST:PORT or URLs; the first is "
	    "asked for the snapshot", 0, 0, NULL },
	{ "cacert", CFG_PATH, 0, NULL, "the CA certificate file", 0, 0, NULL },
	{ "cert", CFG_PATH, 0, NULL, "the client certificate file", 0, 0, NULL },
	{ "key", CFG_PATH, 0, NULL, "the client key file", 0, 0, NULL },
	{ "user", CFG_STRING, 0, NULL, "a user name", 0, 0, NULL },
	{ "password", CFG_SECRET, 0, NULL, "the user's password", 0, 0, NULL },
	{ "restore_data_dir", CFG_PATH, 0, NULL, "the new data directory restore creates",
	    0, 0, NULL },
	{ "restore_options", CFG_LIST, 0, NULL, "snapshot restore arguments (--name, "
	    "--initial-cluster, --initial-advertise-peer-urls, ...)", 0, 0, NULL },
	{ "etcdctl", CFG_STRING, 0, "etcdctl", "the etcdctl to run", 0, 0, NULL },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

/* The data directory restore creates. */
static const char *
et_data_dir(struct engine_job *job)
{
	return job->database != NULL ? job->database :
	    config_get(job->section, "restore_data_dir");
}

/* etcdctl, the first endpoint, TLS files; credentials in env. */
static void
et_command(struct engine_job *job, struct child_args *a, struct child_args *env)
{
	const struct config_section	*s = job->section;
	char				**w;
	size_t				 n;

	child_args_add(a, config_get(s, "etcdctl"));
	w = words_split(config_get(s, "endpoints"), &n);
	if (n > 0)
		child_args_addf(a, "--endpoints=%s", w[0]);
	words_free(w);
	child_args_add_set(a, "--cacert", config_get(s, "cacert"));
	child_args_add_set(a, "--cert", config_get(s, "cert"));
	child_args_add_set(a, "--key", config_get(s, "key"));
	child_args_add(env, "ETCDCTL_API=3");
	child_args_add_set(env, "ETCDCTL_USER", config_get(s, "user"));
	child_args_add_set(env, "ETCDCTL_PASSWORD", config_get(s, "password"));
}

static int
et_backup_begin(struct engine_job *job, int *fd, char *err, size_t errlen)
{
	struct snapfile		*sf = snapfile_job(job);
	struct child_args	 a = { 0 }, env = { 0 };

	if (snapfile_prepare(sf, job->tmpdir, "etcd-backup", err, errlen) == -1) {
		snapfile_job_end(job);
		return -1;
	}
	et_command(job, &a, &env);
	child_args_add(&a, "snapshot");
	child_args_add(&a, "save");
	child_args_add(&a, sf->path);
	if (snapfile_run(sf, &a, &env, err, errlen) == -1) {
		snapfile_job_end(job);
		return errprefix(err, errlen, "etcdctl snapshot save");
	}
	*fd = sf->fd;
	return 0;
}

static int
et_restore_begin(struct engine_job *job, int *fd, char *err, size_t errlen)
{
	struct stat	 st;
	const char	*dir = et_data_dir(job);
	char		*tmp;
	int		 rc;

	if (dir == NULL)
		return errf(err, errlen, "etcd restores create a data directory: set "
		    "restore_data_dir or give restore --database PATH");
	if (stat(dir, &st) == 0)
		return errf(err, errlen, "%s exists: snapshot restore needs a new data "
		    "directory", dir);
	if (mkdir_p(job->tmpdir, 0700, err, errlen) == -1)
		return -1;
	tmp = path_join(job->tmpdir, "etcd-restore");
	rc = snapfile_restore_begin(job, tmp, fd, err, errlen);
	free(tmp);
	return rc;
}

static int
et_restore_end(struct engine_job *job, int aborted, char *err, size_t errlen)
{
	struct snapfile		*sf = job->priv;
	struct child_args	 a = { 0 }, env = { 0 };
	int			 rc;

	if ((rc = snapfile_restore_ready(job, aborted, err, errlen)) != 1)
		return rc;
	/* etcdutl replaces etcdctl snapshot restore from etcd 3.5 on. */
	if (child_in_path("etcdutl"))
		child_args_add(&a, "etcdutl");
	else {
		child_args_add(&a, config_get(job->section, "etcdctl"));
		child_args_add(&env, "ETCDCTL_API=3");
	}
	child_args_add(&a, "snapshot");
	child_args_add(&a, "restore");
	child_args_add(&a, sf->path);
	child_args_addf(&a, "--data-dir=%s", et_data_dir(job));
	child_args_add_words(&a, config_get(job->section, "restore_options"));
	rc = child_run_args(&a, &env, NULL, 0, err, errlen);
	if (rc == -1) {
		errprefix(err, errlen, "snapshot restore");
		goto out;
	}
	log_kv(LOGL_INFO, "etcd data directory restored; start the member on it (every "
	    "member of a cluster from the same snapshot, each with its own --name)",
	    "data_dir", et_data_dir(job), NULL);
out:
	snapfile_job_end(job);
	return rc;
}

static int
et_check(struct engine_job *job, char *err, size_t errlen)
{
	struct child_args	 a = { 0 }, env = { 0 };

	et_command(job, &a, &env);
	child_args_add(&a, "endpoint");
	child_args_add(&a, "health");
	return child_run_args(&a, &env, NULL, 0, err, errlen);
}

static int
et_tool_version(struct engine_job *job, char *buf, size_t len)
{
	return child_tool_version(buf, len, config_get(job->section, "etcdctl"), "version",
	    NULL);
}

static void
et_pod(const struct config_section *section, struct engine_pod *pod)
{
	static const char *const env[] = { "ETCDCTL_API=3", NULL };

	pod->env = env;
}

/* What the config schema and the operator read. */
const struct engine_desc engine_etcd_desc = {
	.name = "etcd",
	.keys = etcd_keys,
	.pod = et_pod,
};

const struct engine_ops engine_etcd = {
	.desc = &engine_etcd_desc,
	.backup_begin = et_backup_begin,
	.backup_end = snapfile_backup_end,
	.restore_begin = et_restore_begin,
	.restore_end = et_restore_end,
	.check = et_check,
	.tool_version = et_tool_version,
};
