/*
 * testutil: what several unit tests and fuzz targets share, so that each
 * test file holds only its own cases: a growing buffer to collect output
 * into, with the callbacks that fill it (curl, the byte path's out(), the
 * globals filter); what a text must and must not hold; a text a parser
 * refuses; a UTC time from text; a fuzz input as a string; files and trees of a test's temporary
 * directory; a runner of a config text; a [storage] section through the
 * runner's schema; the counters that the S3 test proxy (tests/s3/proxy.js)
 * keeps.
 * The Makefile links it into every unit test and fuzz target.
 */
#ifndef KB_TESTUTIL_H
#define KB_TESTUTIL_H

#include <stddef.h>
#include <time.h>

struct config;
struct runner;

/* Always NUL-terminated once anything (even nothing) was added: text or bytes. */
struct tbuf {
	char	*data;
	size_t	 len, cap;
	size_t	 calls;		/* how many times tbuf_add() was called */
	size_t	 max_call;	/* the largest single addition */
};

void	 tbuf_add(struct tbuf *, const void *, size_t);
void	 tbuf_free(struct tbuf *);
/* CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION; the data is a struct tbuf. */
size_t	 tbuf_curl_write(char *, size_t, size_t, void *);
/* The out() of compressor, decompressor and container (container_out_fn). */
int	 tbuf_out(const void *, size_t, void *, char *, size_t);
/* The out() of the globals filter (pg_globals_out). */
int	 tbuf_text_out(const char *, size_t, void *, char *, size_t);

/*
 * Asserts that text holds each string of present and none of absent (both
 * NULL-terminated, either NULL for none); a failure names the string.
 */
void	 tu_expect_text(const char *text, const char *const *present,
	    const char *const *absent);

/* A text a parser must refuse, and what its error must name. */
struct tu_refused {
	const char	*text;
	const char	*msg;
};

/*
 * Asserts that a parser given c->text returned rc -1 with an error (err)
 * naming c->msg; a failure names the text.
 */
void	 tu_expect_refused(const struct tu_refused *c, int rc, const char *err);

/* "2026-03-29T01:00:00Z" -> time_t, without the code under test. */
time_t	 tu_utc(const char *);

/*
 * The n bytes of data (a fuzz target's input: no NUL at its end) as a
 * string in buf of size bytes: 0, or -1 when they do not fit.
 */
int	 tu_cstring(char *buf, size_t size, const void *data, size_t n);

/* Writes text to path (0600, atomically); asserts that it worked. */
void	 tu_write_text(const char *path, const char *text);
/* rm -rf dir; 0, or -1 with a message on stderr. */
int	 tu_rmtree(const char *dir);

/*
 * The runner of a config text, written to dir/kb.conf, with its storage
 * open: 0, or -1 with the message on stderr (for a group's setup).
 */
int	 tu_runner_open(struct runner *, const char *dir, const char *conf);

/*
 * cfg's [storage] through the runner's schema of that section alone, as
 * check --offline and config_load() read it: 0, or -1 with err filled.
 */
int	 tu_storage_validate(struct config *cfg, char *err, size_t errlen);

/* The body of a request to url, a new string; asserts the transfer worked. */
char	*tu_http(const char *method, const char *url);
/* One counter of a JSON stats answer ({"name":N,...}); 0 if absent. */
long	 tu_json_counter(const char *json, const char *name);
/* One counter of the S3 test proxy's stats ($S3_ENDPOINT/__proxy/stats). */
long	 tu_proxy_stat(const char *name);

#endif
