/*
 * test_catalog: the catalog of a location on the file backend, and the
 * invariants it keeps (kbackup-format(5)): the index is only a cache (read
 * once, trusted only for manifests it holds as listed, rewritten when
 * stale); damaged manifests are reported and kept; foreign ones ignored;
 * prune decides on the manifest, not the index; data without a manifest goes
 * only by age; live markers of another runner stop a second writer and
 * protect their data; future-dated backups are never latest; a commit never
 * replaces a backup.  Also the [retention] check of the config.
 */
#include <sys/stat.h>

#include <fcntl.h>
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
#include "runner/catalog/catalog.h"
#include "runner/catalog/layout.h"
#include "runner/cmd/jobs.h"
#include "runner/schema.h"
#include "tests/unit/testutil.h"

#define DAY	86400

static char		 dir[] = "/tmp/test_catalog.XXXXXX";
static struct runner	 r;

/* The config of the tests, these sections (retention) added. */
static char *
conf_text(const char *extra)
{
	return xasprintf("[backup]\nname = orders\nnamespace = test\nengine = postgres\n"
	    "workdir = %s\n\n[postgres]\nhost = 127.0.0.1\nuser = u\npassword = p\n"
	    "database = d\n\n[storage]\ntype = file\npath = %s/store\n\n%s", dir, dir,
	    extra);
}

static int
load_config(const char *extra, struct config **cfg, char *err, size_t errlen)
{
	char	*path, *text;
	int	 rc;

	path = path_join(dir, "kb.conf");
	text = conf_text(extra);
	tu_write_text(path, text);
	rc = runner_config_load(path, cfg, err, errlen);
	free(text);
	free(path);
	return rc;
}

