/*
 * test_commands: the command table is the one place a command is described:
 * its usage line names exactly the options it takes, --help prints every
 * command, the SYNOPSIS of man/kbackup-runner.8 lists the same commands with
 * the same options, and the parser takes what the table says and refuses
 * the rest, the same from the command line and from a trigger.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/util.h"
#include "runner/commands.h"

/* The options of a usage line or a synopsis block: "--at", "-o", ... as words. */
static int
has_word(const char *text, const char *word)
{
	const char	*p = text;
	size_t		 len = strlen(word);

	while ((p = strstr(p, word)) != NULL) {
		if ((p == text || strchr(" [|", p[-1]) != NULL) &&
		    strchr(" ]|=[", p[len]) != NULL)
			return 1;
		p += len;
	}
	return 0;
}

static void
each_option(const char *list, void (*fn)(const char *, void *), void *arg)
{
	char	*copy = xstrdup(list), *p = copy, *w;

	while ((w = strsep(&p, " ")) != NULL)
		if (*w != '\0')
			fn(w, arg);
	free(copy);
}

static void
in_usage(const char *opt, void *arg)
{
	const struct cmd_entry	*e = arg;
	char			 word[32];

	snprintf(word, sizeof(word), strcmp(opt, "output") == 0 ? "-o" : "--%s", opt);
	if (!has_word(e->usage, word))
		fail_msg("%s takes --%s but its usage line does not say so: %s", e->name, opt,
		    e->usage);
}

static void
test_usage_lines(void **state)
{
	const struct cmd_entry	*e;
	const char		*p;
	char			 opt[32];
	size_t			 n;

	for (e = cmd_table; e->name != NULL; e++) {
		each_option(e->options, in_usage, (void *)e);
		/* ...and every option in the usage line is one it takes. */
		for (p = e->usage; (p = strstr(p, "--")) != NULL; p += 2) {
			n = strspn(p + 2, "abcdefghijklmnopqrstuvwxyz-");
			snprintf(opt, sizeof(opt), "%.*s", (int)n, p + 2);
			if (!has_word(e->options, opt))
				fail_msg("%s's usage names --%s, which it does not take", e->name,
				    opt);
		}
	}
}

static void
test_help(void **state)
{
	const struct cmd_entry	*e;
	char			*text = NULL;
	size_t			 len = 0;
	FILE			*f = open_memstream(&text, &len);

	cmd_usage(f);
	fclose(f);
	for (e = cmd_table; e->name != NULL; e++) {
		assert_non_null(strstr(text, e->name));
		assert_non_null(strstr(text, e->usage));
		assert_non_null(strstr(text, e->summary));
	}
	free(text);
}

/* The SYNOPSIS of the man page: one block per ".Nm"; the command and its options. */
struct synopsis {
	char	name[32];
	char	opts[512];
};

