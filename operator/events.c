/*
 * events: post core/v1 Events, best effort, without repeating failures.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "operator/events.h"

#define NAME_MAX_LEN	253	/* a DNS-1123 subdomain */
#define NAME_SUFFIX	17	/* "." and up to 16 hex digits */

void
events_init(struct events *ev, struct kube *k)
{
	const char	*pod = getenv("POD_NAME");
	char		 host[256];

	memset(ev, 0, sizeof(ev[0]));
	ev->kube = k;
	if (pod == NULL || *pod == '\0') {
		host_name(host, sizeof(host), EVENTS_COMPONENT);
		pod = host;
	}
	ev->instance = xstrndup(pod, EVENTS_INSTANCE_MAX);
	ev->failed = json_object();
}

void
events_free(struct events *ev)
{
	free(ev->instance);
	json_decref(ev->failed);
}

/* The Event's name, as client-go makes it: the object's name and the time. */
static char *
event_name(const char *def, const struct timespec *now)
{
	char	*cut, *out;
	size_t	 n = strlen(def);

	if (n > NAME_MAX_LEN - NAME_SUFFIX)
		n = NAME_MAX_LEN - NAME_SUFFIX;
	cut = xstrndup(def, n);
	while (n > 0 && !isalnum((unsigned char)cut[n - 1]))
		cut[--n] = '\0';
	out = xasprintf("%s.%llx", cut, (unsigned long long)now->tv_sec * 1000000000ULL +
	    (unsigned long long)now->tv_nsec);
	free(cut);
	return out;
}

/* message as a JSON string: at most EVENTS_MESSAGE_MAX bytes, valid UTF-8. */
static json_t *
event_message(const char *message)
{
	size_t	 n = strlen(message), i;
	json_t	*s;
	char	*copy;

	if (n > EVENTS_MESSAGE_MAX) {
		n = EVENTS_MESSAGE_MAX;
		while (n > 0 && ((unsigned char)message[n] & 0xc0) == 0x80)
			n--;	/* not inside a character */
	}
	if ((s = json_stringn(message, n)) != NULL)
		return s;
	copy = xstrndup(message, n);
	for (i = 0; i < n; i++)
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	s = json_string(copy);
	free(copy);
	return s;
}

json_t *
events_build(const char *instance, json_t *def, const char *type, const char *reason,
    const char *message, const struct timespec *now)
{
	json_t		*md = json_object_get(def, "metadata"), *involved, *ev;
	const char	*ns = json_string_value(json_object_get(md, "namespace"));
	const char	*name = json_string_value(json_object_get(md, "name"));
	char		 ts[21], *evname;

	time_to_rfc3339(now->tv_sec, ts);
	evname = event_name(name, now);
	involved = json_pack("{s:O?, s:O?, s:s, s:s, s:O?, s:O?}",
	    "apiVersion", json_object_get(def, "apiVersion"),
	    "kind", json_object_get(def, "kind"),
	    "name", name, "namespace", ns,
	    "uid", json_object_get(md, "uid"),
	    "resourceVersion", json_object_get(md, "resourceVersion"));
	ev = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o, s:s, s:o, s:s, s:{s:s},"
	    " s:s, s:s, s:i, s:s, s:s}",
	    "apiVersion", "v1", "kind", "Event",
	    "metadata", "name", evname, "namespace", ns,
	    "involvedObject", involved,
	    "reason", reason, "message", event_message(message), "type", type,
	    "source", "component", EVENTS_COMPONENT,
	    "firstTimestamp", ts, "lastTimestamp", ts, "count", 1,
	    "reportingComponent", EVENTS_COMPONENT,
	    "reportingInstance", instance);
	free(evname);
	return ev;
}

void
events_post(struct events *ev, json_t *def, const char *type, const char *reason,
    const char *message)
{
	struct timespec	 now;
	json_t		*body, *out;
	const char	*ns;
	char		 err[KB_ERRLEN], *path;
	long		 status;
	int		 rc;

	ns = json_string_value(json_object_get(json_object_get(def, "metadata"),
	    "namespace"));
	if (ns == NULL ||
	    json_object_get(json_object_get(def, "metadata"), "name") == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	body = events_build(ev->instance, def, type, reason, message, &now);
	path = xasprintf("/api/v1/namespaces/%s/events", ns);
	rc = kube_request(ev->kube, "POST", path, body, &status, &out, err, sizeof(err));
	json_decref(out);
	json_decref(body);
	free(path);
	if (rc == 0 && (status == 201 || status == 200)) {
		ev->posted++;
		ev->quiet = 0;
		return;
	}
	if (rc == 0)	/* answered, but refused: err holds nothing yet */
		errf(err, sizeof(err), "HTTP status %ld", status);
	/* e.g. no RBAC for events: say so once, not for every event */
	log_kv(ev->quiet ? LOGL_DEBUG : LOGL_WARN, "event not posted", "reason", reason,
	    "error", err, NULL);
	ev->quiet = 1;
}

static char *
def_id(json_t *def)
{
	json_t	*md = json_object_get(def, "metadata");

	return xasprintf("%s/%s", json_string_value(json_object_get(md, "namespace")),
	    json_string_value(json_object_get(md, "name")));
}

/*
 * Failed reconciles are retried with backoff, for as long as the cause
 * lasts.  Rather than aggregate the repeats into one Event (a PATCH of
 * count, with the Event's name to keep track of), the repeats are
 * skipped: the first says what is wrong, the Ready condition and the log
 * say that it still is, and a different message is news again.
 * Forgotten at a restart, so a --once run says it once per run.
 */
void
events_failed(struct events *ev, json_t *def, const char *message)
{
	char		*id = def_id(def);
	const char	*last = json_string_value(json_object_get(ev->failed, id));

	if (last != NULL && strcmp(last, message) == 0) {
		log_kv(LOGL_DEBUG, "event repeated, not posted", "definition", id, NULL);
		free(id);
		return;
	}
	events_post(ev, def, "Warning", "ReconcileFailed", message);
	/* kept, never sent: any bytes will do */
	json_object_set_new(ev->failed, id, json_string_nocheck(message));
	free(id);
}

void
events_forget(struct events *ev, const char *ns, const char *name)
{
	char	*id = xasprintf("%s/%s", ns, name);

	json_object_del(ev->failed, id);
	free(id);
}
