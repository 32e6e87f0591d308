/*
 * test_retention: the label index of a location on the file backend:
 * rebuilt from the manifests when labels.json is missing or corrupt,
 * reconciled with them (a backup missing from the index, an entry without a
 * manifest), written back and read again; job_prune deleting what the labels
 * no longer hold, the newest kept, orphans swept; the [retention] check of
 * the config.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"
#include "common/util.h"
#include "runner/cmd/jobs.h"
#include "runner/catalog/retention.h"
#include "runner/schema.h"

static char		 dir[] = "/tmp/test_retention.XXXXXX";
static struct runner	 r;

static void
write_text(const char *path, const char *text)
{
	char	err[KB_ERRLEN];

	assert_int_equal(write_file_atomic(path, text, strlen(text), 0600, err,
	    sizeof(err)), 0);
}

static int
load_config(const char *extra, struct config **cfg, char *err, size_t errlen)
{
	char	*path, *text;
	int	 rc;

	path = path_join(dir, "kb.conf");
	text = xasprintf("[backup]\nname = orders\nnamespace = test\nengine = postgres\n"
	    "workdir = %s\n\n[postgres]\nhost = 127.0.0.1\nuser = u\npassword = p\n"
	    "database = d\n\n[storage]\ntype = file\npath = %s/store\n\n%s", dir, dir,
	    extra);
	write_text(path, text);
	rc = runner_config_load(path, cfg, err, errlen);
	free(text);
	free(path);
	return rc;
}

static int
setup(void **state)
{
	struct config	*cfg;
	char		 err[KB_ERRLEN];

	if (mkdtemp(dir) == NULL)
		return -1;
	log_set_level(LOGL_ERROR);
	if (load_config("[retention]\nall = 1h\nhourly = off\ndaily = 2d\nweekly = off\n"
	    "monthly = off\n", &cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	runner_init(&r, cfg);
	if (runner_open_storage(&r, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	char	*cmd;

	runner_free(&r);
	cmd = xasprintf("rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	free(cmd);
	return 0;
}

static char *
store_path(const char *key)
{
	char	*s = path_join(dir, "store");
	char	*p = path_join(s, key);

	free(s);
	return p;
}

static int
exists(const char *key)
{
	char	*p = store_path(key);
	int	 rc = access(p, F_OK) == 0;

	free(p);
	return rc;
}

/* A backup as the backup job leaves it: data, then a manifest with labels. */
static void
put_backup(const char *id, time_t finished, const char *label, time_t expires)
{
	struct manifest	 m;
	char		 err[KB_ERRLEN], *key, *json;

	memset(&m, 0, sizeof(m));
	m.format = MANIFEST_FORMAT;
	strlcpy(m.id, id, sizeof(m.id));
	m.name = xstrdup("orders");
	m.namespace_ = xstrdup("test");
	m.engine = xstrdup("postgres");
	m.mode = xstrdup("retained");
	m.data_key = layout_data_key(&r, id);
	m.started = finished - 10;
	m.finished = finished;
	memset(m.sha256, 'a', 64);
	m.compression = xstrdup("none");
	strlcpy(m.container.cipher, "none", sizeof(m.container.cipher));
	strlcpy(m.container.kdf, "none", sizeof(m.container.kdf));
	m.runner_version = xstrdup("test");
	m.host = xstrdup("test");
	if (label != NULL)
		manifest_add_label(&m, label, expires);
	assert_int_equal(storage_put_buffer(r.locations[0].st, m.data_key, "x", 1, NULL, NULL, err,
	    sizeof(err)), 0);
	key = layout_manifest_key(&r, id);
	json = manifest_to_json(&m);
	assert_int_equal(storage_put_buffer(r.locations[0].st, key, json, strlen(json), NULL, NULL, err,
	    sizeof(err)), 0);
	free(json);
	free(key);
	manifest_free(&m);
}

#define T0	1772325000	/* 2026-03-01T00:30:00Z */