static size_t
read_synopsis(struct synopsis *v, size_t max)
{
	const char	*top = getenv("KBACKUP_TOP");
	char		*path, *text, *line, *p, *end, err[KB_ERRLEN];
	size_t		 len, n = 0;

	path = xasprintf("%s/man/kbackup-runner.8", top != NULL ? top : ".");
	if (read_file(path, 1 << 20, &text, &len, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	p = strstr(text, ".Sh SYNOPSIS\n");
	end = strstr(text, ".Sh DESCRIPTION\n");
	assert_non_null(p);
	assert_non_null(end);
	*end = '\0';
	while ((line = strsep(&p, "\n")) != NULL) {
		if (strcmp(line, ".Nm") == 0) {
			assert_true(n < max);
			memset(&v[n++], 0, sizeof(v[0]));
		} else if (n > 0 && strncmp(line, ".Cm ", 4) == 0 && v[n - 1].name[0] == '\0')
			snprintf(v[n - 1].name, sizeof(v[0].name), "%.*s",
			    (int)strcspn(line + 4, " "), line + 4);
		else if (n > 0 && strcmp(line, ".Fl -once") == 0)
			strlcpy(v[n - 1].name, "backup", sizeof(v[0].name));
		else if (n > 0) {
			strlcat(v[n - 1].opts, line, sizeof(v[0].opts));
			strlcat(v[n - 1].opts, " ", sizeof(v[0].opts));
		}
	}
	free(text);
	free(path);
	return n;
}

static void
test_man_synopsis(void **state)
{
	struct synopsis		 syn[32];
	const struct cmd_entry	*e;
	char			*opts, *w, *p, word[40];
	size_t			 n, i, found;

	n = read_synopsis(syn, 32);
	for (e = cmd_table; e->name != NULL; e++) {
		found = 0;
		for (i = 0; i < n; i++) {
			if (strcmp(syn[i].name, e->name) != 0)
				continue;
			found++;
			/* Every option of the block is one the command takes. */
			for (p = syn[i].opts; (p = strstr(p, "Fl -")) != NULL; p += 4) {
				snprintf(word, sizeof(word), "%.*s",
				    (int)strcspn(p + 4, " "), p + 4);
				if (!has_word(e->options, word))
					fail_msg("kbackup-runner(8): %s with --%s, which it does "
					    "not take", e->name, word);
			}
		}
		if (found == 0)
			fail_msg("kbackup-runner(8) has no synopsis of %s", e->name);
		/* Every option it takes is in one of its blocks. */
		opts = xstrdup(e->options);
		p = opts;
		while ((w = strsep(&p, " ")) != NULL) {
			if (*w == '\0')
				continue;
			snprintf(word, sizeof(word), strcmp(w, "output") == 0 ? "Fl o" : "Fl -%s",
			    w);
			for (i = 0; i < n; i++)
				if (strcmp(syn[i].name, e->name) == 0 &&
				    strstr(syn[i].opts, word) != NULL)
					break;
			if (i == n)
				fail_msg("kbackup-runner(8): the synopsis of %s lacks --%s",
				    e->name, w);
		}
		free(opts);
	}
	for (i = 0; i < n; i++)
		if (cmd_find(syn[i].name) == NULL)
			fail_msg("kbackup-runner(8) shows %s, which is no command", syn[i].name);
}

static int
parse(const char *line, struct cmd_args *a, char *err, size_t errlen)
{
	char	*copy = xstrdup(line), *argv[32], *p = copy;
	int	 argc = 0, rc;

	argv[argc++] = "kbackup-runner";
	while (*line != '\0' && (argv[argc] = strsep(&p, " ")) != NULL)
		argc++;
	rc = cmd_parse_argv(argc, argv, a, err, errlen);
	free(copy);
	return rc;
}

static void
test_parser(void **state)
{
	static const struct {
		const char	*line;
		const char	*error;		/* NULL: accepted */
	} cases[] = {
		{ "-c x.conf --once", NULL },
		{ "--once -c x.conf", NULL },
		{ "list --json --storage s3", NULL },
		{ "-c x list --json", NULL },
		{ "--json list", NULL },
		{ "restore latest --database d --dry-run", NULL },
		{ "restore --at 2026-11-20T12:00Z --skip-damaged", NULL },
		{ "restore ID --at 2026-11-20", "not both" },
		{ "restore a b", "unexpected argument 'b'" },
		{ "list --at now", "list takes no --at" },
		{ "backup --dry-run", "backup takes no --dry-run" },
		{ "prune --damaged --dry-run", NULL },
		{ "prune --json", "prune takes no --json" },
		{ "verify --all --restore", "takes one backup" },
		{ "verify --target x", "--target goes with verify --restore" },
		{ "verify --restore --target=x latest", NULL },
		{ "unpack latest", "-o FILE" },
		{ "unpack latest -o -", NULL },
		{ "schedule --count 0", "--count 0 is too small" },
		{ "schedule --count", "needs a value" },
		{ "dance", "unknown command 'dance'" },
		{ "list --nope", "unknown option '--nope'" },
		{ "list --json=1", "takes no value" },
		{ "", "no command given" },
		{ "--once list", "unexpected argument 'list'" },
		{ "trigger restore --at 2026-11-20 --database x", NULL },
		{ "trigger", "trigger needs" },
		{ "restore --only a --only ü latest --globals", NULL },
		{ "restore --globals=replace --only a", NULL },
		{ "restore --globals=maybe", "--globals=maybe" },
		{ "restore --only a --only a", "--only a given twice" },
		{ "restore --only a --only b --database c", "--database takes one database" },
		{ "restore --only", "needs a value" },
		{ "verify --only a", "--only goes with verify --restore" },
		{ "verify --restore --only a latest", NULL },
		{ "verify --restore --globals", "verify takes no --globals" },
		{ "unpack --only a -o -", NULL },
		{ "list --only a", "list takes no --only" },
		{ "restore --database=", "--database needs a value (NAME), not an empty one" },
		{ "unpack latest --output=", "--output needs a value" },
		{ "verify --restore --target= latest", "--target needs a value" },
		{ "restore --database a --database b", "--database given twice" },
		{ "-c a.conf list -c b.conf", "--config given twice" },
		{ "restore --at 2026-11-20 --at=2026-11-21", "--at given twice" },
		{ "list --storage=a --storage b", "--storage given twice" },
		{ "list --json --json -v -v", NULL },
	};
	char		*globals_argv[] = { "kbackup-runner", "restore", "--globals", "latest",
	    "--only=x", "--only=y", NULL };
	struct cmd_args	 a;
	char		 err[KB_ERRLEN];
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		rc = parse(cases[i].line, &a, err, sizeof(err));
		if (cases[i].error == NULL && rc == -1)
			fail_msg("\"%s\" refused: %s", cases[i].line, err);
		if (cases[i].error != NULL && (rc != -1 || strstr(err, cases[i].error) == NULL))
			fail_msg("\"%s\": %s, expected an error with \"%s\"", cases[i].line,
			    rc == -1 ? err : "accepted", cases[i].error);
	}
	assert_int_equal(parse("trigger restore --at x", &a, err, sizeof(err)), 0);
	assert_int_equal(a.wordc, 3);
	/* --globals takes its value only after '=': the word after it is the backup. */
	assert_int_equal(cmd_parse_argv(6, globals_argv, &a, err, sizeof(err)), 0);
	assert_string_equal(a.req.which, "latest");
	assert_int_equal(a.req.globals, RESTORE_GLOBALS_MISSING);
	assert_int_equal(a.req.nonly, 2);
	assert_string_equal(a.req.only[1], "y");
	assert_int_equal(parse("restore --globals=skip", &a, err, sizeof(err)), 0);
	assert_int_equal(a.req.globals, RESTORE_GLOBALS_SKIP);

}

/* A trigger's words go through the same parser, with the same refusals. */
static void
test_trigger_words(void **state)
{
	char		*ok[] = { "restore", "latest", "--database", "copy", "--dry-run" };
	char		*bad[] = { "restore", "--json" };
	char		*conf[] = { "backup", "-c", "/etc/other.conf" };
	char		*help[] = { "restore", "--help" };
	char		*help_short[] = { "restore", "latest", "-h" };
	char		*version[] = { "restore", "-V" };
	struct cmd_args	 a;
	char		 err[KB_ERRLEN];

	assert_int_equal(cmd_parse_words(5, ok, &a, err, sizeof(err)), 0);
	assert_string_equal(a.req.which, "latest");
	assert_string_equal(a.req.database, "copy");
	assert_true(a.req.dry_run);
	assert_int_equal(cmd_parse_words(2, bad, &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "restore takes no --json"));
	assert_int_equal(cmd_parse_words(3, conf, &a, err, sizeof(err)), -1);
	/* Refused, not a restore that ignores them. */
	assert_int_equal(cmd_parse_words(2, help, &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--help and --version are not requests"));
	assert_int_equal(cmd_parse_words(3, help_short, &a, err, sizeof(err)), -1);
	assert_int_equal(cmd_parse_words(2, version, &a, err, sizeof(err)), -1);
	assert_true(cmd_find("backup")->flags & CMD_TRIGGER);
	assert_false(cmd_find("prune")->flags & CMD_TRIGGER);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage_lines),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_man_synopsis),
		cmocka_unit_test(test_parser),
		cmocka_unit_test(test_trigger_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
