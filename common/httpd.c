/*
 * httpd: a small HTTP server of registered routes on libmicrohttpd.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "common/log.h"
#include "common/util.h"
#include "common/httpd.h"

#define HTTP_MAX_ROUTES		8
#define HTTP_CONN_LIMIT		32
#define HTTP_CONN_TIMEOUT	300		/* seconds idle; transfers can be slow */
#define HTTP_STACK_SIZE		(1024 * 1024)
#define HTTP_STREAM_BLOCK	(64 * 1024)

struct http_route {
	char				*prefix;
	const struct http_route_ops	*ops;
	void				*arg;
	int				 inflight;
	int				 removed;
};

struct http_server {
	struct MHD_Daemon	*mhd;
	pthread_mutex_t		 lock;
	pthread_cond_t		 idle;		/* a route's inflight reached 0 */
	struct http_route	 routes[HTTP_MAX_ROUTES];
};

/* Per request (MHD's con_cls). */
struct http_req {
	struct http_server	*srv;
	struct http_route	*route;		/* NULL for built-in pages */
	void			*state;
	int			 begun;		/* begin() returned 0: done() is owed */
	int			 answered;
	http_read_fn		 read;		/* streamed reply */
	struct http_request	 rq;
};

static enum MHD_Result
queue_reply(struct MHD_Connection *c, int status, const char *type, const void *body,
    size_t len)
{
	struct MHD_Response	*r;
	enum MHD_Result		 ret;

	r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	if (type != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, (unsigned int)status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
serve_not_found(struct MHD_Connection *c)
{
	return queue_reply(c, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n", 10);
}

/* A prefix ending in '/' takes every path under it; any other only itself. */
static int
route_matches(const struct http_route *r, const char *url)
{
	size_t	len = strlen(r->prefix);

	if (r->prefix[len - 1] == '/')
		return startswith(url, r->prefix);
	return strcmp(url, r->prefix) == 0;
}

/* Takes a reference on the route whose prefix starts url, or returns NULL. */
static struct http_route *
route_find(struct http_server *srv, const char *url)
{
	struct http_route	*r, *found = NULL;
	int			 i;

	pthread_mutex_lock(&srv->lock);
	for (i = 0; i < HTTP_MAX_ROUTES; i++) {
		r = &srv->routes[i];
		if (r->prefix != NULL && !r->removed && route_matches(r, url)) {
			r->inflight++;
			found = r;
			break;
		}
	}
	pthread_mutex_unlock(&srv->lock);
	return found;
}

static void
route_release(struct http_server *srv, struct http_route *r)
{
	pthread_mutex_lock(&srv->lock);
	if (--r->inflight == 0)
		pthread_cond_broadcast(&srv->idle);
	pthread_mutex_unlock(&srv->lock);
}

static ssize_t
stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_req	*req = cls;
	ssize_t		 n;

	n = req->read(req->state, pos, buf, max);
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	return n;
}

static enum MHD_Result
queue_route_reply(struct http_req *req, struct MHD_Connection *c, struct http_reply *rep)
{
	struct MHD_Response	*r;
	enum MHD_Result		 ret;
	int			 i;

	if (rep->read != NULL) {
		req->read = rep->read;
		r = MHD_create_response_from_callback(rep->size == HTTP_SIZE_UNKNOWN ?
		    MHD_SIZE_UNKNOWN : rep->size, HTTP_STREAM_BLOCK, stream_reader, req, NULL);
	} else
		r = MHD_create_response_from_buffer(rep->len, (void *)rep->body,
		    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	if (rep->content_type != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rep->content_type);
	for (i = 0; i < HTTP_MAX_HEADERS && rep->header_names[i] != NULL; i++)
		MHD_add_response_header(r, rep->header_names[i], rep->header_values[i]);
	ret = MHD_queue_response(c, (unsigned int)rep->status, r);
	MHD_destroy_response(r);
	return ret;
}

static uint64_t
content_length(struct MHD_Connection *c)
{
	const char	*s;
	char		*end;
	unsigned long long v;

	s = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (s == NULL)
		return HTTP_SIZE_UNKNOWN;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return HTTP_SIZE_UNKNOWN;
	return (uint64_t)v;
}

static enum MHD_Result
route_first(struct http_req *req, struct MHD_Connection *c, const char *url,
    const char *method)
{
	int	status;

	req->rq.method = method;
	req->rq.path = url;
	req->rq.suffix = url + strlen(req->route->prefix);
	req->rq.range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
	req->rq.authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	req->rq.content_length = content_length(c);
	status = req->route->ops->begin(req->route->arg, &req->rq, &req->state);
	if (status != 0) {
		req->answered = 1;
		return queue_reply(c, status, NULL, "", 0);
	}
	req->begun = 1;
	return MHD_YES;
}

static enum MHD_Result
route_next(struct http_req *req, struct MHD_Connection *c, const char *upload,
    size_t *upload_size)
{
	struct http_reply	rep;
	const struct http_route_ops *ops = req->route->ops;

	if (req->answered) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (ops->data == NULL || ops->data(req->route->arg, req->state, upload,
		    *upload_size) == -1) {
			*upload_size = 0;
			req->answered = 1;
			return queue_reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
			    "upload failed\n", 14);
		}
		*upload_size = 0;
		return MHD_YES;
	}
	memset(&rep, 0, sizeof(rep));
	rep.status = MHD_HTTP_OK;
	req->answered = 1;
	if (ops->finish(req->route->arg, req->state, &req->rq, &rep) == -1)
		return queue_reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
		    "internal error\n", 15);
	return queue_route_reply(req, c, &rep);
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct http_server	*srv = cls;
	struct http_req		*req = *con_cls;

	if (req == NULL) {
		req = xcalloc(1, sizeof(*req));
		req->srv = srv;
		*con_cls = req;
		log_kv(LOGL_DEBUG, "http request", "method", method, "path", url, NULL);
		req->route = route_find(srv, url);
		if (req->route == NULL) {
			req->answered = 1;
			return serve_not_found(c);
		}
		return route_first(req, c, url, method);
	}
	if (req->route == NULL) {
		*upload_size = 0;	/* a body sent to a missing page is ignored */
		return MHD_YES;
	}
	return route_next(req, c, upload, upload_size);
}

