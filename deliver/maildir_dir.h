/*
 * maildir_dir: the directories of one Maildir delivery (internal to
 * deliver/maildir*.c): the trusted root opened as a path (made with its
 * parents when missing and allowed), every directory below it opened
 * relative to its parent with no symbolic link followed, the tmp/ new/
 * cur/ of a Maildir, and the first failure of a delivery recorded as its
 * result and message.
 *
 * The common case takes one system call per directory: the path below
 * the root in one openat2 (RESOLVE_NO_SYMLINKS|RESOLVE_BENEATH), each
 * subdirectory in one openat. Anything else (a missing directory to
 * make, a link to refuse, a kernel without openat2) walks one component
 * at a time, which creates what may be created and names what is wrong.
 */
#ifndef LMTPSCAN_MAILDIR_DIR_H
#define LMTPSCAN_MAILDIR_DIR_H

#include "common/strbuf.h"
#include "deliver/maildir.h"

#include <stdbool.h>
#include <stddef.h>

extern const char *const maildir_subdirs[];
enum { SUB_TMP, SUB_NEW, SUB_CUR, N_SUBDIRS };

/* One delivery's state, so every step can fail the same way. */
struct delivery {
    char *err;
    size_t err_len;
    enum maildir_result result;
};

/* An open directory and the path it is shown as in messages. */
struct dir {
    int fd;
    struct strbuf path;
};

/* Records the first failure: errnum decides disk full against I/O error
 * (0: no system error to append). */
void maildir_fail(struct delivery *d, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records MAILDIR_MISSING for path (unless a failure came first). */
void maildir_missing(struct delivery *d, const char *path);

void maildir_dir_init(struct dir *dir);
void maildir_dir_close(struct dir *dir);
/* Opens the trusted root into dir; with create, makes it when missing. */
int maildir_open_root(struct delivery *d, const char *root, bool create, struct dir *dir);
/* From dir into its entry name, never through a link; made when missing
 * with create, else MAILDIR_MISSING for shown. -1 on failure. */
int maildir_step(struct delivery *d, struct dir *dir, const char *name, bool create,
                 const char *shown);
/* Down rel ('/'-separated, relative; ".." refused). -1 on failure. */
int maildir_walk(struct delivery *d, struct dir *dir, const char *rel, bool create,
                 const char *shown);
/* tmp/, new/, cur/ of the Maildir at m into subs. -1 on failure. */
int maildir_open_subdirs(struct delivery *d, const struct dir *m, bool create, struct dir *subs);

#endif
