/*
 * file_collect: the inventory side of libclamav's callbacks (see
 * file_collect.h). Paths are built from our own stack of container paths
 * (libclamav's ancestors carry only base names): a member listed by its
 * archive's directory is named with its full in-archive path, the MIME
 * parts with their decoded names.
 */
#include "scan/file_collect.h"

#include "common/clamav_types.h"
#include "scan/mime_names.h"

#include <string.h>

#define LOOKAHEAD 64 /* entries an inspected file's match may lie ahead */

void file_collect_init(struct file_collect *fc, struct file_inventory *inv)
{
    memset(fc, 0, sizeof(*fc));
    fc->inv = inv;
    fc->stack_type[0] = CLAMAV_TYPE_UNKNOWN;
    fc->last_listed = -1;
}

/* Copies the path of depth d into buf (the inventory's text may move). */
static size_t stack_path(const struct file_collect *fc, unsigned d, char *buf, size_t buflen)
{
    size_t n = fc->stack_len[d];
    if (n >= buflen)
        n = buflen - 1;
    if (n > 0)
        memcpy(buf, fc->inv->text + fc->stack_off[d], n);
    buf[n] = '\0';
    return n;
}

static void set_stack(struct file_collect *fc, unsigned d, long idx, size_t parent_len, int type)
{
    fc->stack_type[d] = (int16_t)type;
    if (idx >= 0) {
        fc->stack_off[d] = fc->inv->files[idx].path_off;
        fc->stack_len[d] = fc->inv->files[idx].path_len;
    } else if (d > 0) {
        /* nothing recorded (no name, or the bound): the parent's path */
        fc->stack_off[d] = fc->stack_off[d - 1];
        fc->stack_len[d] = (uint32_t)parent_len;
    } else {
        fc->stack_off[d] = 0;
        fc->stack_len[d] = 0;
    }
}

struct header_ctx {
    struct file_collect *fc;
    const char *prefix;
    size_t prefix_len;
    unsigned level;
};

static void header_name(void *arg, const char *name, size_t len, bool undecodable)
{
    struct header_ctx *hc = arg;
    if (len == 0 && !undecodable)
        return;
    (void)file_inventory_add(hc->fc->inv, hc->prefix, hc->prefix_len, name, len,
                             CLAMAV_TYPE_UNKNOWN,
                             FILE_FROM_HEADER | (undecodable ? FILE_UNDECODABLE : 0), hc->level);
}

/* Whether listed entry f names the inspected file name. */
static bool names_match(const struct file_inventory *inv, size_t i, const char *name)
{
    const char *path = file_inventory_path(inv, i);
    size_t pl = inv->files[i].path_len, nl = strlen(name);
    if (nl > pl || memcmp(path + pl - nl, name, nl) != 0)
        return false;
    return nl == pl || path[pl - nl - 1] == '/' || path[pl - nl - 1] == '\\';
}

static bool is_candidate(const struct scanned_file *f)
{
    return (f->flags & FILE_FROM_META) && !(f->flags & FILE_SEEN);
}

/* The listed, not yet inspected member that name is, or -1. Members are
 * inspected in the order they were listed, so the search starts at a
 * cursor that only moves forward (past what can no longer match, and past
 * listed members skipped over by a match: never inspected, such as
 * encrypted ones) and looks at most LOOKAHEAD entries ahead. */
static long match_listed(struct file_collect *fc, const char *name, unsigned level, int type)
{
    struct file_inventory *inv = fc->inv;
    /* the member listed just before (a MIME part, a tar member) */
    if (fc->last_listed >= 0 && (size_t)fc->last_listed < inv->n) {
        struct scanned_file *f = &inv->files[fc->last_listed];
        if (is_candidate(f) && f->level == level &&
            names_match(inv, (size_t)fc->last_listed, name)) {
            f->type = (int16_t)type;
            f->flags |= FILE_SEEN;
            return fc->last_listed;
        }
    }
    while (fc->cursor < inv->n && !is_candidate(&inv->files[fc->cursor]))
        fc->cursor++;
    for (size_t k = fc->cursor; k < inv->n && k < fc->cursor + LOOKAHEAD; k++) {
        struct scanned_file *f = &inv->files[k];
        if (is_candidate(f) && f->level == level && names_match(inv, k, name)) {
            f->type = (int16_t)type;
            f->flags |= FILE_SEEN;
            fc->cursor = k + 1;
            return (long)k;
        }
    }
    return -1;
}

