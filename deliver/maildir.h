/*
 * maildir: Maildir paths and delivery.
 *
 * maildir_path_expand() turns the configured template into the recipient's
 * Maildir from the canonical address (common/address.h): %u the mailbox,
 * %n the local part without its detail, %d the domain, %e the detail, %%
 * a percent sign; all decoded and lower-cased. A part the template uses
 * that is empty, contains '/', "..", a leading '.', or a byte
 * 0x00-0x1F/0x7F is unsafe and refused, so nothing is ever written outside
 * the template's root; so is a path with a component over NAME_MAX. Pure,
 * thread-safe.
 *
 * maildir_root() gives the template's trusted root: the directory part of
 * the template before its first '%' (the part the administrator wrote).
 *
 * maildir_deliver() stores one copy below that root: every directory
 * below it is opened one component at a time with O_NOFOLLOW (made 0700
 * when missing and allowed), so a symbolic link planted anywhere under the
 * root is refused (MAILDIR_IO_ERROR, a 4xx) and nothing is written; then
 * create in tmp/ with O_EXCL (0600), write through the caller's writer,
 * fsync, link/rename into new/ under a unique name ending ",S=SIZE", fsync
 * new/. Any failure removes the tmp file; nothing half-written is ever
 * visible in new/. Thread-safe.
 */
#ifndef LMTPSCAN_MAILDIR_H
#define LMTPSCAN_MAILDIR_H

#include "common/address.h"

#include <stdbool.h>
#include <stddef.h>

enum maildir_path_result {
    MAILDIR_PATH_OK,
    MAILDIR_PATH_BAD_ADDRESS, /* no domain, empty part used by the template */
    MAILDIR_PATH_UNSAFE,      /* a used part has '/', "..", leading '.', control byte */
    MAILDIR_PATH_TOO_LONG,    /* over out_len, or a component over NAME_MAX */
};

enum maildir_path_result maildir_path_expand(const char *template, const struct address *a,
                                             char *out, size_t out_len);

/* The trusted root of template into out ("" when it does not fit). */
void maildir_root(const char *template, char *out, size_t out_len);

enum maildir_result {
    MAILDIR_OK,
    MAILDIR_MISSING,   /* the Maildir does not exist and create is false */
    MAILDIR_DISK_FULL, /* ENOSPC / EDQUOT: 452 4.3.1 */
    MAILDIR_IO_ERROR,  /* anything else: 451 4.3.0 */
};

/* True when maildir/{cur,new,tmp} exist as directories. */
bool maildir_exists(const char *maildir);

/* Writes the whole copy to fd; 0 on success, -1 with errno set. */
typedef int (*maildir_writer_fn)(int fd, void *arg);

/*
 * Delivers into maildir (folder NULL or "" for the inbox, else the
 * Maildir++ folder maildir/.FOLDER with its maildirfolder file). root: the
 * trusted directory (maildir_root() of the template); maildir must be root
 * itself or a path below it, and no link is followed below root. With
 * create, missing directories are made (0700). On success the final file's
 * path is written to dest. On failure err gets a short reason for the log.
 */
enum maildir_result maildir_deliver(const char *root, const char *maildir, const char *folder,
                                    bool create, maildir_writer_fn writer, void *arg, char *dest,
                                    size_t dest_len, char *err, size_t err_len);

#endif
