/*
 * test_schema: every config key that has a value syntax refuses a bad value
 * when the config is read -- what check --offline and every command do
 * first, exit 2 -- with a message naming the section and the key, never
 * later in a job.  The keys come from the runner's schema itself, so a key
 * added later is tested too, or must be named below as free text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/config.h"
#include "common/log.h"
#include "common/util.h"
#include "engines/engine.h"
#include "runner/schema.h"
#include "storage/storage.h"

static char	dir[] = "/tmp/test_schema.XXXXXX";

/* Keys whose values are free text (names, paths, commands, secrets): nothing to refuse. */
static const char *const free_text[] = {
	"workdir", "textfile", "before", "after", "on_failure", "host", "user", "password",
	"database", "dump_options", "restore_options", "bin_dir", "certs_dir", "cockroach_bin",
	"cacert", "cert", "key", "restore_data_dir", "etcdctl", "socket", "dump_command",
	"client_command", "rdb_restore_path", "redis_cli", "path", "sqlite3", "region",
	"bucket", "prefix", "access_key", "secret_key", "ca_file", "encryption_key_old",
	"encryption_key_old.*", "endpoints", "databases", "session_token", "role_arn",
	"role_session_name", "web_identity_token_file", "sse_kms_key_id", "storage_class",
	"container_credentials_uri", "container_token_file", "kms_key_id", "exclude",
	"binlog_command",
	NULL
};

/* Bad values of keys whose syntax is more than their type says. */
static const struct {
	const char	*section;
	const char	*key;
	const char	*bad;
} special[] = {
	{ "backup", "engine", "nope" },
	{ "backup", "schedule", "61 * * * *" },
	{ "backup", "timezone", "Mars/Olympus_Mons" },
	{ "backup", "compression", "zstd:99" },
	{ "storage", "type", "tape" },
	{ "storage", "encryption_key", "not-64-hex-digits" },	/* with format raw */
	{ "notify", "webhook", "ftp://hooks.example" },
	{ "notify", "ping_start", "ftp://hc.example" },
	{ "notify", "ping_success", "ftp://hc.example" },
	{ "notify", "ping_failure", "ftp://hc.example" },
	{ "metrics", "api_token", "short-token" },	/* fewer than 16 characters */
	{ "retention", "rule.*", "quarterly 90d" },
	{ "storage", "part_size", "1KiB" },
	{ "postgres", "slot", "Bad-Slot" },
};

static int
is_free_text(const char *key)
{
	size_t	i;

	for (i = 0; free_text[i] != NULL; i++)
		if (strcmp(free_text[i], key) == 0)
			return 1;
	return 0;
}

