/*
 * schema: assembles the runner's config schema from the registries.
 */
#include <stdlib.h>
#include <string.h>

#include "common/cron.h"
#include "common/tz.h"
#include "common/util.h"
#include "engines/engine.h"
#include "runner/catalog/rules.h"
#include "runner/stream/compress.h"
#include "runner/stream/keys.h"
#include "runner/schema.h"
#include "storage/storage.h"

static const struct config_key storage_common_keys[] = {
	{ "type", CFG_STRING, 1, NULL, "a storage type", 0, 0, NULL },
	{ "encryption_key", CFG_SECRET, 0, NULL, "a passphrase, or 64 hex digits for format raw",
	    0, 0, NULL },
	{ "encryption_key_format", CFG_ENUM, 0, "passphrase", "passphrase|raw", 0, 0, NULL },
	{ "encryption_key_old", CFG_SECRET, 0, NULL, "a previous key", 0, 0, NULL },
	{ "encryption_key_old.*", CFG_SECRET, 0, NULL, "a previous key", 0, 0, NULL },
	{ NULL, 0, 0, NULL, NULL, 0, 0, NULL }
};

static struct config_section_schema	*schema;
static struct config_key		*storage_keys;

int
compression_parse(const char *s, int *zstd, int *level)
{
	const char	*errstr;

	if (strcmp(s, "none") == 0) {
		*zstd = 0;
		*level = 0;
		return 0;
	}
	if (strcmp(s, "zstd") == 0) {
		*zstd = 1;
		*level = 3;
		return 0;
	}
	if (strcmp(s, "zstd:auto") == 0) {
		*zstd = 1;
		*level = COMPRESS_LEVEL_AUTO;
		return 0;
	}
	if (!startswith(s, "zstd:"))
		return -1;
	*level = (int)strtonum(s + 5, 1, 19, &errstr);
	*zstd = 1;
	return errstr == NULL ? 0 : -1;
}

/* A key of the storage section belongs to type or is common to every type. */
static int
key_in(const struct config_key *keys, const char *name)
{
	size_t	len;

	for (; keys->name != NULL; keys++) {
		len = strlen(keys->name);
		if (strcmp(keys->name, name) == 0 || (len >= 2 &&
		    strcmp(keys->name + len - 2, ".*") == 0 &&
		    strncmp(keys->name, name, len - 1) == 0))
			return 1;
	}
	return 0;
}

static int
storage_validate(const struct config_section_schema *ss, const struct config_section *s,
    char *err, size_t errlen)
{
	const struct storage_desc	*desc;
	const char			*type = config_get(s, "type");
	struct keyring			 kr;
	size_t				 i;

	if ((desc = storage_desc_find(type)) == NULL)
		return errf(err, errlen, "type: '%s' is not one of %s", type, storage_types());
	for (i = 0; i < s->nentries; i++) {
		const char *k = s->entries[i].key;
		if (!key_in(storage_common_keys, k) && !key_in(desc->keys, k))
			return errf(err, errlen, "%s: not a key of type %s", k, type);
	}
	/* The keys in the form the keyring takes them: a bad raw key is a config error. */
	if (keyring_load(s, &kr, err, errlen) == -1)
		return -1;
	keyring_free(&kr);
	return desc->validate != NULL ? desc->validate(ss, s, err, errlen) : 0;
}

static size_t
count_keys(const struct config_key *k)
{
	size_t	n = 0;

	while (k[n].name != NULL)
		n++;
	return n;
}

