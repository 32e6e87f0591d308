/*
 * pg_globals: pg_dumpall --globals-only output, split and filtered.  See
 * pg_globals.h.  Block comments and dollar quotes are not split on:
 * pg_dumpall writes neither.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "engines/pg_globals.h"

enum split_state {
	S_SPACE,	/* only blanks and comments so far */
	S_SQL,		/* in a statement */
	S_SQUOTE,	/* '...' */
	S_EQUOTE,	/* E'...' */
	S_EQUOTE_ESC,	/* after a backslash in E'...' */
	S_DQUOTE,	/* "..." */
	S_COMMENT,	/* -- to the end of the line */
	S_META		/* a psql meta-command line */
};

struct pg_globals {
	char			**roles;	/* sorted copies */
	size_t			  nroles;
	char			**spaces;
	size_t			  nspaces;
	int			  replace;
	char			 *self;		/* the role the runner connects as */
	pg_globals_out		  out;
	void			 *arg;
	char			 *buf;		/* the unit being read */
	size_t			  len, cap;
	enum split_state	  state;
	int			  started;	/* the comment interrupts a statement */
	size_t			  created, left;
};

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **
sorted(char **names, size_t *n)
{
	char	**v;
	size_t	  i;

	for (*n = 0; names != NULL && names[*n] != NULL; (*n)++)
		;
	v = xcalloc(*n + 1, sizeof(*v));
	for (i = 0; i < *n; i++)
		v[i] = xstrdup(names[i]);
	qsort(v, *n, sizeof(*v), cmp_name);
	return v;
}

static int
has(char **v, size_t n, const char *name)
{
	return bsearch(&name, v, n, sizeof(*v), cmp_name) != NULL;
}

struct pg_globals *
pg_globals_new(char **roles, char **tablespaces, const char *self, int replace,
    pg_globals_out out, void *arg)
{
	struct pg_globals	*g = xcalloc(1, sizeof(*g));

	if (self != NULL)
		g->self = xstrdup(self);

	g->roles = sorted(roles, &g->nroles);
	g->spaces = sorted(tablespaces, &g->nspaces);
	g->replace = replace;
	g->out = out;
	g->arg = arg;
	return g;
}

void
pg_globals_free(struct pg_globals *g)
{
	if (g == NULL)
		return;
	if (g->buf != NULL)
		freezero(g->buf, g->cap);
	words_free(g->roles);
	words_free(g->spaces);
	free(g->self);
	free(g);
}

void
pg_globals_counts(const struct pg_globals *g, size_t *created, size_t *left)
{
	*created = g->created;
	*left = g->left;
}

/* Tokens of a statement, as far as deciding needs them. */
enum tok_type { T_END, T_WORD, T_IDENT, T_STRING, T_PUNCT };

struct tok {
	enum tok_type	 type;
	char		*text;		/* T_WORD lowercased, T_IDENT unquoted; else NULL */
};

#define TOKS_MAX	64

static int
ident_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

/* A quoted run starting at p (p[0] the quote); its text with doubled quotes undone. */
static const char *
quoted(const char *p, char q, int backslash, char **text)
{
	size_t	n = 0;
	char	*t = xmalloc(strlen(p) + 1);

	for (p++; *p != '\0'; p++) {
		if (backslash && *p == '\\' && p[1] != '\0') {
			t[n++] = *++p;
			continue;
		}
		if (*p == q) {
			if (p[1] != q) {
				p++;
				break;
			}
			p++;
		}
		t[n++] = *p;
	}
	t[n] = '\0';
	*text = t;
	return p;
}

static const char *
next_tok(const char *p, struct tok *t)
{
	char	*w;
	size_t	 i, n;

	t->text = NULL;
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (p[0] != '-' || p[1] != '-')
			break;
		p += strcspn(p, "\n");
	}
	if (*p == '\0') {
		t->type = T_END;
		return p;
	}
	if (*p == '"') {
		t->type = T_IDENT;
		return quoted(p, '"', 0, &t->text);
	}
	if (*p == '\'' || ((*p == 'E' || *p == 'e') && p[1] == '\'')) {
		t->type = T_STRING;
		p = quoted(p + (*p != '\''), '\'', *p != '\'', &w);
		free(w);
		return p;
	}
	if (ident_char((unsigned char)*p)) {
		for (n = 0; ident_char((unsigned char)p[n]); n++)
			;
		w = xstrndup(p, n);
		for (i = 0; i < n; i++)
			w[i] = (char)tolower((unsigned char)w[i]);
		t->type = T_WORD;
		t->text = w;
		return p + n;
	}
	t->type = T_PUNCT;
	return p + 1;
}

