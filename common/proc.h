/*
 * proc: child processes, as engines, hooks and the daemon run them.
 *
 * Children are spawned without a shell (posix_spawnp-like, argv as given),
 * with an environment that has had every secret-holding variable of the
 * config removed (only what the engine adds on purpose reaches them).
 * Their stderr is read by a thread and logged line by line, tagged with the
 * program's name; their exit status decides success.  A password reaches a
 * child as a memfile it inherits (PGPASSFILE=/proc/self/fd/N): never argv,
 * never the environment, never a file on disk.
 */
#ifndef KB_PROC_H
#define KB_PROC_H

#include <pthread.h>
#include <sys/types.h>

#include <stdint.h>

#include "common/memfile.h"

#define CHILD_STDIN_PIPE	0x1	/* child's stdin is a pipe; see child.in_fd */
#define CHILD_STDOUT_PIPE	0x2	/* child's stdout is a pipe; see child.out_fd */
#define CHILD_STDOUT_LOG	0x4	/* child's stdout is logged like its stderr */

struct child {
	pid_t		 pid;
	char		*name;		/* basename of argv[0], for logs */
	int		 in_fd;		/* write end of stdin pipe, or -1 */
	int		 out_fd;	/* read end of stdout pipe, or -1 */
	int		 err_fd;	/* read end of stderr, drained by the thread */
	pthread_t	 err_thread;
	int		 err_thread_running;
	int		 out_log_fd;
	pthread_t	 out_thread;
	int		 out_thread_running;
	int		 status;	/* wait status once reaped */
	int		 reaped;
};

/* A growing, NULL-terminated argv (or env_add) list. */
struct child_args {
	char	**v;
	size_t	  n;
};

void	 child_args_add(struct child_args *, const char *);
void	 child_args_addf(struct child_args *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Adds NAME=value (an option, a variable) unless value is NULL: a setting left unset. */
void	 child_args_add_set(struct child_args *, const char *name, const char *value);
/* Adds the blank-separated words of s (dump_options and the like), no shell. */
void	 child_args_add_words(struct child_args *, const char *s);
/* The list as child_spawn() takes it; never NULL. */
const char *const *child_args_list(struct child_args *);
/* Frees; entries marked secret by the caller are wiped first. */
void	 child_args_free(struct child_args *);

/* Variables never passed to children (secrets' K_env); NULL-terminated, not copied. */
void	 child_set_env_denylist(const char *const *names);

/*
 * Starts argv[0] (looked up in PATH) with argv.  env_add: NAME=VALUE strings
 * added to (or replacing in) the environment, NULL-terminated, may be NULL.
 * pass (may be NULL or closed): a memfile the child inherits, under the
 * descriptor number its path names.
 */
int	 child_spawn(struct child *, const char *const *argv, const char *const *env_add,
	    const struct memfile *pass, int flags, char *err, size_t errlen);
/* Closes our pipe ends, waits, joins the log threads.  0 iff exit status 0. */
int	 child_wait(struct child *, char *err, size_t errlen);
/* SIGTERM, then SIGKILL after a grace period; then child_wait(). */
void	 child_kill(struct child *);
/*
 * Ends the child if *running: child_kill() if aborted (0), else child_wait();
 * *running is 0 after.  0 if it was not running.
 */
int	 child_finish(struct child *, int *running, int aborted, char *err,
	    size_t errlen);
/*
 * Runs argv to completion; stdout (at most outmax bytes) into *out if out is
 * not NULL (else logged).  0 iff exit status 0.
 */
int	 child_run(const char *const *argv, const char *const *env_add, char **out,
	    size_t outmax, char *err, size_t errlen);
/*
 * child_run() with input (NUL-terminated, may be NULL) written to its stdin
 * and a memfile to pass (may be NULL) as for child_spawn().
 */
int	 child_run_input(const char *const *argv, const char *const *env_add,
	    const struct memfile *pass, const char *input, char **out, size_t outmax,
	    char *err, size_t errlen);

/* child_run() of a and env (may be NULL), both freed when it returns. */
int	 child_run_args(struct child_args *a, struct child_args *env, char **out,
	    size_t outmax, char *err, size_t errlen);

/* Runs a (then freed) and puts the first line it prints in buf: tool versions. */
int	 child_version(struct child_args *a, char *buf, size_t len);
/* child_version() of tool and the arguments after it, up to a NULL. */
int	 child_tool_version(char *buf, size_t len, const char *tool, ...)
	    __attribute__((sentinel));

/* 1 if prog is an executable file in one of $PATH's directories. */
int	 child_in_path(const char *prog);

/*
 * When a process started, in clock ticks after boot (/proc/PID/stat): with
 * its pid, a name for one process for good, where a pid alone is reused.
 */
int	 proc_start_ticks(pid_t pid, unsigned long long *ticks);
/*
 * 1 if pid is a process that started at start and runs the same program
 * as we do (/proc/PID/comm), 0 if not, -1 if there is no telling (no /proc).
 */
int	 proc_running_as_us(pid_t pid, unsigned long long start);

/*
 * Runs argv to completion with its output logged; after seconds (0: no
 * limit) it is killed (SIGTERM, then SIGKILL) and the call fails saying so.
 */
int	 child_run_timeout(const char *const *argv, const char *const *env_add,
	    int64_t seconds, char *err, size_t errlen);

#endif
