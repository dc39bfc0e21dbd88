/*
 * fuzz_mime_names: libFuzzer target for the MIME name reader
 * (scan/mime_names.h) and the inventory it fills through file_collect
 * (scan/file_collect.h). The input is a mail layer as libclamav hands it
 * to the file-inspection callback; the first byte picks a small inventory
 * bound. Checks: every name reported is at most MIME_NAME_MAX bytes; the
 * inventory never holds more than its bound, every path is NUL-terminated
 * at path_len, at most INVENTORY_PATH_MAX bytes, and its name is its last
 * component; a bound that was hit is flagged.
 */
#include "common/clamav_types.h"
#include "common/content_rules.h"
#include "common/file_inventory.h"
#include "scan/file_collect.h"
#include "scan/mime_names.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_name(void *arg, const char *name, size_t len, bool undecodable)
{
    (void)arg;
    (void)undecodable;
    if (len > MIME_NAME_MAX || (len > 0 && name == NULL))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t max_files = 1 + data[0] % 64;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;

    mime_names_scan(buf, len, check_name, NULL);

    struct file_inventory inv;
    struct file_collect fc;
    file_inventory_init(&inv, max_files);
    file_collect_init(&fc, &inv);
    file_collect_inspect(&fc, "CL_TYPE_MAIL", NULL, 0, buf, len);
    /* the input's lines also serve as archive member names */
    const char *p = buf, *end = buf + len;
    unsigned level = 1;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char name[256];
        if (n >= sizeof(name))
            n = sizeof(name) - 1;
        memcpy(name, p, n);
        name[n] = '\0';
        if (n > 0 && name[0] == 'Z')
            file_collect_inspect(&fc, "CL_TYPE_ZIP", name, level++ % 8, NULL, 0);
        else
            file_collect_listed(&fc, "CL_TYPE_ZIP", name, n % 2);
        file_collect_inspect(&fc, "CL_TYPE_MSEXE", name, level % 8, NULL, 0);
        p = nl ? nl + 1 : end;
    }

    if (inv.n > inv.max_files)
        abort();
    for (size_t i = 0; i < inv.n; i++) {
        const struct scanned_file *f = &inv.files[i];
        const char *path = file_inventory_path(&inv, i);
        if (f->path_len > INVENTORY_PATH_MAX || strlen(path) != f->path_len ||
            f->name_off > f->path_len)
            abort();
        const char *fname = file_inventory_name(&inv, i);
        if (strchr(fname, '/') != NULL && fname[strlen(fname) - 1] != '/')
            abort();
        (void)content_double_extension(fname);
        (void)content_glob_match("*.exe", fname);
    }
    file_inventory_free(&inv);
    return 0;
}