static size_t
tokenize(const char *s, struct tok *v, size_t max)
{
	size_t	n = 0;

	while (n < max) {
		s = next_tok(s, &v[n]);
		if (v[n].type == T_END)
			break;
		n++;
	}
	return n;
}

static int
is_word(const struct tok *t, const char *w)
{
	return t->type == T_WORD && strcmp(t->text, w) == 0;
}

static int
is_name(const struct tok *t)
{
	return t->type == T_WORD || t->type == T_IDENT;
}

enum about { A_OTHER, A_ROLE, A_SPACE, A_MEMBERS };

struct verdict {
	enum about	 about;
	int		 create;
	const char	*name;		/* A_ROLE, A_SPACE */
	size_t		 members;	/* A_MEMBERS: the first member's token */
};

/* ROLE|USER|GROUP r or TABLESPACE t at v[i]. */
static int
object_at(const struct tok *v, size_t n, size_t i, struct verdict *d)
{
	if (i + 1 >= n || !is_name(&v[i + 1]))
		return 0;
	if (is_word(&v[i], "role") || is_word(&v[i], "user") || is_word(&v[i], "group"))
		d->about = A_ROLE;
	else if (is_word(&v[i], "tablespace"))
		d->about = A_SPACE;
	else
		return 0;
	d->name = v[i + 1].text;
	return 1;
}

/* GRANT|REVOKE: on a tablespace, on something else, or a membership. */
static void
classify_grant(const struct tok *v, size_t n, struct verdict *d)
{
	size_t	i;

	for (i = 1; i < n; i++) {
		if (is_word(&v[i], "on")) {
			object_at(v, n, i + 1, d);
			if (d->about == A_ROLE)
				d->about = A_OTHER;
			return;
		}
		if (is_word(&v[i], "to") || is_word(&v[i], "from")) {
			d->about = A_MEMBERS;
			d->members = i + 1;
			return;
		}
	}
}

static void
classify(const struct tok *v, size_t n, struct verdict *d)
{
	size_t	i;

	memset(d, 0, sizeof(*d));
	if (n < 2)
		return;
	if (is_word(&v[0], "create") || is_word(&v[0], "alter")) {
		if (object_at(v, n, 1, d))
			d->create = is_word(&v[0], "create");
	} else if (is_word(&v[0], "comment") && is_word(&v[1], "on"))
		object_at(v, n, 2, d);
	else if (is_word(&v[0], "security") && is_word(&v[1], "label")) {
		for (i = 2; i < n && !is_word(&v[i], "on"); i++)
			;
		object_at(v, n, i + 1, d);
	} else if (is_word(&v[0], "grant") || is_word(&v[0], "revoke"))
		classify_grant(v, n, d);
}

static int
member_existed(const struct pg_globals *g, const struct tok *v, size_t n, size_t i)
{
	for (; i < n; i++) {
		if (v[i].type == T_PUNCT || is_word(&v[i], "group"))
			continue;
		if (!is_name(&v[i]) || is_word(&v[i], "with") || is_word(&v[i], "granted") ||
		    is_word(&v[i], "cascade") || is_word(&v[i], "restrict"))
			break;
		if (has(g->roles, g->nroles, v[i].text))
			return 1;
	}
	return 0;
}

/* Whether the statement in s goes to the server. */
static int
keep(struct pg_globals *g, const char *s)
{
	struct tok	v[TOKS_MAX];
	struct verdict	d;
	size_t		n, i;
	int		k = 1, existed;

	n = tokenize(s, v, TOKS_MAX);
	classify(v, n, &d);
	switch (d.about) {
	case A_ROLE:
	case A_SPACE:
		existed = d.about == A_ROLE ? has(g->roles, g->nroles, d.name) :
		    has(g->spaces, g->nspaces, d.name);
		k = d.create ? !existed : (g->replace || !existed);
		/* Its password changed under it, the restore would lock itself out. */
		if (d.about == A_ROLE && g->self != NULL && strcmp(d.name, g->self) == 0)
			k = d.create && !existed;
		if (d.create && d.about == A_ROLE)
			*(existed ? &g->left : &g->created) += 1;
		break;
	case A_MEMBERS:
		k = g->replace || !member_existed(g, v, n, d.members);
		break;
	default:
		break;
	}
	for (i = 0; i < n; i++)
		free(v[i].text);
	return k;
}

