/*
 * hooks: [hooks] before/after/on_failure, run without a shell.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "common/proc.h"
#include "runner/service/hooks.h"

#define HOOK_NENV	12

static const char *
nz(const char *s)
{
	return s != NULL ? s : "";
}

static void
build_env(char **env, const char *which, const struct hook_job *j)
{
	int	i = 0;

	env[i++] = xasprintf("KBACKUP_HOOK=%s", which);
	env[i++] = xasprintf("KBACKUP_JOB=%s", nz(j->job));
	env[i++] = xasprintf("KBACKUP_NAME=%s", nz(j->name));
	env[i++] = xasprintf("KBACKUP_NAMESPACE=%s", nz(j->namespace));
	env[i++] = xasprintf("KBACKUP_ENGINE=%s", nz(j->engine));
	env[i++] = xasprintf("KBACKUP_BACKUP_ID=%s", nz(j->backup_id));
	env[i++] = xasprintf("KBACKUP_RESULT=%s", nz(j->result));
	env[i++] = xasprintf("KBACKUP_ERROR=%s", nz(j->error));
	env[i++] = xasprintf("KBACKUP_RAW_BYTES=%llu", (unsigned long long)j->raw_bytes);
	env[i++] = xasprintf("KBACKUP_STORED_BYTES=%llu",
	    (unsigned long long)j->stored_bytes);
	env[i++] = xasprintf("KBACKUP_DURATION=%.3f", j->duration);
	env[i] = NULL;
}

int
hooks_run(const char *which, const char *command, const struct hook_job *j, char *err,
    size_t errlen)
{
	char	**words, *env[HOOK_NENV];
	size_t	  n;
	int	  i, rc;

	words = words_split(command, &n);
	if (n == 0) {
		words_free(words);
		return 0;
	}
	build_env(env, which, j);
	log_kv(LOGL_INFO, "running hook", "hook", which, "command", words[0], NULL);
	rc = child_run_timeout((const char *const *)words, (const char *const *)env,
	    j->timeout, err, errlen);
	if (rc == -1)
		errprefix(err, errlen, "%s hook", which);
	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
	words_free(words);
	return rc;
}
