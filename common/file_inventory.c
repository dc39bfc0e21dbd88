/*
 * file_inventory: the bounded per-scan list of files (see
 * file_inventory.h).
 */
#include "common/file_inventory.h"

#include "common/xalloc.h"

#include <stdlib.h>
#include <string.h>

void file_inventory_init(struct file_inventory *inv, size_t max_files)
{
    memset(inv, 0, sizeof(*inv));
    inv->max_files =
        max_files == 0 || max_files > INVENTORY_FILES_CAP ? INVENTORY_FILES_CAP : max_files;
}

void file_inventory_free(struct file_inventory *inv)
{
    if (inv == NULL)
        return;
    free(inv->files);
    free(inv->text);
    size_t max = inv->max_files;
    memset(inv, 0, sizeof(*inv));
    inv->max_files = max;
}

long file_inventory_add(struct file_inventory *inv, const char *prefix, size_t prefix_len,
                        const char *name, size_t name_len, int type, unsigned flags, unsigned level)
{
    if (inv->overflow)
        return -1;
    if (prefix_len > INVENTORY_PATH_MAX / 2)
        prefix_len = INVENTORY_PATH_MAX / 2; /* a deep path: keep its start */
    size_t sep = prefix_len > 0 && name_len > 0 ? 1 : 0;
    if (prefix_len + sep + name_len > INVENTORY_PATH_MAX) {
        /* keep the end of an overlong name: the extension decides */
        name += name_len - (INVENTORY_PATH_MAX - prefix_len - sep);
        name_len = INVENTORY_PATH_MAX - prefix_len - sep;
    }
    size_t need = prefix_len + sep + name_len + 1;
    if (inv->n >= inv->max_files || inv->text_len + need > INVENTORY_TEXT_MAX) {
        inv->overflow = true;
        return -1;
    }
    if (inv->n == inv->cap) {
        size_t cap = inv->cap == 0 ? 32 : inv->cap * 2;
        if (cap > inv->max_files)
            cap = inv->max_files;
        inv->files = xrealloc(inv->files, cap * sizeof(*inv->files));
        inv->cap = cap;
    }
    if (inv->text_len + need > inv->text_cap) {
        size_t cap = inv->text_cap == 0 ? 4096 : inv->text_cap;
        while (cap < inv->text_len + need)
            cap *= 2;
        if (cap > INVENTORY_TEXT_MAX)
            cap = INVENTORY_TEXT_MAX;
        inv->text = xrealloc(inv->text, cap);
        inv->text_cap = cap;
    }
    struct scanned_file *f = &inv->files[inv->n];
    char *p = inv->text + inv->text_len;
    memcpy(p, prefix, prefix_len);
    if (sep)
        p[prefix_len] = '/';
    memcpy(p + prefix_len + sep, name, name_len);
    p[prefix_len + sep + name_len] = '\0';
    /* a NUL inside a decoded name ("x.txt%00.exe") must not hide its end
     * from the checks, which read C strings */
    for (size_t i = 0; i < prefix_len + sep + name_len; i++)
        if (p[i] == '\0')
            p[i] = '?';
    f->path_off = (uint32_t)inv->text_len;
    f->path_len = (uint32_t)(need - 1);
    f->name_off = (uint32_t)(prefix_len + sep);
    /* a name that carries its own directories ("docs/x.exe"): the last
     * component counts */
    for (size_t i = prefix_len + sep; i < need - 1; i++)
        if ((p[i] == '/' || p[i] == '\\') && i + 1 < need - 1)
            f->name_off = (uint32_t)(i + 1);
    f->type = (int16_t)type;
    f->flags = (uint8_t)flags;
    f->level = (uint8_t)(level > 255 ? 255 : level);
    inv->text_len += need;
    return (long)inv->n++;
}

const char *file_inventory_path(const struct file_inventory *inv, size_t i)
{
    return inv->text + inv->files[i].path_off;
}

const char *file_inventory_name(const struct file_inventory *inv, size_t i)
{
    return inv->text + inv->files[i].path_off + inv->files[i].name_off;
}
