/*
 * Unit tests for operator/resources and operator/runnerapi: the runner pod
 * settings of a definition and of a location (every refusal names the
 * field), BackupRun and BackupRestore specs (a restore needs a target, the
 * own database only when said), what a runner's status document puts in a
 * definition's status, and --runner-address.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "common/util.h"
#include "operator/resources.h"
#include "operator/runnerapi.h"

/* Parses the definition of a JSON text (taken); the error, "" when it parsed. */
static char *
parse_text(char *text, struct definition *d)
{
	static char	 err[KB_ERRLEN];
	const char	*reason;
	json_t		*obj;

	if ((obj = json_loads(text, 0, NULL)) == NULL)
		fail_msg("bad JSON: %s", text);
	free(text);
	err[0] = '\0';
	memset(d, 0, sizeof(*d));
	definition_parse(obj, d, &reason, err, sizeof(err));
	json_decref(obj);
	return err;
}

/* Parses a definition with spec.runner; returns the error ("" when it parsed). */
static char *
parse_runner(const char *runner, struct definition *d)
{
	return parse_text(xasprintf("{\"metadata\": {\"name\": \"orders\", \"namespace\": "
	    "\"shop\"}, \"spec\": {\"engine\": \"postgres\", \"storageLocation\": \"s3\", "
	    "\"schedule\": \"@daily\"%s%s}}", runner != NULL ? ", \"runner\": " : "",
	    runner != NULL ? runner : ""), d);
}

static void
test_runner_settings(void **state)
{
	struct definition	d;

	assert_string_equal(parse_runner("{\"resources\": {\"requests\": {\"cpu\": \"100m\", "
	    "\"memory\": \"256Mi\", \"ephemeral-storage\": 1000000000}, \"limits\": "
	    "{\"memory\": \"1.5Gi\", \"cpu\": 2, \"nvidia.com/gpu\": \"1e0\"}}, "
	    "\"nodeSelector\": {\"kubernetes.io/os\": \"linux\"}, \"tolerations\": "
	    "[{\"key\": \"dedicated\", \"operator\": \"Equal\", \"value\": \"backup\", "
	    "\"effect\": \"NoSchedule\"}, {\"operator\": \"Exists\"}, {\"key\": \"x\", "
	    "\"operator\": \"Exists\", \"effect\": \"NoExecute\", \"tolerationSeconds\": 60}], "
	    "\"priorityClassName\": \"backup-low\", \"labels\": {\"team\": \"shop\"}, "
	    "\"annotations\": {\"sidecar.istio.io/inject\": \"false\", \"note\": \"any text: ok\"}}",
	    &d), "");
	assert_string_equal(json_string_value(json_object_get(json_object_get(d.resources,
	    "requests"), "cpu")), "100m");
	assert_int_equal(json_array_size(d.tolerations), 3);
	assert_string_equal(d.priority_class, "backup-low");
	assert_string_equal(json_string_value(json_object_get(d.pod_labels, "team")), "shop");
	definition_free(&d);
	assert_string_equal(parse_runner(NULL, &d), "");
	assert_null(d.resources);
	assert_null(d.pod_labels);
	definition_free(&d);
}

/* Engine settings: scalars, and arrays of words for list keys (databases = a b). */
static char *
parse_settings_of(const char *settings, struct definition *d)
{
	return parse_text(xasprintf("{\"metadata\": {\"name\": \"db1\", \"namespace\": "
	    "\"shop\"}, \"spec\": {\"engine\": \"postgres\", \"storageLocation\": \"s3\", "
	    "\"schedule\": \"@daily\", \"settings\": %s}}", settings), d);
}

static const char *
setting(const struct definition *d, const char *key)
{
	size_t	i;

	for (i = 0; i < d->nsettings; i++)
		if (strcmp(d->settings[i].key, key) == 0)
			return d->settings[i].value;
	return NULL;
}

