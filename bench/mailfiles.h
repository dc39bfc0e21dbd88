/*
 * mailfiles: the mails a bench tool sends or stores (lmtpload.c,
 * nullmda.c): each file read whole into memory once (at most MAX_MSGS
 * files of at most MAX_BYTES each), from the command line and from a
 * list file of one path a line. Header-only: each tool is one C file
 * built by bench/run. Not thread-safe: load before starting threads.
 */
#ifndef LMTPSCAN_BENCH_MAILFILES_H
#define LMTPSCAN_BENCH_MAILFILES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_MSGS  100000
#define MAX_BYTES (64L * 1024 * 1024)

struct msg {
    char *data;
    size_t len;
};

static struct msg *msgs; /* MAX_MSGS slots */
static size_t nmsgs;

static int load_file(const char *path, struct msg *m)
{
    struct stat st;
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    if (fstat(fileno(f), &st) < 0 || st.st_size <= 0 || st.st_size > MAX_BYTES) {
        (void)fclose(f);
        return -1;
    }
    m->len = (size_t)st.st_size;
    m->data = malloc(m->len);
    if (!m->data || fread(m->data, 1, m->len, f) != m->len) {
        (void)fclose(f);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* prog names the tool in the error message. */
static int add_file(const char *prog, const char *path)
{
    if (nmsgs >= MAX_MSGS || load_file(path, &msgs[nmsgs]) < 0) {
        fprintf(stderr, "%s: cannot read %s\n", prog, path);
        return -1;
    }
    nmsgs++;
    return 0;
}

static int add_list(const char *prog, const char *list)
{
    FILE *f = fopen(list, "r");
    char line[4096];
    if (!f) {
        fprintf(stderr, "%s: cannot read %s\n", prog, list);
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] != '\0' && add_file(prog, line) < 0) {
            (void)fclose(f);
            return -1;
        }
    }
    return fclose(f) == 0 ? 0 : -1;
}

#endif
