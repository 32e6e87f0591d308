/*
 * Unit tests for operator/yaml: YAML (and JSON) to jansson and back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/util.h"
#include "operator/yaml.h"

static json_t *
parse(const char *text)
{
	json_t	*docs;
	char	 err[KB_ERRLEN];

	if (kyaml_parse(text, strlen(text), &docs, err, sizeof(err)) == -1)
		fail_msg("parse: %s", err);
	return docs;
}

static void
assert_json(json_t *v, const char *expect)
{
	char	*s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);

	assert_string_equal(s, expect);
	free(s);
}

static void
test_scalars(void **state)
{
	json_t	*d = parse("a: 1\nb: -2\nc: 1.5\nd: true\ne: False\nf: ~\ng: null\n"
	    "h: \"1\"\ni: 'true'\nj: 0x1f\nk: 0o17\nl: 1e3\nm: yes\nn: 007\no: ''\np:\n"
	    "q: !!str 12\nr: .inf\n");

	assert_json(d, "[{\"a\":1,\"b\":-2,\"c\":1.5,\"d\":true,\"e\":false,\"f\":null,"
	    "\"g\":null,\"h\":\"1\",\"i\":\"true\",\"j\":31,\"k\":15,\"l\":1000.0,"
	    "\"m\":\"yes\",\"n\":7,\"o\":\"\",\"p\":null,\"q\":\"12\",\"r\":\".inf\"}]");
	json_decref(d);
}

static void
test_documents(void **state)
{
	json_t	*d = parse("---\nkind: A\n---\n# only a comment\n---\nkind: B\n...\n---\n- 1\n- x\n");

	assert_json(d, "[{\"kind\":\"A\"},{\"kind\":\"B\"},[1,\"x\"]]");
	json_decref(d);
}

static void
test_nesting_and_flow(void **state)
{
	json_t	*d = parse("spec:\n  list: [a, {b: c}]\n  map: {x: 1, y: [ ]}\n"
	    "  block: |\n    line one\n    line two\n  folded: >\n    a\n    b\n");

	assert_json(d, "[{\"spec\":{\"list\":[\"a\",{\"b\":\"c\"}],\"map\":{\"x\":1,"
	    "\"y\":[]},\"block\":\"line one\\nline two\\n\",\"folded\":\"a b\\n\"}}]");
	json_decref(d);
}

static void
test_json_input(void **state)
{
	json_t	*d = parse("{\"kind\": \"List\", \"items\": [{\"a\": \"b\", \"n\": 3.25}]}");

	assert_json(d, "[{\"kind\":\"List\",\"items\":[{\"a\":\"b\",\"n\":3.25}]}]");
	json_decref(d);
}

static void
test_anchors(void **state)
{
	json_t	*d = parse("a: &ref {x: 1}\nb: *ref\n");

	assert_json(d, "[{\"a\":{\"x\":1},\"b\":{\"x\":1}}]");
	json_decref(d);
}

static void
test_errors(void **state)
{
	json_t	*d;
	char	 err[KB_ERRLEN];

	assert_int_equal(kyaml_parse("a: [\n", 5, &d, err, sizeof(err)), -1);
	assert_null(d);
	assert_non_null(strstr(err, "line"));
	assert_int_equal(kyaml_parse("a: *nope\n", 9, &d, err, sizeof(err)), -1);
	assert_int_equal(kyaml_parse("? [a, b]\n: c\n", 13, &d, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "scalar"));
	/* deep nesting is refused, not a stack overflow */
	{
		char	*deep = malloc(20001);

		memset(deep, '[', 20000);
		deep[20000] = '\0';
		assert_int_equal(kyaml_parse(deep, 20000, &d, err, sizeof(err)), -1);
		free(deep);
	}
}

static void
test_roundtrip(void **state)
{
	const char *text = "{\"s\": \"true\", \"n\": \"12\", \"e\": \"\", \"x\": null, "
	    "\"multi\": \"a\\nb\\n\", \"q\": \"it's \\\"quoted\\\"\", \"list\": [], "
	    "\"obj\": {}, \"i\": 5, \"b\": false, \"colon\": \"a: b\", \"dash\": \"- x\", "
	    "\"1\": \"key looks like a number\", \"u\": \"\\u00e9t\\u00e9\"}";
	json_t	*in = parse(text), *back;
	char	*buf = NULL, err[KB_ERRLEN];
	size_t	 len = 0;
	FILE	*f = open_memstream(&buf, &len);

	assert_int_equal(kyaml_emit(in, f, err, sizeof(err)), 0);
	fclose(f);
	back = parse(buf);
	assert_true(json_equal(in, back));
	json_decref(in);
	json_decref(back);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_documents),
		cmocka_unit_test(test_nesting_and_flow),
		cmocka_unit_test(test_json_input),
		cmocka_unit_test(test_anchors),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
