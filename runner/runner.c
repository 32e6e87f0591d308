/*
 * runner: the command context and the storage layout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "runner/runner.h"

void
runner_init(struct runner *r, struct config *cfg)
{
	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->backup = config_section(cfg, "backup");
	r->name = config_get(r->backup, "name");
	r->namespace_ = config_get(r->backup, "namespace");
	r->workdir = config_get(r->backup, "workdir");
	r->engine = engine_find(config_get(r->backup, "engine"));
	r->engine_section = config_section(cfg, r->engine->name);
	r->base = xasprintf("%s/%s", r->namespace_, r->name);
}

int
runner_open_storage(struct runner *r, char *err, size_t errlen)
{
	const struct config_section	*s;
	struct location			*loc;
	size_t				 i;

	for (i = 0; (s = config_section_nth(r->cfg, "storage", i)) != NULL; i++) {
		r->locations = xreallocarray(r->locations, r->nlocations + 1,
		    sizeof(*r->locations));
		loc = &r->locations[r->nlocations];
		memset(loc, 0, sizeof(*loc));
		loc->section = s;
		if (storage_open(s, &loc->st, err, errlen) == -1)
			return -1;
		loc->st->ops->describe(loc->st, loc->desc, sizeof(loc->desc));
		r->nlocations++;
	}
	return 0;
}

void
runner_free(struct runner *r)
{
	size_t	i;

	for (i = 0; i < r->nlocations; i++)
		storage_close(r->locations[i].st);
	free(r->locations);
	free(r->base);
	config_free(r->cfg);
	memset(r, 0, sizeof(*r));
}

struct location *
runner_location(struct runner *r, const char *name)
{
	size_t	i;

	for (i = 0; i < r->nlocations; i++)
		if (strcmp(r->locations[i].st->name, name) == 0)
			return &r->locations[i];
	return NULL;
}

void
runner_engine_job(struct runner *r, struct engine_job *job, const char *database)
{
	memset(job, 0, sizeof(*job));
	job->ops = r->engine;
	job->config = r->cfg;
	job->section = r->engine_section;
	job->workdir = r->workdir;
	job->database = database;
}

char *
layout_backups_prefix(const struct runner *r)
{
	return xasprintf("%s/backups/", r->base);
}

char *
layout_data_key(const struct runner *r, const char *id)
{
	return xasprintf("%s/backups/%s/data", r->base, id);
}

char *
layout_manifest_key(const struct runner *r, const char *id)
{
	return xasprintf("%s/backups/%s/manifest.json", r->base, id);
}

char *
layout_single_data_key(const struct runner *r, const char *id)
{
	return xasprintf("%s/single/%s/data", r->base, id);
}

char *
layout_single_prefix(const struct runner *r)
{
	return xasprintf("%s/single/", r->base);
}

char *
layout_single_manifest_key(const struct runner *r)
{
	return xasprintf("%s/single/manifest.json", r->base);
}

char *
layout_labels_key(const struct runner *r)
{
	return xasprintf("%s/labels.json", r->base);
}