void file_collect_inspect(struct file_collect *fc, const char *type, const char *name,
                          unsigned level, const char *buf, size_t size)
{
    struct file_inventory *inv = fc->inv;
    int t = type != NULL ? clamav_type_index(type) : CLAMAV_TYPE_UNKNOWN;
    unsigned d = level < COLLECT_DEPTH ? level : COLLECT_DEPTH - 1;
    char prefix[INVENTORY_PATH_MAX + 1];
    size_t prefix_len = 0;
    long idx = -1;

    fc->depth = d;
    if (level == 0) {
        set_stack(fc, 0, -1, 0, t);
    } else {
        prefix_len = stack_path(fc, d - 1, prefix, sizeof(prefix));
        /* a member its archive listed: the same file, now with its type */
        if (name != NULL && name[0] != '\0')
            idx = match_listed(fc, name, level, t);
        if (idx < 0)
            idx = file_inventory_add(inv, prefix, prefix_len, name != NULL ? name : "",
                                     name != NULL ? strlen(name) : 0, t, FILE_SEEN, level);
        set_stack(fc, d, idx, prefix_len, t);
    }
    if (t == clamav_type_index("CL_TYPE_MAIL") && buf != NULL && size > 0) {
        struct header_ctx hc = {fc, prefix, 0, level + 1};
        hc.prefix_len = stack_path(fc, d, prefix, sizeof(prefix));
        mime_names_scan(buf, size, header_name, &hc);
    }
}

void file_collect_listed(struct file_collect *fc, const char *container_type, const char *name,
                         int encrypted)
{
    struct file_inventory *inv = fc->inv;
    char prefix[INVENTORY_PATH_MAX + 1];

    if (name == NULL || name[0] == '\0')
        return;
    size_t nl = strlen(name);
    if (name[nl - 1] == '/' || name[nl - 1] == '\\')
        return; /* a directory */
    int ct = container_type != NULL ? clamav_type_index(container_type) : CLAMAV_TYPE_UNKNOWN;
    unsigned c = fc->depth;
    while (c > 0 && fc->stack_type[c] != ct)
        c--;
    if (fc->stack_type[c] != ct)
        c = fc->depth;

    /* zip lists each member twice (central directory, local header) */
    if (fc->last_listed >= 0 && (size_t)fc->last_listed < inv->n) {
        struct scanned_file *f = &inv->files[fc->last_listed];
        if (f->level == c + 1 && !(f->flags & FILE_SEEN) &&
            names_match(inv, (size_t)fc->last_listed, name)) {
            if (encrypted)
                f->flags |= FILE_ENCRYPTED;
            return;
        }
    }
    /* a MIME part the headers named already: the same file */
    if (ct == clamav_type_index("CL_TYPE_MAIL")) {
        for (size_t k = fc->hcursor; k < inv->n && k < fc->hcursor + LOOKAHEAD; k++) {
            struct scanned_file *f = &inv->files[k];
            if ((f->flags & FILE_FROM_HEADER) && !(f->flags & FILE_FROM_META) &&
                f->level == c + 1 && names_match(inv, k, name)) {
                f->flags |= FILE_FROM_META | (encrypted ? FILE_ENCRYPTED : 0);
                fc->hcursor = k + 1;
                fc->last_listed = (long)k;
                return;
            }
        }
    }
    unsigned flags = FILE_FROM_META | (encrypted ? FILE_ENCRYPTED : 0);
    /* libclamav's placeholder for a MIME name it could not decode */
    if (ct == clamav_type_index("CL_TYPE_MAIL") && strcmp(name, "rfc2231failure") == 0)
        flags |= FILE_UNDECODABLE;
    size_t prefix_len = stack_path(fc, c, prefix, sizeof(prefix));
    long idx =
        file_inventory_add(inv, prefix, prefix_len, name, nl, CLAMAV_TYPE_UNKNOWN, flags, c + 1);
    if (idx >= 0)
        fc->last_listed = idx;
}