static int
unit_end(struct pg_globals *g, int statement, char *err, size_t errlen)
{
	int	rc = 0;

	g->buf[g->len] = '\0';
	if (!statement || keep(g, g->buf))
		rc = g->out(g->buf, g->len, g->arg, err, errlen);
	explicit_bzero(g->buf, g->len);
	g->len = 0;
	g->state = S_SPACE;
	g->started = 0;
	return rc;
}

static int
append(struct pg_globals *g, char c, char *err, size_t errlen)
{
	char	*nbuf;
	size_t	 ncap;

	if (g->len + 2 > g->cap) {
		if (g->cap >= PG_GLOBALS_STMT_MAX)
			return errf(err, errlen, "a statement of the globals is longer than "
			    "%d bytes", PG_GLOBALS_STMT_MAX);
		ncap = g->cap == 0 ? 4096 : g->cap * 2;
		nbuf = xmalloc(ncap);
		if (g->len > 0)
			memcpy(nbuf, g->buf, g->len);
		if (g->buf != NULL)
			freezero(g->buf, g->cap);
		g->buf = nbuf;
		g->cap = ncap;
	}
	g->buf[g->len++] = c;
	return 0;
}

/* The byte before the last one appended, or NUL. */
static char
before_last(const struct pg_globals *g)
{
	return g->len >= 2 ? g->buf[g->len - 2] : '\0';
}

static int
step(struct pg_globals *g, char c, char *err, size_t errlen)
{
	char	p;

	if (append(g, c, err, errlen) == -1)
		return -1;
	p = before_last(g);
	switch (g->state) {
	case S_SPACE:
	case S_SQL:
		if (g->state == S_SPACE && c == '\\' && (p == '\0' || p == '\n')) {
			g->state = S_META;
			break;
		}
		/* A '-' before is one of the statement's own: quotes and comments end otherwise. */
		if (c == '-' && p == '-') {
			g->started = g->state == S_SQL;
			g->state = S_COMMENT;
		} else if (c == '\'')
			g->state = (p == 'E' || p == 'e') && (g->len < 3 ||
			    !ident_char((unsigned char)g->buf[g->len - 3])) ? S_EQUOTE : S_SQUOTE;
		else if (c == '"')
			g->state = S_DQUOTE;
		else if (c == ';')
			return unit_end(g, 1, err, errlen);
		else if (!isspace((unsigned char)c) && c != '-')
			g->state = S_SQL;
		break;
	case S_SQUOTE:
		if (c == '\'')
			g->state = S_SQL;
		break;
	case S_EQUOTE:
		if (c == '\\')
			g->state = S_EQUOTE_ESC;
		else if (c == '\'')
			g->state = S_SQL;
		break;
	case S_EQUOTE_ESC:
		g->state = S_EQUOTE;
		break;
	case S_DQUOTE:
		if (c == '"')
			g->state = S_SQL;
		break;
	case S_COMMENT:
		if (c == '\n')
			g->state = g->started ? S_SQL : S_SPACE;
		break;
	case S_META:
		if (c == '\n')
			return unit_end(g, 0, err, errlen);
		break;
	}
	return 0;
}

int
pg_globals_feed(struct pg_globals *g, const char *buf, size_t len, char *err,
    size_t errlen)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (step(g, buf[i], err, errlen) == -1)
			return -1;
	return 0;
}

int
pg_globals_finish(struct pg_globals *g, char *err, size_t errlen)
{
	if (g->len == 0)
		return 0;
	if (g->state == S_SPACE || g->state == S_META ||
	    (g->state == S_COMMENT && !g->started))
		return unit_end(g, 0, err, errlen);
	return errf(err, errlen, "the globals end inside a statement");
}