static void
test_settings_lists(void **state)
{
	static const char *const refused[] = {
		"{\"databases\": [\"a b\"]}", "{\"databases\": []}", "{\"databases\": [1]}",
		"{\"databases\": [\"\"]}", "{\"exclude\": {\"x\": 1}}",
	};
	struct definition	d;
	size_t			i;

	assert_string_equal(parse_settings_of("{\"databases\": [\"app\", \"\u00fcn\u00ef\"], "
	    "\"exclude\": \"test_*\", \"globals\": true, \"port\": 5432}", &d), "");
	assert_string_equal(setting(&d, "databases"), "app \xc3\xbcn\xc3\xaf");
	assert_string_equal(setting(&d, "exclude"), "test_*");
	assert_string_equal(setting(&d, "globals"), "true");
	assert_string_equal(setting(&d, "port"), "5432");
	definition_free(&d);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (strstr(parse_settings_of(refused[i], &d), "spec.settings.") == NULL)
			fail_msg("%s: accepted", refused[i]);
		definition_free(&d);
	}
}

static void
test_runner_refused(void **state)
{
	static const struct {
		const char	*runner;
		const char	*error;
	} cases[] = {
		{ "[]", "spec.runner: expected an object" },
		{ "{\"serviceAccountName\": \"kbackup-operator\"}",
		    "spec.runner.serviceAccountName: unknown setting" },
		{ "{\"hostNetwork\": true}", "spec.runner.hostNetwork: unknown setting" },
		{ "{\"resources\": {\"claims\": []}}", "spec.runner.resources.claims" },
		{ "{\"resources\": {\"limits\": {\"memory\": \"1GB\"}}}",
		    "spec.runner.resources.limits.memory: expected a quantity" },
		{ "{\"resources\": {\"limits\": {\"memory\": \"Mi\"}}}", "limits.memory" },
		{ "{\"resources\": {\"limits\": {\"memory\": -5}}}", "limits.memory" },
		{ "{\"resources\": {\"requests\": {\"cpu\": \"1e\"}}}", "requests.cpu" },
		{ "{\"nodeSelector\": {\"a b\": \"c\"}}", "spec.runner.nodeSelector: invalid key" },
		{ "{\"nodeSelector\": {\"k\": \"not a value\"}}", "spec.runner.nodeSelector.k" },
		{ "{\"tolerations\": {}}", "spec.runner.tolerations: expected a list" },
		{ "{\"tolerations\": [{\"key\": \"a\", \"operator\": \"Exists\", \"value\": \"b\"}]}",
		    "operator Exists takes no value" },
		{ "{\"tolerations\": [{\"value\": \"b\"}]}", "without a key the operator must be Exists" },
		{ "{\"tolerations\": [{\"key\": \"a\", \"effect\": \"Sometimes\"}]}", "tolerations[0]" },
		{ "{\"tolerations\": [{\"key\": \"a\", \"tolerationSeconds\": \"60\"}]}",
		    "tolerations[0].tolerationSeconds" },
		{ "{\"tolerations\": [{\"key\": \"a\", \"colour\": \"x\"}]}", "tolerations[0].colour" },
		{ "{\"priorityClassName\": \"Not_A_Name\"}", "spec.runner.priorityClassName" },
		{ "{\"labels\": {\"app.kubernetes.io/instance\": \"x\"}}",
		    "the operator sets app.kubernetes.io/* itself" },
		{ "{\"labels\": {\"kbackup.io/definition-name\": \"x\"}}",
		    "the operator sets kbackup.io/* itself" },
		{ "{\"annotations\": {\"kbackup.io/config-hash\": \"0\"}}",
		    "spec.runner.annotations.kbackup.io/config-hash" },
		{ "{\"annotations\": {\"k\": 1}}", "spec.runner.annotations.k: invalid value" },
	};
	struct definition	d;
	const char		*err;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err = parse_runner(cases[i].runner, &d);
		if (strstr(err, cases[i].error) == NULL)
			fail_msg("%s: expected \"%s\", got \"%s\"", cases[i].runner,
			    cases[i].error, err);
		definition_free(&d);
	}
}

/* A definition's spec (after "spec": {), parsed; the error, "" when it parsed. */
static char *
parse_spec(const char *spec, struct definition *d)
{
	return parse_text(xasprintf("{\"metadata\": {\"name\": \"ledger\", \"namespace\": "
	    "\"shop\"}, \"spec\": {\"storageLocation\": \"s3\", \"schedule\": \"@daily\", %s}}",
	    spec), d);
}

