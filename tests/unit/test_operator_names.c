/*
 * Unit tests for operator/names: Kubernetes name limits and stable hashes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "operator/names.h"

static char *
repeat(char c, size_t n)
{
	char	*s = malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void
test_plain(void **state)
{
	char	*n = names_runner("shop", "orders", NAMES_MAX);

	assert_string_equal(n, "runner-shop-orders");
	free(n);
}

static void
test_exactly_at_limit(void **state)
{
	/* runner- (7) + ns (20) + - (1) + name (24) = 52: kept as is */
	char	*ns = repeat('a', 20), *name = repeat('b', 24), *n;

	n = names_runner(ns, name, NAMES_MAX);
	assert_int_equal(strlen(n), 52);
	assert_memory_equal(n, "runner-aaaa", 11);
	assert_non_null(strstr(n, name));
	free(n);
	free(name);
	name = repeat('b', 25);
	n = names_runner(ns, name, NAMES_MAX);
	assert_int_equal(strlen(n), 52);
	assert_null(strstr(n, name));		/* shortened */
	assert_true(names_is_dns1035(n, 52));
	free(n);
	free(ns);
	free(name);
}

static void
test_long_names(void **state)
{
	char	*ns = repeat('n', 63), *name = repeat('d', 253), *n1, *n2, *n3;

	n1 = names_runner(ns, name, NAMES_MAX);
	n2 = names_runner(ns, name, NAMES_MAX);
	assert_string_equal(n1, n2);		/* stable */
	assert_true(strlen(n1) <= 52);
	assert_true(names_is_dns1035(n1, 52));
	name[252] = 'e';			/* a different definition */
	n3 = names_runner(ns, name, NAMES_MAX);
	assert_string_not_equal(n1, n3);
	assert_int_equal(strlen(n1), strlen(n3));
	free(n1);
	free(n2);
	free(n3);
	n1 = names_runner(ns, name, 63);	/* a Service-only limit */
	assert_true(strlen(n1) <= 63 && names_is_dns1035(n1, 63));
	free(n1);
	free(ns);
	free(name);
}

static void
test_hash_is_fixed(void **state)
{
	char	*ns = repeat('n', 63), *n;
	char	 hash[NAMES_HASH_HEX];

	/* the suffix is SHA-256("NS/NAME"), first 10 hex digits: pinned */
	n = names_runner(ns, "x", NAMES_MAX);
	free(ns);
	ns = NULL;
	{
		char *key = malloc(63 + 3);

		memset(key, 'n', 63);
		memcpy(key + 63, "/x", 3);
		names_sha256_hex(key, strlen(key), hash);
		free(key);
	}
	assert_int_equal(strlen(n), 52);
	assert_memory_equal(n + 52 - 10, hash, 10);
	assert_int_equal(n[52 - 11], '-');
	free(n);
	names_sha256_hex("abc", 3, hash);
	assert_string_equal(hash,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void
test_dots_and_collisions(void **state)
{
	char	*a = names_runner("shop", "a.b", NAMES_MAX);
	char	*b = names_runner("shop", "a-b", NAMES_MAX);

	/* a dot is not valid in a Service name: replaced, and hashed so that
	 * a.b and a-b do not share one runner */
	assert_true(names_is_dns1035(a, 52));
	assert_string_equal(b, "runner-shop-a-b");
	assert_string_not_equal(a, b);
	free(a);
	free(b);
}

static void
test_label_values(void **state)
{
	char	*long_name = repeat('x', 200), *v;

	v = names_label_value("orders");
	assert_string_equal(v, "orders");
	free(v);
	v = names_label_value(long_name);
	assert_true(strlen(v) <= 63);
	assert_true(v[strlen(v) - 1] != '-');
	free(v);
	v = names_label_value("-odd.name-");
	assert_true(v[0] != '-' && v[strlen(v) - 1] != '-');
	free(v);
	free(long_name);
}

static void
test_validators(void **state)
{
	assert_true(names_is_dns1035("a", 63));
	assert_false(names_is_dns1035("1a", 63));
	assert_false(names_is_dns1035("a-", 63));
	assert_false(names_is_dns1035("A", 63));
	assert_false(names_is_dns1035("", 63));
	assert_true(names_is_dns1123_subdomain("a.b-c"));
	assert_false(names_is_dns1123_subdomain("a..b"));
	assert_false(names_is_dns1123_subdomain("a.-b"));
	assert_false(names_is_dns1123_subdomain(".a"));
}

static void
test_label_syntax(void **state)
{
	assert_true(names_is_label_key("team"));
	assert_true(names_is_label_key("node-role.example.com/backup"));
	assert_true(names_is_label_key("sidecar.istio.io/inject"));
	assert_false(names_is_label_key(""));
	assert_false(names_is_label_key("/x"));
	assert_false(names_is_label_key("Example.com/x"));
	assert_false(names_is_label_key("example.com/"));
	assert_false(names_is_label_key("a b"));
	assert_true(names_is_label_value(""));
	assert_true(names_is_label_value("v1.2_3-x"));
	assert_false(names_is_label_value("-x"));
	assert_false(names_is_label_value("x y"));
}

static void
test_api_token(void **state)
{
	const unsigned char	*key = (const unsigned char *)"key-of-sixteen-bytes";
	char			 a[NAMES_HASH_HEX], b[NAMES_HASH_HEX];

	/* printf 'kbackup-api-token\0shop\0orders\0uid-1' | openssl dgst -sha256 -hmac KEY */
	names_api_token(key, 20, "shop", "orders", "uid-1", a);
	assert_string_equal(a,
	    "a8c3efc952f09d0deb998b7654656b13fdca96e916c485977eefded4973c9dd2");
	/* another UID (the definition made again), or the parts shifted: another token */
	names_api_token(key, 20, "shop", "orders", "uid-2", b);
	assert_string_not_equal(a, b);
	names_api_token(key, 20, "shop", "ordersuid-1", "", b);
	assert_string_not_equal(a, b);
	names_api_token(key, 20, "shopo", "rders", "uid-1", b);
	assert_string_not_equal(a, b);
	names_api_token((const unsigned char *)"another-key-of-16", 17, "shop", "orders",
	    "uid-1", b);
	assert_string_not_equal(a, b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_syntax),
		cmocka_unit_test(test_api_token),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_exactly_at_limit),
		cmocka_unit_test(test_long_names),
		cmocka_unit_test(test_hash_is_fixed),
		cmocka_unit_test(test_dots_and_collisions),
		cmocka_unit_test(test_label_values),
		cmocka_unit_test(test_validators),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