static int
setup(void **state)
{
	char	 err[KB_ERRLEN], *text;
	int	 rc;

	if (mkdtemp(dir) == NULL)
		return -1;
	log_set_level(LOGL_ERROR);
	text = conf_text("[retention]\nall = 1h\nhourly = off\ndaily = 2d\nweekly = off\n"
	    "monthly = off\n");
	rc = tu_runner_open(&r, dir, text);
	free(text);
	if (rc == -1)
		return -1;
	if (runner_state_open(&r, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	runner_free(&r);
	tu_rmtree(dir);
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

/* Sets key's mtime age seconds back: what the store's clock sees as old. */
static void
age(const char *key, time_t age)
{
	struct timespec	 ts[2];
	char		*p = store_path(key);

	ts[0].tv_sec = ts[1].tv_sec = time(NULL) - age;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	free(p);
}

static void
put_object(const char *key, const char *text)
{
	char	err[KB_ERRLEN];

	assert_int_equal(storage_put_buffer(r.locations[0].st, key, text, strlen(text), NULL,
	    NULL, err, sizeof(err)), 0);
}

/* A record of this definition, as the backup job makes it. */
static void
make_record(struct backup_record *m, const char *id, time_t finished, const char *label,
    time_t expires)
{
	struct record_part	part;
	char			*key;

	memset(m, 0, sizeof(*m));
	m->format = RECORD_FORMAT;
	strlcpy(m->id, id, sizeof(m->id));
	m->name = xstrdup("orders");
	m->namespace_ = xstrdup("test");
	m->engine = xstrdup("postgres");
	m->mode = xstrdup("retained");
	m->started = finished - 10;
	m->finished = finished;
	m->compression = xstrdup("none");
	m->runner_version = xstrdup("test");
	m->host = xstrdup("test");
	memset(&part, 0, sizeof(part));
	key = layout_part_key(r.base, id, 0, 0);
	part.name = "data";
	part.key = key;
	part.raw_bytes = 1;
	part.stored_bytes = 1;
	memset(part.sha256, 'a', 64);
	strlcpy(part.container.cipher, "none", sizeof(part.container.cipher));
	strlcpy(part.container.kdf, "none", sizeof(part.container.kdf));
	record_add_part(m, &part);
	free(key);
	if (label != NULL)
		record_add_label(m, label, expires);
}

/* A committed backup: data, then its manifest, through the catalog. */
static void
put_backup(const char *id, time_t finished, const char *label, time_t expires)
{
	struct backup_record	 m;
	struct catalog		 c;
	char			 err[KB_ERRLEN], *key;

	make_record(&m, id, finished, label, expires);
	key = layout_part_key(r.base, id, 0, 0);
	put_object(key, "x");
	free(key);
	assert_int_equal(catalog_open(&r, &r.locations[0], 0, &c, err, sizeof(err)), 0);
	if (catalog_commit(&c, &m, err, sizeof(err)) == -1)
		fail_msg("commit %s: %s", id, err);
	catalog_close(&c);
	record_free(&m);
}

static void
open_catalog(struct catalog *c)
{
	char	err[KB_ERRLEN];

	if (catalog_open(&r, &r.locations[0], 0, c, err, sizeof(err)) == -1)
		fail_msg("catalog_open: %s", err);
}

static enum catalog_state
state_of(const struct catalog *c, const char *id)
{
	const struct catalog_entry	*e = catalog_find(c, id);

	return e != NULL ? e->state : (enum catalog_state)-1;
}

static void
remove_key(const char *key)
{
	char	*p = store_path(key);

	assert_int_equal(unlink(p), 0);
	free(p);
}

#define A	"20260301T003000Z"
#define B	"20260301T063000Z-0a0b0c"
#define C	"20261130T123000Z-1a1b1c"
#define G	"20261002T000000Z-0f0f0f"
#define T0	1772325000	/* 2026-03-01T00:30:00Z */

static void
test_index_is_a_cache(void **state)
{
	struct catalog	c;
	char		err[KB_ERRLEN], *key;

	put_backup(A, T0, "daily:2026-03-01", T0 + 30 * DAY);
	put_backup(B, T0 + 6 * 3600, "all:" B, T0 + 7 * 3600);

	/* The commits wrote the index: a catalog reads no manifest. */
	open_catalog(&c);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.stats.manifest_reads, 0);
	assert_int_equal(c.stats.index_reads, 1);
	assert_int_equal(state_of(&c, A), CATALOG_OK);
	assert_int_equal(c.index_dirty, 0);
	catalog_close(&c);

	/* Index gone: every manifest read, the index rewritten. */
	remove_key("test/orders/labels.json");
	open_catalog(&c);
	assert_int_equal(c.stats.manifest_reads, 2);
	assert_int_equal(catalog_save_index(&c, err, sizeof(err)), 0);
	catalog_close(&c);
	assert_true(exists("test/orders/labels.json"));

	/* A manifest rewritten behind the index's back: read again (its stamp changed). */
	key = layout_manifest_key(r.base, B);
	age(key, 60);
	open_catalog(&c);
	assert_int_equal(c.stats.manifest_reads, 1);
	assert_int_equal(state_of(&c, B), CATALOG_OK);
	assert_int_equal(c.index_dirty, 1);
	catalog_close(&c);
	free(key);

	/* An index of garbage, or of another version: ignored, the manifests read. */
	key = store_path("test/orders/labels.json");
	tu_write_text(key, "{\"version\":1,\"backups\":[");
	free(key);
	open_catalog(&c);
	assert_int_equal(c.stats.manifest_reads, 2);
	assert_int_equal(c.n, 2);
	catalog_close(&c);
}

/*
 * labels.json says F's label expired; F's own manifest holds it 30 more
 * days: prune keeps F.  (G is newer, so F is not kept as the newest.)
 */
static void
test_prune_trusts_the_manifest(void **state)
{
	struct prune_request	 pr = { 0, 0 };
	char			 err[KB_ERRLEN], *text, *p, *at, want[21];
	time_t			 now = time(NULL);
	size_t			 len;

	put_backup("20261001T000000Z-f0f0f0", now - DAY, "daily:f", now + 30 * DAY);
	put_backup("20261002T000000Z-0f0f0f", now, "all:g", now + 3600);
	p = store_path("test/orders/labels.json");
	assert_int_equal(read_file(p, 1 << 20, &text, &len, err, sizeof(err)), 0);
	time_to_rfc3339(now + 30 * DAY, want);
	at = strstr(text, want);	/* the index's copy of F's label; its stamp still matches */
	assert_non_null(at);
	memcpy(at, "2020", 4);
	tu_write_text(p, text);
	free(text);
	free(p);
	assert_int_equal(job_prune(&r, NULL, &pr), EXIT_OK);
	assert_true(exists("test/orders/backups/20261001T000000Z-f0f0f0/manifest.json"));
	assert_true(exists("test/orders/backups/20261001T000000Z-f0f0f0/data"));
	/* What had really expired went: A and B (2026-03), neither the newest. */
	assert_false(exists("test/orders/backups/" A "/manifest.json"));
	assert_false(exists("test/orders/backups/" B "/manifest.json"));
}

static void
test_damaged_and_foreign(void **state)
{
	struct catalog		 c;
	struct backup_record	 m;
	struct prune_request	 pr = { 0, 0 }, prd = { 0, 1 };
	char			*key, *text, *p, err[KB_ERRLEN];

	/* C: committed, then its manifest cut in half. */
	put_backup(C, T0 + 12 * 3600, "all:" C, T0 + 13 * 3600);
	p = store_path("test/orders/backups/" C "/manifest.json");
	assert_int_equal(truncate(p, 40), 0);
	free(p);
	/* A manifest of another definition under this one's ID D. */
	make_record(&m, "20260302T003000Z", T0 + DAY, NULL, 0);
	free(m.name);
	m.name = xstrdup("users");
	text = record_to_text(&m);
	put_object("test/orders/backups/20260302T003000Z/manifest.json", text);
	put_object("test/orders/backups/20260302T003000Z/data", "x");
	free(text);
	record_free(&m);
	/* A manifest whose id is not its key's (E's key, A's id). */
	make_record(&m, A, T0, NULL, 0);
	text = record_to_text(&m);
	put_object("test/orders/backups/20260303T003000Z/manifest.json", text);
	free(text);
	record_free(&m);

	open_catalog(&c);
	assert_int_equal(state_of(&c, C), CATALOG_DAMAGED);
	assert_non_null(strstr(catalog_find(&c, C)->why, "cannot be read"));
	assert_int_equal(state_of(&c, "20260302T003000Z"), CATALOG_FOREIGN);
	assert_int_equal(state_of(&c, "20260303T003000Z"), CATALOG_FOREIGN);
	assert_int_equal(c.nforeign, 2);
	assert_int_equal(catalog_count(&c, CATALOG_OK), 2);
	/* latest refuses to pass over the damaged C silently. */
	assert_null(catalog_select(&c, "latest", 0, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "backup " C " is damaged"));
	assert_non_null(strstr(err, "--skip-damaged"));
	assert_non_null(catalog_select(&c, "latest", 0, 1, err, sizeof(err)));
	catalog_close(&c);

	/* Prune keeps C and the foreign ones; --damaged deletes C, not the foreign. */
	assert_int_equal(job_prune(&r, NULL, &pr), EXIT_OK);
	assert_true(exists("test/orders/backups/" C "/manifest.json"));
	assert_true(exists("test/orders/backups/" C "/data"));
	assert_int_equal(job_prune(&r, NULL, &prd), EXIT_OK);
	assert_false(exists("test/orders/backups/" C "/manifest.json"));
	assert_false(exists("test/orders/backups/" C "/data"));
	assert_true(exists("test/orders/backups/20260302T003000Z/manifest.json"));
	assert_true(exists("test/orders/backups/20260302T003000Z/data"));
	assert_true(exists("test/orders/backups/20260303T003000Z/manifest.json"));

	/* Data missing under a good manifest: damaged, not hidden. */
	key = layout_part_key(r.base, G, 0, 0);
	remove_key(key);
	open_catalog(&c);
	assert_int_equal(state_of(&c, G), CATALOG_DAMAGED);
	assert_non_null(strstr(catalog_find(&c, G)->why, "is missing"));
	catalog_close(&c);
	put_object(key, "xx");	/* and of the wrong size */
	open_catalog(&c);
	assert_int_equal(state_of(&c, G), CATALOG_DAMAGED);
	assert_non_null(strstr(catalog_find(&c, G)->why, "is 2 bytes"));
	catalog_close(&c);
	put_object(key, "x");
	free(key);
	remove_key("test/orders/backups/20260302T003000Z/manifest.json");
	remove_key("test/orders/backups/20260302T003000Z/data");
	remove_key("test/orders/backups/20260303T003000Z/manifest.json");
}

static void
test_orphans_by_age(void **state)
{
	struct prune_request	pr = { 0, 0 };

	/* Data without a manifest: fresh (another runner's upload) kept, old swept. */
	put_object("test/orders/backups/20260101T000000Z-aaaaaa/data", "x");
	put_object("test/orders/backups/20260102T000000Z-bbbbbb/data", "x");
	age("test/orders/backups/20260101T000000Z-aaaaaa/data", 2 * DAY);
	assert_int_equal(job_prune(&r, NULL, &pr), EXIT_OK);
	assert_false(exists("test/orders/backups/20260101T000000Z-aaaaaa/data"));
	assert_true(exists("test/orders/backups/20260102T000000Z-bbbbbb/data"));
	/* An interrupted upload of the file store (a temporary), likewise. */
	put_object("test/orders/backups/20260102T000000Z-bbbbbb/data.kbtmp.1.abc", "x");
	age("test/orders/backups/20260102T000000Z-bbbbbb/data.kbtmp.1.abc", 2 * DAY);
	assert_int_equal(job_prune(&r, NULL, &pr), EXIT_OK);
	assert_false(exists("test/orders/backups/20260102T000000Z-bbbbbb/data.kbtmp.1.abc"));
	remove_key("test/orders/backups/20260102T000000Z-bbbbbb/data");
}

static void
test_markers(void **state)
{
	struct catalog		 c;
	struct marker		 mine, other;
	struct prune_request	 pr = { 0, 0 };
	char			 err[KB_ERRLEN], *text, *key;

	memset(&other, 0, sizeof(other));
	strlcpy(other.id, "20260101T000000Z-cccccc", sizeof(other.id));
	strlcpy(other.runner_id, "0123456789ab", sizeof(other.runner_id));
	strlcpy(other.host, "elsewhere", sizeof(other.host));
	other.pid = 4242;
	other.started = time(NULL);
	text = marker_to_text(&other);
	key = layout_marker_key(r.base, other.id);
	put_object(key, text);
	free(text);
	/* Its data, old by mtime: protected while the marker lives. */
	put_object("test/orders/backups/20260101T000000Z-cccccc/data", "x");
	age("test/orders/backups/20260101T000000Z-cccccc/data", 3 * DAY);

	memset(&mine, 0, sizeof(mine));
	strlcpy(mine.id, "20260301T180000Z-dddddd", sizeof(mine.id));
	strlcpy(mine.runner_id, r.runner_id, sizeof(mine.runner_id));
	/* This host's name: a marker of our runner id is ours only when written here. */
	assert_int_equal(gethostname(mine.host, sizeof(mine.host)), 0);
	open_catalog(&c);
	assert_int_equal(state_of(&c, other.id), CATALOG_RUNNING);
	assert_int_equal(catalog_job_begin(&c, &mine, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "another runner is backing up test/orders"));
	assert_non_null(strstr(err, "runner 0123456789ab on host elsewhere, pid 4242"));
	assert_false(exists("test/orders/running/20260301T180000Z-dddddd.json"));
	catalog_close(&c);
	assert_int_equal(job_prune(&r, NULL, &pr), EXIT_OK);
	assert_true(exists("test/orders/backups/20260101T000000Z-cccccc/data"));

	/* Stale (not rewritten for more than MARKER_STALE): no longer in the way. */
	age(key, MARKER_STALE + 60);
	open_catalog(&c);
	assert_int_equal(state_of(&c, other.id), CATALOG_ORPHAN);
	assert_int_equal(catalog_job_begin(&c, &mine, err, sizeof(err)), 0);
	assert_true(exists("test/orders/running/20260301T180000Z-dddddd.json"));
	catalog_job_end(&c, &mine);
	assert_false(exists("test/orders/running/20260301T180000Z-dddddd.json"));
	catalog_close(&c);
	/* ...and once older than orphan_grace, swept with its data. */
	age(key, 3 * DAY);
	assert_int_equal(job_prune(&r, NULL, &pr), EXIT_OK);
	assert_false(exists(key));
	assert_false(exists("test/orders/backups/20260101T000000Z-cccccc/data"));

	/* A marker of our own runner id, found under the lock: a killed job's; swept at once. */
	text = marker_to_text(&mine);
	free(key);
	key = layout_marker_key(r.base, mine.id);
	put_object(key, text);
	free(text);
	put_object("test/orders/backups/20260301T180000Z-dddddd/data", "x");
	assert_int_equal(job_prune(&r, NULL, &pr), EXIT_OK);
	assert_false(exists(key));
	assert_false(exists("test/orders/backups/20260301T180000Z-dddddd/data"));

	/* Our runner id, another host: a copied state directory's job, left alone. */
	strlcpy(mine.host, "a-clone", sizeof(mine.host));
	text = marker_to_text(&mine);
	put_object(key, text);
	free(text);
	put_object("test/orders/backups/20260301T180000Z-dddddd/data", "x");
	assert_int_equal(job_prune(&r, NULL, &pr), EXIT_OK);
	assert_true(exists(key));
	assert_true(exists("test/orders/backups/20260301T180000Z-dddddd/data"));
	remove_key("test/orders/backups/20260301T180000Z-dddddd/data");
	remove_key(key);
	free(key);
}

static void
test_future_and_commit(void **state)
{
	struct catalog			 c;
	struct backup_record		 m;
	const struct catalog_entry	*e;
	char				 err[KB_ERRLEN], *key;
	time_t				 now = time(NULL);

	/* A backup dated a year ahead (its writer's clock was wrong). */
	put_backup("20991231T000000Z-eeeeee", now + 365 * DAY, "all:x", now + 366 * DAY);
	open_catalog(&c);
	e = catalog_find(&c, "20991231T000000Z-eeeeee");
	assert_non_null(e);
	assert_true(e->future);
	assert_true(e->effective <= now + 5);	/* its store time */
	assert_int_equal(catalog_count_future(&c), 1);
	assert_string_not_equal(catalog_latest(&c)->id, "20991231T000000Z-eeeeee");
	e = catalog_select(&c, "latest", 0, 0, err, sizeof(err));
	assert_non_null(e);
	assert_string_not_equal(e->id, "20991231T000000Z-eeeeee");
	/* Named, it restores. */
	assert_non_null(catalog_select(&c, "20991231T000000Z-eeeeee", 0, 0, err,
	    sizeof(err)));

	/* A commit never replaces a backup: the ID is taken. */
	make_record(&m, "20991231T000000Z-eeeeee", now, NULL, 0);
	assert_int_equal(catalog_commit(&c, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exists already"));
	catalog_close(&c);
	/* Not even by a catalog that did not list it (two writers at once). */
	memset(&c, 0, sizeof(c));
	assert_int_equal(catalog_open_one(&r, &r.locations[0], "20260301T000000Z", &c, err,
	    sizeof(err)), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(catalog_commit(&c, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "exists already"));
	catalog_close(&c);
	record_free(&m);
	key = layout_manifest_key(r.base, "20991231T000000Z-eeeeee");
	assert_true(exists(key));
	free(key);
}

/* restore ID reads its manifest and HEADs its parts: no listing, no index. */
static void
test_open_one(void **state)
{
	struct catalog	c;
	char		err[KB_ERRLEN];

	assert_int_equal(catalog_open_one(&r, &r.locations[0], G, &c, err, sizeof(err)), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.stats.listings, 0);
	assert_int_equal(c.stats.index_reads, 0);
	assert_int_equal(c.stats.manifest_reads, 1);
	assert_int_equal(state_of(&c, G), CATALOG_OK);
	catalog_close(&c);
	assert_int_equal(catalog_open_one(&r, &r.locations[0], "20000101T000000Z", &c, err,
	    sizeof(err)), 0);
	assert_int_equal(c.n, 0);
	catalog_close(&c);
	assert_int_equal(catalog_open_one(&r, &r.locations[0], "../../etc", &c, err,
	    sizeof(err)), 0);
	assert_int_equal(c.n, 0);
	catalog_close(&c);
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
	assert_int_equal(load_config("[retention]\ndaily = 7x\n", &cfg, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "daily"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_is_a_cache),
		cmocka_unit_test(test_prune_trusts_the_manifest),
		cmocka_unit_test(test_damaged_and_foreign),
		cmocka_unit_test(test_orphans_by_age),
		cmocka_unit_test(test_markers),
		cmocka_unit_test(test_future_and_commit),
		cmocka_unit_test(test_open_one),
		cmocka_unit_test(test_config_rules),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
