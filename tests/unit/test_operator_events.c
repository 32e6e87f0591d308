/*
 * Unit tests for operator/events: the Event objects the API is sent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "operator/events.h"
#include "operator/names.h"

static const struct timespec when = { 1700000000, 123456789 };

static json_t *
definition(const char *name)
{
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}}",
	    "apiVersion", "kbackup.io/v1alpha1", "kind", "BackupDefinition",
	    "metadata", "name", name, "namespace", "shop", "uid", "u-1",
	    "resourceVersion", "42");
}

static const char *
str(json_t *obj, const char *path1, const char *path2)
{
	json_t	*v = json_object_get(obj, path1);

	if (path2 != NULL)
		v = json_object_get(v, path2);
	return json_string_value(v);
}

static void
test_fields(void **state)
{
	json_t	*def = definition("orders"), *ev;

	ev = events_build("op-0", def, "Warning", "SecretNotFound", "no Secret", &when);
	assert_string_equal(str(ev, "apiVersion", NULL), "v1");
	assert_string_equal(str(ev, "kind", NULL), "Event");
	assert_string_equal(str(ev, "metadata", "name"), "orders.17979cfe3d85cd15");
	assert_string_equal(str(ev, "metadata", "namespace"), "shop");
	assert_string_equal(str(ev, "involvedObject", "apiVersion"), "kbackup.io/v1alpha1");
	assert_string_equal(str(ev, "involvedObject", "kind"), "BackupDefinition");
	assert_string_equal(str(ev, "involvedObject", "name"), "orders");
	assert_string_equal(str(ev, "involvedObject", "namespace"), "shop");
	assert_string_equal(str(ev, "involvedObject", "uid"), "u-1");
	assert_string_equal(str(ev, "involvedObject", "resourceVersion"), "42");
	assert_string_equal(str(ev, "type", NULL), "Warning");
	assert_string_equal(str(ev, "reason", NULL), "SecretNotFound");
	assert_string_equal(str(ev, "message", NULL), "no Secret");
	assert_string_equal(str(ev, "source", "component"), "kbackup-operator");
	assert_string_equal(str(ev, "reportingComponent", NULL), "kbackup-operator");
	assert_string_equal(str(ev, "reportingInstance", NULL), "op-0");
	assert_string_equal(str(ev, "firstTimestamp", NULL), "2023-11-14T22:13:20Z");
	assert_string_equal(str(ev, "lastTimestamp", NULL), "2023-11-14T22:13:20Z");
	assert_int_equal(json_integer_value(json_object_get(ev, "count")), 1);
	json_decref(ev);
	json_decref(def);
}

static void
test_long_name(void **state)
{
	char	 name[254];
	json_t	*def, *ev;

	/* 253 characters, a '-' where the cut falls */
	memset(name, 'a', 253);
	name[253] = '\0';
	name[235] = '-';
	def = definition(name);
	ev = events_build("op-0", def, "Normal", "Created", "x", &when);
	assert_true(strlen(str(ev, "metadata", "name")) <= 253);
	assert_true(names_is_dns1123_subdomain(str(ev, "metadata", "name")));
	assert_string_equal(str(ev, "involvedObject", "name"), name);
	json_decref(ev);
	json_decref(def);
}

static void
test_message_cut(void **state)
{
	char	 msg[EVENTS_MESSAGE_MAX + 16];
	json_t	*def = definition("orders"), *ev;

	/* a two-byte character across the limit: cut before it */
	memset(msg, 'm', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	memcpy(msg + EVENTS_MESSAGE_MAX - 1, "\xc3\xa9", 2);
	ev = events_build("op-0", def, "Warning", "ReconcileFailed", msg, &when);
	assert_int_equal(strlen(str(ev, "message", NULL)), EVENTS_MESSAGE_MAX - 1);
	json_decref(ev);

	/* not UTF-8: still a valid JSON string */
	ev = events_build("op-0", def, "Warning", "ReconcileFailed", "bad \xff byte", &when);
	assert_string_equal(str(ev, "message", NULL), "bad ? byte");
	json_decref(ev);
	json_decref(def);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_long_name),
		cmocka_unit_test(test_message_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
