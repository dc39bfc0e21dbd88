/*
 * reply_lines: lines of a reply in memory (see reply_lines.h).
 */
#include "scan/reply_lines.h"

#include <string.h>
#include <strings.h>

int reply_next_line(struct slice s, size_t *pos, struct slice *line)
{
    if (*pos >= s.n)
        return 0;
    const char *start = s.p + *pos;
    const char *nl = memchr(start, '\n', s.n - *pos);
    size_t len = nl != NULL ? (size_t)(nl - start) : s.n - *pos;
    *pos += len + (nl != NULL ? 1 : 0);
    if (len > 0 && start[len - 1] == '\r')
        len--;
    line->p = start;
    line->n = len;
    return 1;
}

bool reply_line_ended(struct slice s, size_t pos)
{
    return pos > 0 && pos <= s.n && s.p[pos - 1] == '\n';
}

bool reply_starts_with_ci(struct slice s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.n >= n && strncasecmp(s.p, prefix, n) == 0;
}
