/*
 * hooks: [hooks] before/after/on_failure, run without a shell.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "engines/child.h"
#include "runner/hooks.h"

#define HOOK_NENV	12

char **
hooks_split(const char *command, int *nwords)
{
	char		**words = NULL;
	const char	 *p = command, *start;
	int		  n = 0;

	words = xcalloc(1, sizeof(*words));
	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		words = xreallocarray(words, (size_t)n + 2, sizeof(*words));
		words[n++] = xstrndup(start, (size_t)(p - start));
		words[n] = NULL;
	}
	if (nwords != NULL)
		*nwords = n;
	return words;
}

void
hooks_free_words(char **words)
{
	char	**w;

	if (words == NULL)
		return;
	for (w = words; *w != NULL; w++)
		free(*w);
	free(words);
}

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
	int	  n, i, rc;

	words = hooks_split(command, &n);
	if (n == 0) {
		hooks_free_words(words);
		return 0;
	}
	build_env(env, which, j);
	log_kv(LOGL_INFO, "running hook", "hook", which, "command", words[0], NULL);
	rc = child_run((const char *const *)words, (const char *const *)env, NULL, 0, err,
	    errlen);
	if (rc == -1)
		errprefix(err, errlen, "%s hook", which);
	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
	hooks_free_words(words);
	return rc;
}