/* spec.pitr: the runner's stream; refused where it cannot work or would be overridden. */
static void
test_pitr(void **state)
{
	struct definition	d;

	assert_string_equal(parse_spec("\"engine\": \"postgres\", \"pitr\": {\"slot\": "
	    "\"kb_ledger\", \"checkpoint\": \"fast\"}", &d), "");
	assert_true(d.pitr);
	assert_string_equal(d.pitr_slot, "kb_ledger");
	assert_string_equal(d.pitr_checkpoint, "fast");
	definition_free(&d);
	assert_string_equal(parse_spec("\"engine\": \"postgres\", \"pitr\": {}", &d), "");
	assert_true(d.pitr);
	assert_null(d.pitr_slot);
	definition_free(&d);
	assert_string_equal(parse_spec("\"engine\": \"mysql\", \"pitr\": {}", &d),
	    "spec.pitr: only for engine postgres");
	definition_free(&d);
	assert_string_equal(parse_spec("\"engine\": \"postgres\", \"mode\": \"single\", "
	    "\"pitr\": {}", &d), "spec.pitr: needs mode retained");
	definition_free(&d);
	assert_string_equal(parse_spec("\"engine\": \"postgres\", \"settings\": "
	    "{\"wal_method\": \"push\"}, \"pitr\": {}", &d),
	    "spec.settings.wal_method: set by spec.pitr");
	definition_free(&d);
	assert_non_null(strstr(parse_spec("\"engine\": \"postgres\", \"pitr\": {\"slot\": "
	    "\"Bad-Slot\"}", &d), "spec.pitr.slot"));
	definition_free(&d);
	assert_string_equal(parse_spec("\"engine\": \"postgres\", \"pitr\": {\"checkpoint\": "
	    "\"now\"}", &d), "spec.pitr.checkpoint: expected fast or spread");
	definition_free(&d);
}

/*
 * Parses a file location with spec.runner; the error, "" when it parsed
 * (0 returned), never "" when it did not (-1).
 */
static const char *
parse_location(const char *runner, struct location *l)
{
	static char	 err[KB_ERRLEN];
	char		*text;
	json_t		*obj;
	int		 rc;

	text = xasprintf("{\"metadata\": {\"name\": \"s3\", \"namespace\": \"kbackup\"}, "
	    "\"spec\": {\"type\": \"file\", \"path\": \"/b\", \"runner\": %s}}", runner);
	if ((obj = json_loads(text, 0, NULL)) == NULL)
		fail_msg("bad JSON: %s", text);
	free(text);
	err[0] = '\0';
	rc = location_parse(obj, l, err, sizeof(err));
	json_decref(obj);
	if (rc != (err[0] == '\0' ? 0 : -1))
		fail_msg("location_parse returned %d, error \"%s\"", rc, err);
	return err;
}

static void
test_location_service_account(void **state)
{
	struct location	 l;

	assert_string_equal(parse_location("{\"serviceAccountName\": \"kbackup-runner\"}",
	    &l), "");
	assert_string_equal(l.service_account, "kbackup-runner");
	location_free(&l);
	assert_non_null(strstr(parse_location("{\"serviceAccountName\": \"-x\"}", &l),
	    "spec.runner.serviceAccountName: invalid name"));
	location_free(&l);
	assert_non_null(strstr(parse_location("{\"resources\": {}}", &l),
	    "spec.runner.resources: unknown setting"));
	location_free(&l);
}

/* Parses a run of kind with spec; the error, "" when it parsed. */
static const char *
parse_run(enum run_kind kind, const char *spec, struct run *run)
{
	static char	 err[KB_ERRLEN];
	char		*text;
	json_t		*obj;

	text = xasprintf("{\"metadata\": {\"name\": \"r\", \"namespace\": \"shop\", "
	    "\"uid\": \"u-1\"}, \"spec\": %s}", spec);
	obj = json_loads(text, 0, NULL);
	free(text);
	err[0] = '\0';
	run_parse(obj, kind, run, err, sizeof(err));
	json_decref(obj);
	return err;
}

