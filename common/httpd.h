/*
 * httpd: a small HTTP server (libmicrohttpd) that knows nothing but its
 * routes; a path no route takes gets 404.
 *
 * Modules register what they serve: the runner's metrics module "/metrics"
 * and "/healthz" (runner/service/metrics.h); the control API "/api/v1/"
 * (runner/service/api.h); the cockroach engine
 * "/transfer/TOKEN/" for one job, to receive BACKUP files (PUT) and serve
 * them back for RESTORE (GET/HEAD), removed afterwards.
 *
 * Each connection is served by its own thread (MHD thread-per-connection),
 * so a route callback may block, e.g. on the backup pipeline, without holding
 * up /metrics.  Nothing runs while no request is in flight.
 */
#ifndef KB_HTTPD_H
#define KB_HTTPD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct http_server;

#define HTTP_SIZE_UNKNOWN	UINT64_MAX
#define HTTP_MAX_HEADERS	4

struct http_request {
	const char	*method;	/* "GET", "PUT", ... */
	const char	*path;		/* full path, "/transfer/TOKEN/a/b.sst" */
	const char	*suffix;	/* after the prefix, "a/b.sst"; not normalised: refuse ".." */
	const char	*range;		/* Range header, or NULL */
	const char	*authorization;	/* Authorization header, or NULL (never log it) */
	uint64_t	 content_length;	/* HTTP_SIZE_UNKNOWN if not given */
};

/*
 * A streamed body: called with the offset into the body; returns bytes put in
 * buf (at most max), 0 at the end, -1 on error (the connection is dropped).
 * May block.  Runs in the connection's thread, before done().
 */
typedef ssize_t (*http_read_fn)(void *state, uint64_t pos, char *buf, size_t max);

struct http_reply {
	int		 status;		/* 200 unless set */
	const char	*content_type;		/* NULL: none */
	/* Either a body (copied) ... */
	const void	*body;
	size_t		 len;
	/* ... or a streamed one of size bytes (HTTP_SIZE_UNKNOWN: chunked). */
	http_read_fn	 read;
	uint64_t	 size;
	/* Extra headers (Content-Range, ETag, ...); NULL name ends the list early. */
	const char	*header_names[HTTP_MAX_HEADERS];
	const char	*header_values[HTTP_MAX_HEADERS];
};

/*
 * A route's callbacks, all called in the connection's thread.  arg is the one
 * given to http_route_add(); *state is the route's per-request pointer.
 */
struct http_route_ops {
	/* Headers are in.  Return 0 to go on, or an HTTP status to answer with (empty body). */
	int	(*begin)(void *arg, const struct http_request *, void **state);
	/* A chunk of the request body (PUT/POST).  -1: answer 500 and stop. */
	int	(*data)(void *arg, void *state, const char *buf, size_t len);
	/* Whole body received: fill in the reply.  -1: answer 500. */
	int	(*finish)(void *arg, void *state, const struct http_request *,
		    struct http_reply *);
	/* Always called once begin() returned 0; ok is 1 if the reply was sent in full. */
	void	(*done)(void *arg, void *state, int ok);
};

/*
 * listen: "HOST:PORT", "[V6]:PORT" or ":PORT" (every address); port 0 picks
 * one (see http_port()).
 */
int	 http_start(const char *listen, struct http_server **, char *err, size_t errlen);
uint16_t http_port(struct http_server *);
void	 http_stop(struct http_server *);

/*
 * prefix starts with '/'.  Ending in '/' it takes every path under it
 * ("/transfer/TOKEN/"), otherwise only that path ("/metrics").  At most 8
 * routes; -1 if full or taken.
 */
int	 http_route_add(struct http_server *, const char *prefix,
	    const struct http_route_ops *, void *arg, char *err, size_t errlen);
/* Stops new requests to the route and waits until those in flight are done(). */
void	 http_route_remove(struct http_server *, const char *prefix);

#endif