/* A bad value for the key by its type, or NULL if its type has no syntax. */
static const char *
bad_value(const char *section, const struct config_key *k, char *buf, size_t len)
{
	size_t	i;

	for (i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (strcmp(special[i].section, section) == 0 &&
		    strcmp(special[i].key, k->name) == 0)
			return special[i].bad;
	switch (k->type) {
	case CFG_NAME: return "Bad_Name";
	case CFG_BOOL: return "maybe";
	case CFG_UINT:
		if (k->max == 0 && k->min == 0)
			return "12x";
		snprintf(buf, len, "%lld", (long long)k->max + 1);
		return buf;
	case CFG_SIZE: return "12 parsecs";
	case CFG_DURATION: return "7x";
	case CFG_DURATION_OFF: return "7x";
	case CFG_ENUM: return "nope";
	case CFG_URL: return "ftp://example.org";
	case CFG_HOSTPORT: return "nocolon";
	default: return NULL;
	}
}

static const char *
sample(const struct config_key *k)
{
	switch (k->type) {
	case CFG_PATH: return "/tmp/kbackup-test-x";
	case CFG_URL: return "http://127.0.0.1:9";
	case CFG_LIST: return "d";
	default: return "d";
	}
}

/* The smallest config that loads, for a key of section (an engine's or a storage type's). */
static void
base_config(FILE *f, const char *engine, const char *storage_type,
    const struct config_key *engine_keys, const char *skip)
{
	const struct config_key	*k;

	fprintf(f, "[backup]\nname = orders\nengine = %s\nworkdir = %s\n", engine, dir);
	fprintf(f, "\n[%s]\n", engine);
	for (k = engine_keys; k->name != NULL; k++)
		if (k->required && strcmp(k->name, skip) != 0)
			fprintf(f, "%s = %s\n", k->name, sample(k));
	/* postgres takes one of database and databases (its validate() says so). */
	if (strcmp(engine, "postgres") == 0)
		fprintf(f, "databases = *\n");
	if (strcmp(storage_type, "s3") == 0)
		fprintf(f, "\n[storage]\ntype = s3\nendpoint = http://127.0.0.1:9\nbucket = b\n"
		    "access_key = a\nsecret_key = s\n");
	else
		fprintf(f, "\n[storage]\ntype = file\npath = /tmp/kbackup-test-store\n");
}

static int
try_config(const char *text, char *err, size_t errlen)
{
	struct config	*cfg;
	char		*path = path_join(dir, "kb.conf");
	FILE		*f = fopen(path, "w");
	int		 rc;

	fputs(text, f);
	fclose(f);
	rc = runner_config_load(path, &cfg, err, errlen);
	if (rc == 0)
		config_free(cfg);
	free(path);
	return rc;
}

/* Appends "key = value" to the section in text (a new section if absent). */
static char *
with_key(const char *text, const char *section, const char *key, const char *value)
{
	char	 hdr[128], *out, *at;

	snprintf(hdr, sizeof(hdr), "[%s]\n", section);
	if ((at = strstr(text, hdr)) == NULL)
		return xasprintf("%s\n%s%s = %s\n", text, hdr, key, value);
	at += strlen(hdr);
	out = xasprintf("%.*s%s = %s\n%s", (int)(at - text), text, key, value, at);
	return out;
}

static char *
base_text(const char *engine, const char *storage_type)
{
	const struct engine_desc *e = engine_desc_find(engine);
	char			*text = NULL;
	size_t			 len = 0;
	FILE			*f = open_memstream(&text, &len);

	base_config(f, engine, storage_type, e->keys, "");
	fclose(f);
	return text;
}

/* The storage type that takes key (file or s3), or "file" for the common keys. */
static const char *
storage_owner(const char *key)
{
	const struct config_key	*k;
	size_t			 i;

	for (i = 0; storage_descs[i] != NULL; i++)
		for (k = storage_descs[i]->keys; k->name != NULL; k++)
			if (strcmp(k->name, key) == 0)
				return storage_descs[i]->type;
	return "file";
}

static void
check_key(const char *section, const struct config_key *k, size_t *tested)
{
	char		 buf[64], err[KB_ERRLEN], *base, *text, *key;
	const char	*bad, *engine = "postgres", *stype = "file";

	if ((bad = bad_value(section, k, buf, sizeof(buf))) == NULL) {
		if (!is_free_text(k->name))
			fail_msg("[%s] %s: a key of no syntax the test knows: give it a bad "
			    "value in special[] or name it in free_text[]", section, k->name);
		return;
	}
	if (engine_desc_find(section) != NULL)
		engine = section;
	if (strcmp(section, "storage") == 0)
		stype = storage_owner(k->name);
	base = base_text(engine, stype);
	if (try_config(base, err, sizeof(err)) == -1)
		fail_msg("the base config for [%s] %s does not load: %s", section, k->name, err);
	key = strcmp(k->name, "rule.*") == 0 ? xstrdup("rule.q") :
	    strcmp(k->name, "encryption_key_old.*") == 0 ? xstrdup("encryption_key_old.a") :
	    xstrdup(k->name);
	text = with_key(base, section, key, bad);
	if (strcmp(k->name, "encryption_key") == 0) {
		free(base);
		base = text;
		text = with_key(base, "storage", "encryption_key_format", "raw");
	}
	if (try_config(text, err, sizeof(err)) != -1)
		fail_msg("[%s] %s = %s was accepted", section, key, bad);
	if (strstr(err, key) == NULL && !(strcmp(k->name, "engine") == 0 &&
	    strstr(err, "engine") != NULL))
		fail_msg("[%s] %s = %s: the error does not name the key: %s", section, key,
		    bad, err);
	(*tested)++;
	free(key);
	free(text);
	free(base);
}

static void
test_every_key(void **state)
{
	const struct config_section_schema	*s;
	const struct config_key			*k;
	size_t					 tested = 0;

	log_set_level(LOGL_ERROR);
	for (s = runner_schema(); s->name != NULL; s++)
		for (k = s->keys; k != NULL && k->name != NULL; k++)
			check_key(s->name, k, &tested);
	print_message("%zu keys refused a bad value\n", tested);
	assert_true(tested > 40);
}

static int
setup(void **state)
{
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char	*p = path_join(dir, "kb.conf");

	unlink(p);
	free(p);
	rmdir(dir);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_key),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
