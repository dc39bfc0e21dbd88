/*
 * file_inventory: every file libclamav met while scanning one message, at
 * any depth (MIME parts, archive members, archives in archives), as data:
 * its path through the containers ("invoice.zip/docs/invoice.pdf.exe"),
 * its name (the last path component as the sender meant it), libclamav's
 * file type and whether it is encrypted. Filled by scan/ during the one
 * libclamav pass, read by the decision, the report and the admin tool.
 *
 * Bounded: at most max_files entries and INVENTORY_TEXT_MAX bytes of
 * paths; past either bound nothing more is recorded and `overflow` is
 * set (the message is then unchecked for banned content, never clean).
 * Storage grows by doubling, so recording a file allocates nothing in
 * the common case. Not thread-safe: one scan owns one inventory.
 *
 * Public: file_inventory_init/free/add/path/name.
 */
#ifndef LMTPSCAN_FILE_INVENTORY_H
#define LMTPSCAN_FILE_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INVENTORY_TEXT_MAX  (4u * 1024 * 1024) /* bytes of all paths */
#define INVENTORY_PATH_MAX  1024               /* bytes of one path */
#define INVENTORY_FILES_CAP 100000             /* when max_files is 0 */

/* scanned_file.flags */
#define FILE_ENCRYPTED   0x01 /* an encrypted archive member */
#define FILE_UNDECODABLE 0x02 /* a MIME name that could not be decoded */
#define FILE_FROM_META   0x04 /* listed by an archive's directory */
#define FILE_FROM_HEADER 0x08 /* a MIME part's name from its header */
#define FILE_SEEN        0x10 /* libclamav typed it (meta merged) */

struct scanned_file {
    uint32_t path_off; /* into text: NUL-terminated path */
    uint32_t path_len;
    uint32_t name_off; /* the last component: text + path_off + name_off */
    int16_t type;      /* clamav_types index or CLAMAV_TYPE_UNKNOWN */
    uint8_t flags;
    uint8_t level; /* depth; 1 = a part of the message itself */
};

struct file_inventory {
    struct scanned_file *files;
    size_t n, cap;
    char *text;
    size_t text_len, text_cap;
    size_t max_files;
    bool overflow;
};

void file_inventory_init(struct file_inventory *inv, size_t max_files);
void file_inventory_free(struct file_inventory *inv);

/*
 * Records a file whose path is prefix (may be empty) + "/" + name (the
 * separator only when both are non-empty); the name is cut to what fits
 * INVENTORY_PATH_MAX, keeping its end (the extension); a NUL byte in it
 * becomes '?'. Returns the new
 * index, or -1 when a bound is reached (overflow is then set).
 */
long file_inventory_add(struct file_inventory *inv, const char *prefix, size_t prefix_len,
                        const char *name, size_t name_len, int type, unsigned flags,
                        unsigned level);

const char *file_inventory_path(const struct file_inventory *inv, size_t i);
const char *file_inventory_name(const struct file_inventory *inv, size_t i);

#endif