static void
test_runs(void **state)
{
	static const struct {
		enum run_kind	 kind;
		const char	*spec;
		const char	*error;
	} cases[] = {
		{ RUN_BACKUP, "{\"definition\": \"orders\"}", "" },
		{ RUN_BACKUP, "{}", "spec.definition: expected the name of a BackupDefinition" },
		{ RUN_BACKUP, "{\"definition\": \"Orders\"}", "spec.definition" },
		{ RUN_BACKUP, "{\"definition\": \"orders\", \"backup\": \"latest\"}",
		    "spec.backup: unknown field" },
		{ RUN_RESTORE, "{\"definition\": \"orders\", \"database\": \"copy\"}", "" },
		{ RUN_RESTORE, "{\"definition\": \"orders\", \"intoSourceDatabase\": true, "
		    "\"at\": \"2026-11-24T03:00:00Z\"}", "" },
		{ RUN_RESTORE, "{\"definition\": \"orders\", \"backup\": \"20261124T030000Z\", "
		    "\"database\": \"copy\"}", "" },
		{ RUN_RESTORE, "{\"definition\": \"orders\", \"backup\": "
		    "\"20261124T030000Z-3fa94c\", \"database\": \"copy\"}", "" },
		{ RUN_RESTORE, "{\"definition\": \"orders\", \"backup\": "
		    "\"20261124T030000Z-3FA94C\", \"database\": \"copy\"}", "spec.backup" },
		{ RUN_RESTORE, "{\"definition\": \"orders\"}", "no target database" },
		{ RUN_RESTORE, "{\"definition\": \"orders\", \"intoSourceDatabase\": false}",
		    "no target database" },
		{ RUN_RESTORE, "{\"definition\": \"orders\", \"database\": \"c\", \"backup\": "
		    "\"latest\", \"at\": \"2026-11-24\"}", "give backup or at, not both" },
		{ RUN_RESTORE, "{\"definition\": \"orders\", \"database\": \"c\", \"backup\": "
		    "\"yesterday\"}", "spec.backup: expected latest or a backup ID" },
		{ RUN_RESTORE, "{\"definition\": \"orders\", \"database\": \"c\", \"backup\": "
		    "\"20261124T03000Z\"}", "spec.backup" },
		{ RUN_RESTORE, "{\"definition\": \"orders\", \"database\": \"--clean\"}",
		    "spec.database: expected a database name" },
		{ RUN_RESTORE, "{\"definition\": \"orders\", \"database\": \"a\\nb\"}",
		    "spec.database: control character" },
		{ RUN_RESTORE, "{\"definition\": \"orders\", \"database\": \"c\", \"at\": \"\"}",
		    "spec.at" },
		{ RUN_RESTORE, "{\"definition\": \"orders\", \"database\": \"c\", "
		    "\"intoSourceDatabase\": \"yes\"}", "intoSourceDatabase" },
	};
	struct run	 run;
	const char	*err;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err = parse_run(cases[i].kind, cases[i].spec, &run);
		if (cases[i].error[0] == '\0' ? err[0] != '\0' :
		    strstr(err, cases[i].error) == NULL)
			fail_msg("%s: expected \"%s\", got \"%s\"", cases[i].spec,
			    cases[i].error, err);
		if (err[0] == '\0') {
			assert_string_equal(run.definition, "orders");
			assert_string_equal(run.uid, "u-1");
		}
		run_free(&run);
	}
	parse_run(RUN_RESTORE, "{\"definition\": \"orders\", \"intoSourceDatabase\": true}",
	    &run);
	assert_true(run.into_source);
	assert_null(run.database);
	run_free(&run);
}