static void
schema_build(void)
{
	size_t	ncore = 0, neng = 0, nkeys, i, j;

	while (config_core_sections[ncore].name != NULL)
		ncore++;
	while (engine_descs[neng] != NULL)
		neng++;
	schema = xcalloc(ncore + neng + 3, sizeof(*schema));
	memcpy(schema, config_core_sections, ncore * sizeof(*schema));
	schema[ncore].name = "retention";
	schema[ncore].keys = rules_schema_keys();
	ncore++;
	for (i = 0; i < neng; i++) {
		schema[ncore + i].name = engine_descs[i]->name;
		schema[ncore + i].keys = engine_descs[i]->keys;
		schema[ncore + i].validate = engine_descs[i]->validate;
	}
	nkeys = count_keys(storage_common_keys);
	for (i = 0; storage_descs[i] != NULL; i++)
		nkeys += count_keys(storage_descs[i]->keys);
	storage_keys = xcalloc(nkeys + 1, sizeof(*storage_keys));
	nkeys = count_keys(storage_common_keys);
	memcpy(storage_keys, storage_common_keys, nkeys * sizeof(*storage_keys));
	for (i = 0; storage_descs[i] != NULL; i++)
		for (j = 0; storage_descs[i]->keys[j].name != NULL; j++) {
			if (!key_in(storage_keys, storage_descs[i]->keys[j].name))
				storage_keys[nkeys++] = storage_descs[i]->keys[j];
		}
	schema[ncore + neng].name = "storage";
	schema[ncore + neng].keys = storage_keys;
	schema[ncore + neng].flags = CFG_SEC_NAMED;
	schema[ncore + neng].validate = storage_validate;
}

const struct config_section_schema *
runner_schema(void)
{
	if (schema == NULL)
		schema_build();
	return schema;
}

int
runner_config_check(const struct config *cfg, char *err, size_t errlen)
{
	const struct config_section	*backup = config_section(cfg, "backup");
	const char			*engine = config_get(backup, "engine");
	const char			*compression = config_get(backup, "compression");
	const char			*schedule = config_get(backup, "schedule");
	const char			*timezone = config_get(backup, "timezone");
	struct cron			 cron;
	char				 cerr[256];
	struct label_rules		 rules;
	size_t				 i;
	int				 zstd, level;

	if (engine_desc_find(engine) == NULL)
		return errf(err, errlen, "[backup] engine: '%s' is not one of %s", engine,
		    engine_names());
	for (i = 0; engine_descs[i] != NULL; i++) {
		const char *name = engine_descs[i]->name;
		if (strcmp(name, engine) != 0 && config_section(cfg, name) != NULL)
			return errf(err, errlen, "[%s]: section given, but [backup] engine is %s",
			    name, engine);
	}
	if (config_section(cfg, engine) == NULL)
		return errf(err, errlen, "[%s]: missing section (the settings of engine %s)",
		    engine, engine);
	if (compression_parse(compression, &zstd, &level) == -1)
		return errf(err, errlen, "[backup] compression: '%s' is not zstd, zstd:LEVEL "
		    "(1-19), zstd:auto or none", compression);
	if (level == COMPRESS_LEVEL_AUTO && config_get_uint(backup, "compression_threads") == 0)
		return errf(err, errlen, "[backup] compression: zstd:auto changes the level as "
		    "the dump goes, which zstd does with workers only: set compression_threads "
		    "to 1 or more");
	if (cron_parse(schedule, &cron, cerr, sizeof(cerr)) == -1)
		return errf(err, errlen, "[backup] schedule: '%s': %s", schedule, cerr);
	if (!tz_valid(timezone))
		return errf(err, errlen, "[backup] timezone: '%s' is not an IANA time zone such "
		    "as Europe/Berlin (none in %s)", timezone, TZ_DIR);
	/* Stricter than the key's own check: formats, names, presets given as rule.NAME. */
	if (rules_from_config(config_section(cfg, "retention"), &rules, err, errlen) == -1)
		return -1;
	rules_free(&rules);
	if (config_section_nth(cfg, "storage", 0) == NULL)
		return errf(err, errlen, "[storage]: missing section (where backups go: a "
		    "[storage] or [storage.NAME] section)");
	return 0;
}

int
runner_config_load(const char *path, struct config **cfgp, char *err, size_t errlen)
{
	if (config_load(path, runner_schema(), cfgp, err, errlen) == -1)
		return -1;
	if (runner_config_check(*cfgp, err, errlen) == -1) {
		config_free(*cfgp);
		*cfgp = NULL;
		return errprefix(err, errlen, "%s", path);
	}
	return 0;
}
