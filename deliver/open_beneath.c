/*
 * open_beneath: one openat2 for a directory below another (see
 * open_beneath.h).
 */
#include "deliver/open_beneath.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* True when rel is a plain relative path: no empty, "." or ".." part. */
static bool is_clean_relative(const char *rel)
{
    if (*rel == '\0')
        return false;
    while (*rel != '\0') {
        size_t n = strcspn(rel, "/");
        if (n == 0 || n > NAME_MAX || (n == 1 && rel[0] == '.') ||
            (n == 2 && rel[0] == '.' && rel[1] == '.'))
            return false;
        rel += n + (rel[n] == '/');
    }
    return true;
}

int open_beneath(int dir_fd, const char *rel)
{
#ifdef SYS_openat2
    while (*rel == '/')
        rel++;
    if (!is_clean_relative(rel))
        return -1;
    struct open_how how = {
        .flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
        .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    long fd = syscall(SYS_openat2, dir_fd, rel, &how, sizeof how);
    return fd < 0 ? -1 : (int)fd;
#else
    (void)dir_fd;
    (void)rel;
    return -1;
#endif
}