static void
test_rebuild_and_reconcile(void **state)
{
	struct labels_index	 idx;
	struct catalog		 c;
	char			 err[KB_ERRLEN], *path;
	int			 changed;

	put_backup("20260301T003000Z", T0, "daily:2026-03-01", T0 + 2 * 86400);
	put_backup("20260301T063000Z", T0 + 6 * 3600, "all:20260301T063000Z",
	    T0 + 7 * 3600);

	/* Missing: rebuilt from the manifests. */
	assert_int_equal(retention_index_load(&r, &r.locations[0], NULL, &idx, &changed, err,
	    sizeof(err)), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(idx.n, 2);
	assert_string_equal(idx.v[0].labels[0].name, "daily:2026-03-01");
	assert_int_equal(idx.v[0].labels[0].expires, T0 + 2 * 86400);
	assert_int_equal(retention_index_save(&r, &r.locations[0], &idx, err, sizeof(err)), 0);
	labels_index_free(&idx);

	/* Read back as written. */
	assert_int_equal(retention_index_load(&r, &r.locations[0], NULL, &idx, &changed, err,
	    sizeof(err)), 0);
	assert_int_equal(changed, 0);
	assert_int_equal(idx.n, 2);
	labels_index_free(&idx);

	/* A third backup whose labels.json update was lost; one manifest gone. */
	put_backup("20260301T123000Z", T0 + 12 * 3600, "all:20260301T123000Z",
	    T0 + 13 * 3600);
	path = store_path("test/orders/backups/20260301T063000Z/manifest.json");
	assert_int_equal(unlink(path), 0);
	free(path);
	assert_int_equal(catalog_load(&r, &r.locations[0], &c, err, sizeof(err)), 0);
	assert_int_equal(retention_index_load(&r, &r.locations[0], &c, &idx, &changed, err,
	    sizeof(err)), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(idx.n, 2);
	assert_non_null(labels_index_find(&idx, "20260301T003000Z"));
	assert_non_null(labels_index_find(&idx, "20260301T123000Z"));
	assert_null(labels_index_find(&idx, "20260301T063000Z"));
	labels_index_free(&idx);
	catalog_free(&c);

	/* Corrupt: rebuilt. */
	path = store_path("test/orders/labels.json");
	write_text(path, "{\"version\":1,\"backups\":[{\"id\":");
	free(path);
	assert_int_equal(retention_index_load(&r, &r.locations[0], NULL, &idx, &changed, err,
	    sizeof(err)), 0);
	assert_int_equal(changed, 1);
	assert_int_equal(idx.n, 2);
	labels_index_free(&idx);
}

static void
test_prune(void **state)
{
	/*
	 * From the previous test: 003000Z (daily until T0+2d), 123000Z (all
	 * until T0+13h), and the data of 063000Z without a manifest.  Prune at
	 * T0+3d: 123000Z is the newest and is kept; 003000Z and the orphan go.
	 * job_prune reads the clock: these tests cannot move it, so the times
	 * are in the past and every label has expired.
	 */
	assert_true(time(NULL) > T0 + 3 * 86400);
	assert_int_equal(job_prune(&r, 1), EXIT_OK);	/* dry run: prints, deletes nothing */
	assert_true(exists("test/orders/backups/20260301T003000Z/manifest.json"));
	assert_true(exists("test/orders/backups/20260301T063000Z/data"));

	assert_int_equal(job_prune(&r, 0), EXIT_OK);
	assert_false(exists("test/orders/backups/20260301T003000Z/manifest.json"));
	assert_false(exists("test/orders/backups/20260301T003000Z/data"));
	assert_false(exists("test/orders/backups/20260301T063000Z/data"));
	assert_true(exists("test/orders/backups/20260301T123000Z/manifest.json"));
	assert_true(exists("test/orders/backups/20260301T123000Z/data"));
	assert_true(exists("test/orders/labels.json"));
}

static void
test_config_rules(void **state)
{
	struct config	*cfg;
	char		 err[KB_ERRLEN];

	assert_int_equal(load_config("[retention]\nrule.q = %Y-%m 90d\n", &cfg, err,
	    sizeof(err)), 0);
	config_free(cfg);
	assert_int_equal(load_config("[retention]\nrule.daily = %Y-%m-%d 3d\n", &cfg, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "is a preset"));
	assert_int_equal(load_config("[retention]\nrule.q = %Y-%Q 90d\n", &cfg, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "%Q"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rebuild_and_reconcile),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_config_rules),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