static void
test_backups_status(void **state)
{
	json_t	*st, *f;

	st = json_loads("{\"definition\": \"shop/orders\", \"running\": null, "
	    "\"nextRun\": \"2026-11-25T03:00:00Z\", \"lastBackup\": {\"id\": \"j\", "
	    "\"kind\": \"backup\", \"state\": \"failed\", \"backupId\": \"20261124T030000Z\", "
	    "\"completionTime\": \"2026-11-24T03:00:09Z\", \"error\": \"pg_dump: no\"}, "
	    "\"locations\": [{\"name\": \"default\", \"backups\": 7, \"newest\": {\"id\": "
	    "\"20261123T030000Z\", \"completionTime\": \"2026-11-23T03:01:00Z\", "
	    "\"storedBytes\": 1234, \"rawBytes\": 9999}}]}", 0, NULL);
	f = runnerapi_backups(st);
	assert_string_equal(json_string_value(json_object_get(json_object_get(f,
	    "lastBackup"), "result")), "Failed");
	assert_string_equal(json_string_value(json_object_get(json_object_get(f,
	    "lastBackup"), "error")), "pg_dump: no");
	assert_null(json_object_get(json_object_get(f, "lastBackup"), "size"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(f,
	    "lastSuccessfulBackup"), "id")), "20261123T030000Z");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(f,
	    "lastSuccessfulBackup"), "size")), 1234);
	assert_int_equal(json_integer_value(json_object_get(f, "backupsKept")), 7);
	assert_string_equal(json_string_value(json_object_get(f, "nextBackup")),
	    "2026-11-25T03:00:00Z");
	json_decref(f);
	json_decref(st);
	/* a runner that lost its job history and cannot read its storage: nothing to say */
	st = json_loads("{\"nextRun\": null, \"lastBackup\": null, \"locations\": "
	    "[{\"name\": \"default\", \"backups\": null, \"error\": \"cannot be read\"}]}",
	    0, NULL);
	f = runnerapi_backups(st);
	assert_null(json_object_get(f, "lastBackup"));
	assert_null(json_object_get(f, "lastSuccessfulBackup"));
	assert_null(json_object_get(f, "backupsKept"));
	assert_true(json_is_null(json_object_get(f, "nextBackup")));
	json_decref(f);
	json_decref(st);
	/* an empty location: no last success any more */
	st = json_loads("{\"locations\": [{\"name\": \"default\", \"backups\": 0, "
	    "\"newest\": null}]}", 0, NULL);
	f = runnerapi_backups(st);
	assert_true(json_is_null(json_object_get(f, "lastSuccessfulBackup")));
	assert_int_equal(json_integer_value(json_object_get(f, "backupsKept")), 0);
	json_decref(f);
	json_decref(st);
}

static void
test_addresses(void **state)
{
	struct runnerapi	ra;
	struct runner_target	t;

	runnerapi_init(&ra, "kbackup", 5);
	assert_int_equal(runnerapi_add_address(&ra, "shop/orders=127.0.0.1:9187"), 0);
	assert_int_equal(runnerapi_add_address(&ra, "shop/v6=[::1]:9187"), 0);
	assert_int_equal(runnerapi_add_address(&ra, "orders=127.0.0.1:9187"), -1);
	assert_int_equal(runnerapi_add_address(&ra, "shop/orders=127.0.0.1"), -1);
	assert_int_equal(runnerapi_add_address(&ra, "shop/orders=http://x:1/"), -1);
	assert_int_equal(runnerapi_add_address(&ra, "/orders=h:1"), -1);
	memcpy(ra.key, "0123456789abcdef", 16);
	ra.keylen = 16;
	runnerapi_target(&ra, "shop", "orders", "u", "runner-shop-orders", &t);
	assert_string_equal(t.base, "http://127.0.0.1:9187");
	assert_int_equal(strlen(t.token), 64);
	runnerapi_target_free(&t);
	runnerapi_target(&ra, "shop", "other", "u", "runner-shop-other", &t);
	assert_string_equal(t.base, "http://runner-shop-other.kbackup.svc:9187");
	runnerapi_target_free(&t);
	runnerapi_free(&ra);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runner_settings),
		cmocka_unit_test(test_settings_lists),
		cmocka_unit_test(test_runner_refused),
		cmocka_unit_test(test_pitr),
		cmocka_unit_test(test_location_service_account),
		cmocka_unit_test(test_runs),
		cmocka_unit_test(test_backups_status),
		cmocka_unit_test(test_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
