/*
 * open_beneath: a directory below another in one system call, with the
 * guarantee the component-by-component walks of deliver/ give (no
 * symbolic link followed, nothing outside the starting directory):
 * openat2 with RESOLVE_NO_SYMLINKS|RESOLVE_BENEATH. It is their fast path
 * for the common case; on any failure (a kernel before 5.6, a missing
 * directory, a link, a ".." or empty component) the caller walks one
 * component at a time, which makes what may be made and names what is
 * wrong.
 */
#ifndef LMTPSCAN_OPEN_BENEATH_H
#define LMTPSCAN_OPEN_BENEATH_H

/* The directory rel ('/'-separated; leading '/' ignored; no empty, "." or
 * ".." component) below dir_fd, O_RDONLY|O_DIRECTORY|O_CLOEXEC; the fd,
 * or -1. */
int open_beneath(int dir_fd, const char *rel);

#endif
