/*
 * file_collect: fills a scan's file inventory from libclamav's callbacks
 * during the one scan: the file-inspection callback (every file at any
 * depth, with its type; a CL_TYPE_MAIL layer also has its MIME part names
 * read by mime_names) and the metadata callback (archive members with
 * their full in-archive name and encryption, also those libclamav does
 * not extract, such as encrypted ones). A member the metadata callback
 * listed and the inspection callback then saw is one entry, and so is a
 * MIME part whose name the headers gave when libclamav names it the same.
 *
 * The functions take the callbacks' arguments as plain values, so they are
 * testable without libclamav. One file_collect per scan; not thread-safe.
 * Work per callback is bounded (a short look-ahead, no allocation beyond
 * the inventory's doubling growth).
 */
#ifndef LMTPSCAN_FILE_COLLECT_H
#define LMTPSCAN_FILE_COLLECT_H

#include "common/file_inventory.h"

#include <stddef.h>
#include <stdint.h>

#define COLLECT_DEPTH 64

struct file_collect {
    struct file_inventory *inv;
    /* the path of the current container at each depth (into inv->text) */
    uint32_t stack_off[COLLECT_DEPTH];
    uint32_t stack_len[COLLECT_DEPTH];
    int16_t stack_type[COLLECT_DEPTH];
    unsigned depth;   /* level of the last inspected file */
    size_t cursor;    /* next listed member to match an inspected one */
    long last_listed; /* the last entry the metadata callback added */
    size_t hcursor;   /* next MIME name from the headers a listed part may be */
};

void file_collect_init(struct file_collect *fc, struct file_inventory *inv);

/* The file-inspection callback: type name, file name (may be NULL),
 * recursion level, and the file's bytes (may be NULL). */
void file_collect_inspect(struct file_collect *fc, const char *type, const char *name,
                          unsigned level, const char *buf, size_t size);

/* The metadata callback: container type name, member name, encrypted. */
void file_collect_listed(struct file_collect *fc, const char *container_type, const char *name,
                         int encrypted);

#endif