static void
completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_server	*srv = cls;
	struct http_req		*req = *con_cls;

	if (req == NULL)
		return;
	if (req->route != NULL) {
		if (req->begun && req->route->ops->done != NULL)
			req->route->ops->done(req->route->arg, req->state,
			    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
		route_release(srv, req->route);
	}
	free(req);
	*con_cls = NULL;
}

static void
mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char	msg[512];
	size_t	n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_kv(LOGL_WARN, "http server", "error", msg, NULL);
}

/* "HOST:PORT", "[V6]:PORT", ":PORT" into a socket address. */
static int
parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *sslen,
    char *err, size_t errlen)
{
	struct addrinfo	 hints, *res;
	char		*host, *port, *colon;
	int		 rc;

	host = xstrdup(listen);
	if ((colon = strrchr(host, ':')) == NULL) {
		free(host);
		return errf(err, errlen, "listen %s: expected HOST:PORT", listen);
	}
	*colon = '\0';
	port = colon + 1;
	if (host[0] == '[' && colon > host + 1 && colon[-1] == ']') {
		colon[-1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(*host == '\0' ? NULL : host, port, &hints, &res);
	if (rc != 0) {
		free(host);
		return errf(err, errlen, "listen %s: %s", listen, gai_strerror(rc));
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	free(host);
	return 0;
}

int
http_start(const char *listen, struct http_server **srvp, char *err, size_t errlen)
{
	struct http_server	*srv;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	unsigned int		 flags;

	if (parse_listen(listen, &ss, &sslen, err, errlen) == -1)
		return -1;
	srv = xcalloc(1, sizeof(*srv));
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->idle, NULL);
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
	    MHD_USE_POLL | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	srv->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handler, srv,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, srv,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, srv,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTP_CONN_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_CONN_TIMEOUT,
	    MHD_OPTION_THREAD_STACK_SIZE, (size_t)HTTP_STACK_SIZE,
	    MHD_OPTION_END);
	if (srv->mhd == NULL) {
		pthread_cond_destroy(&srv->idle);
		pthread_mutex_destroy(&srv->lock);
		free(srv);
		return errf(err, errlen, "listen %s: cannot start the HTTP server "
		    "(address in use or not available)", listen);
	}
	*srvp = srv;
	return 0;
}

uint16_t
http_port(struct http_server *srv)
{
	const union MHD_DaemonInfo *info;

	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
	return info == NULL ? 0 : info->port;
}

void
http_stop(struct http_server *srv)
{
	int	i;

	if (srv == NULL)
		return;
	MHD_stop_daemon(srv->mhd);
	for (i = 0; i < HTTP_MAX_ROUTES; i++)
		free(srv->routes[i].prefix);
	pthread_cond_destroy(&srv->idle);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}

int
http_route_add(struct http_server *srv, const char *prefix,
    const struct http_route_ops *ops, void *arg, char *err, size_t errlen)
{
	struct http_route	*free_slot = NULL;
	int			 i;

	if (prefix[0] != '/')
		return errf(err, errlen, "route %s: must start with /", prefix);
	if (ops->begin == NULL || ops->finish == NULL)
		return errf(err, errlen, "route %s: begin and finish are required", prefix);
	pthread_mutex_lock(&srv->lock);
	for (i = 0; i < HTTP_MAX_ROUTES; i++) {
		struct http_route *r = &srv->routes[i];

		if (r->prefix != NULL && strcmp(r->prefix, prefix) == 0) {
			pthread_mutex_unlock(&srv->lock);
			return errf(err, errlen, "route %s: already registered", prefix);
		}
		if (r->prefix == NULL && free_slot == NULL)
			free_slot = r;
	}
	if (free_slot == NULL) {
		pthread_mutex_unlock(&srv->lock);
		return errf(err, errlen, "route %s: too many routes", prefix);
	}
	free_slot->prefix = xstrdup(prefix);
	free_slot->ops = ops;
	free_slot->arg = arg;
	free_slot->inflight = 0;
	free_slot->removed = 0;
	pthread_mutex_unlock(&srv->lock);
	return 0;
}

void
http_route_remove(struct http_server *srv, const char *prefix)
{
	struct http_route	*r;
	int			 i;

	pthread_mutex_lock(&srv->lock);
	for (i = 0; i < HTTP_MAX_ROUTES; i++) {
		r = &srv->routes[i];
		if (r->prefix == NULL || r->removed || strcmp(r->prefix, prefix) != 0)
			continue;
		r->removed = 1;
		while (r->inflight > 0)
			pthread_cond_wait(&srv->idle, &srv->lock);
		free(r->prefix);
		memset(r, 0, sizeof(*r));
		break;
	}
	pthread_mutex_unlock(&srv->lock);
}
