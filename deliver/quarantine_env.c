/*
 * quarantine_env: parser and loader of quarantine .env files (see
 * quarantine_env.h). Values are copied with their length checked; a value
 * longer than its field is an error, never silently cut.
 */
#include "deliver/quarantine_env.h"
#include "common/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int copy_value(char *dst, size_t size, const char *v, size_t len)
{
    if (len >= size)
        return -1;
    memcpy(dst, v, len);
    dst[len] = '\0';
    return 0;
}

/* "<ADDR>" -> ADDR. */
static int parse_bracketed(char *dst, size_t size, const char *v, size_t len)
{
    if (len < 2 || v[0] != '<' || v[len - 1] != '>')
        return -1;
    return copy_value(dst, size, v + 1, len - 2);
}

static bool starts_with(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(s, prefix, n) == 0;
}

/* "notify=N" with N in 1..15, else 0. */
static unsigned parse_notify(const char *tok, size_t len)
{
    if (!starts_with(tok, len, "notify=") || len == 7 || len > 9)
        return 0;
    unsigned n = 0;
    for (size_t i = 7; i < len; i++) {
        if (tok[i] < '0' || tok[i] > '9')
            return 0;
        n = n * 10 + (unsigned)(tok[i] - '0');
    }
    return n <= 15 ? n : 0;
}

/* "<ADDR> [orcpt=X] [notify=N]": well-formed parameters are taken from
 * the end, so an address may hold any character, '>' and blanks too. */
static int parse_rcpt(struct quarantine_rcpt *r, const char *v, size_t len)
{
    memset(r, 0, sizeof(*r));
    size_t end = len;
    bool seen_orcpt = false, seen_notify = false;
    for (;;) {
        size_t sp = end;
        while (sp > 0 && v[sp - 1] != ' ')
            sp--;
        if (sp < 2 || sp == end)
            break;
        const char *tok = v + sp;
        size_t tok_len = end - sp;
        unsigned notify = parse_notify(tok, tok_len);
        if (notify != 0 && !seen_notify) {
            r->notify = notify;
            seen_notify = true;
        } else if (starts_with(tok, tok_len, "orcpt=") && tok_len > 6 && !seen_orcpt &&
                   copy_value(r->orcpt, sizeof(r->orcpt), tok + 6, tok_len - 6) == 0) {
            seen_orcpt = true;
        } else {
            break;
        }
        end = sp - 1;
    }
    if (parse_bracketed(r->address, sizeof(r->address), v, end) < 0 || r->address[0] == '\0')
        return -1;
    return 0;
}

static int parse_line(struct quarantine_env *out, const char *line, size_t len, char *err,
                      size_t err_len, size_t lineno)
{
    const char *colon = memchr(line, ':', len);
    if (colon == NULL || (size_t)(colon - line) + 1 >= len || colon[1] != ' ') {
        snprintf(err, err_len, "line %zu: not \"key: value\"", lineno);
        return -1;
    }
    size_t klen = (size_t)(colon - line);
    const char *v = colon + 2;
    size_t vlen = len - klen - 2;
    int rc = 0;
    if (klen == 7 && memcmp(line, "mail-id", 7) == 0) {
        rc = copy_value(out->mail_id, sizeof(out->mail_id), v, vlen);
        if (rc == 0 && !mail_id_valid(out->mail_id))
            rc = -1;
    } else if (klen == 8 && memcmp(line, "received", 8) == 0) {
        rc = copy_value(out->received, sizeof(out->received), v, vlen);
    } else if (klen == 6 && memcmp(line, "sender", 6) == 0) {
        rc = parse_bracketed(out->sender, sizeof(out->sender), v, vlen);
    } else if (klen == 5 && memcmp(line, "envid", 5) == 0) {
        rc = copy_value(out->envid, sizeof(out->envid), v, vlen);
    } else if (klen == 3 && memcmp(line, "ret", 3) == 0) {
        if (vlen == 4 && memcmp(v, "FULL", 4) == 0)
            out->ret = DSN_RET_FULL;
        else if (vlen == 4 && memcmp(v, "HDRS", 4) == 0)
            out->ret = DSN_RET_HDRS;
        else
            rc = -1;
    } else if (klen == 6 && memcmp(line, "reason", 6) == 0) {
        rc = copy_value(out->reason, sizeof(out->reason), v, vlen);
    } else if (klen == 4 && memcmp(line, "rcpt", 4) == 0) {
        out->rcpts = xgrow(out->rcpts, &out->cap_rcpts, out->n_rcpts + 1, sizeof(*out->rcpts));
        rc = parse_rcpt(&out->rcpts[out->n_rcpts], v, vlen);
        if (rc == 0)
            out->n_rcpts++;
    }
    if (rc < 0)
        snprintf(err, err_len, "line %zu: bad %.*s value", lineno, (int)klen, line);
    return rc;
}

int quarantine_env_parse(const char *text, size_t len, struct quarantine_env *out, char *err,
                         size_t err_len)
{
    memset(out, 0, sizeof(*out));
    size_t off = 0, lineno = 0;
    bool have_sender = false;
    while (off < len) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t line_len = nl != NULL ? (size_t)(nl - (text + off)) : len - off;
        lineno++;
        if (memchr(text + off, '\0', line_len) != NULL) {
            snprintf(err, err_len, "line %zu: NUL byte", lineno);
            goto fail;
        }
        if (line_len > 0) {
            if (parse_line(out, text + off, line_len, err, err_len, lineno) < 0)
                goto fail;
            have_sender |= starts_with(text + off, line_len, "sender: ");
        }
        off += line_len + (nl != NULL);
    }
    if (out->mail_id[0] == '\0' || !have_sender) {
        snprintf(err, err_len, "mail-id or sender missing");
        goto fail;
    }
    return 0;
fail:
    quarantine_env_free(out);
    return -1;
}

int quarantine_env_load(const char *dir, const char *mail_id, struct quarantine_env *out, char *err,
                        size_t err_len)
{
    memset(out, 0, sizeof(*out));
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s.env", dir, mail_id);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > QUARANTINE_ENV_MAX) {
        snprintf(err, err_len, "%s: not a regular file of at most %d bytes", path,
                 QUARANTINE_ENV_MAX);
        close(fd);
        errno = EINVAL;
        return -1;
    }
    size_t size = (size_t)st.st_size, got = 0;
    char *buf = xmalloc(size + 1);
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    int saved = errno;
    close(fd);
    if (got != size) {
        snprintf(err, err_len, "%s: short read", path);
        free(buf);
        errno = saved ? saved : EIO;
        return -1;
    }
    char perr[256];
    int rc = quarantine_env_parse(buf, size, out, perr, sizeof(perr));
    free(buf);
    if (rc < 0) {
        snprintf(err, err_len, "%s: %s", path, perr);
        errno = EINVAL;
        return -1;
    }
    if (strcmp(out->mail_id, mail_id) != 0) {
        snprintf(err, err_len, "%s: holds mail-id %s", path, out->mail_id);
        quarantine_env_free(out);
        errno = EINVAL;
        return -1;
    }
    return 0;
}

void quarantine_env_free(struct quarantine_env *qe)
{
    free(qe->rcpts);
    qe->rcpts = NULL;
    qe->n_rcpts = qe->cap_rcpts = 0;
}
