/*
 * message_header: header section scanner (see message_header.h). The
 * header ends at the first empty line (or the end of the message). A line
 * that is neither a field ("name:" with printable name characters,
 * optionally blanks before the colon) nor a continuation is passed over
 * as part of the header: mail readers and Sieve implementations differ on
 * such lines, and a forged verdict field after one must still be removed.
 */
#include "common/message_header.h"
#include "common/xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const dropped_fields[] = {
    "X-Spam-Flag",  "X-Spam-Status", "X-Spam-Score",
    "X-Spam-Level", "X-Spam-Report", "X-Virus-Scanned",
};

enum field_kind {
    FIELD_OTHER,
    FIELD_DROP,
    FIELD_LEADING_FOLD, /* blank-led lines opening the header: removed */
    FIELD_SUBJECT,
    FIELD_FROM,
    FIELD_MESSAGE_ID,
    FIELD_DATE
};

static enum field_kind field_kind(const char *name)
{
    for (size_t i = 0; i < sizeof(dropped_fields) / sizeof(dropped_fields[0]); i++)
        if (strcasecmp(name, dropped_fields[i]) == 0)
            return FIELD_DROP;
    if (strcasecmp(name, "Subject") == 0)
        return FIELD_SUBJECT;
    if (strcasecmp(name, "From") == 0)
        return FIELD_FROM;
    if (strcasecmp(name, "Message-ID") == 0)
        return FIELD_MESSAGE_ID;
    if (strcasecmp(name, "Date") == 0)
        return FIELD_DATE;
    return FIELD_OTHER;
}

struct scanner {
    struct message_header *mh;
    uint64_t field_start;
    enum field_kind kind;
    struct header_value *value; /* capture target of the current field */
    size_t value_cap;
};

static void value_append(struct scanner *sc, char c)
{
    struct header_value *v = sc->value;
    if (v == NULL)
        return;
    if (v->len >= MESSAGE_HEADER_VALUE_MAX) {
        v->truncated = true;
        return;
    }
    v->raw = xgrow(v->raw, &sc->value_cap, v->len + 2, 1);
    v->raw[v->len++] = c;
    v->raw[v->len] = '\0';
}

/* Records a field to remove: merged with the previous range when
 * adjacent, and past the range bound stretched from the last range (see
 * message_header.h). */
static void drop_add(struct message_header *mh, struct header_range r, bool verdict)
{
    if (verdict)
        mh->n_drop++;
    if (mh->n_drop_ranges > 0) {
        struct header_range *last = &mh->drop[mh->n_drop_ranges - 1];
        if (last->off + last->len == r.off || mh->n_drop_ranges == MESSAGE_HEADER_DROP_RANGES) {
            last->len = r.off + r.len - last->off;
            return;
        }
    }
    mh->drop = xgrow(mh->drop, &mh->cap_drop_ranges, mh->n_drop_ranges + 1, sizeof(*mh->drop));
    mh->drop[mh->n_drop_ranges++] = r;
}

/* Closes the current field, which ends just before off. */
static void field_end(struct scanner *sc, uint64_t off)
{
    struct message_header *mh = sc->mh;
    struct header_range r = {sc->field_start, off - sc->field_start};
    if (sc->kind == FIELD_DROP || sc->kind == FIELD_LEADING_FOLD)
        drop_add(mh, r, sc->kind == FIELD_DROP);
    else if (sc->kind == FIELD_SUBJECT && mh->subject.len == 0)
        mh->subject = r; /* a repeated field: the first one counts */
    struct header_value *v = sc->value;
    if (v != NULL) {
        /* strip the final line end */
        while (v->len > 0 && (v->raw[v->len - 1] == '\n' || v->raw[v->len - 1] == '\r'))
            v->raw[--v->len] = '\0';
    }
    sc->kind = FIELD_OTHER;
    sc->value = NULL;
}

static struct header_value *value_for(struct message_header *mh, enum field_kind kind)
{
    struct header_value *v = NULL;
    switch (kind) {
    case FIELD_SUBJECT:
        v = &mh->subject_value;
        break;
    case FIELD_FROM:
        v = &mh->from;
        break;
    case FIELD_MESSAGE_ID:
        v = &mh->message_id;
        break;
    case FIELD_DATE:
        v = &mh->date;
        break;
    default:
        return NULL;
    }
    /* A repeated field: the first one counts. */
    return v->raw == NULL ? v : NULL;
}

enum state {
    AT_LINE_START,
    IN_NAME,
    AFTER_NAME, /* blanks between the name and the colon */
    IN_VALUE,
    AFTER_CR, /* a CR ended the line; an LF right after belongs to it */
    AT_BLANK_LINE_CR
};

static void field_start(struct scanner *sc, const char *name, size_t name_len)
{
    char buf[80];
    memcpy(buf, name, name_len);
    buf[name_len] = '\0';
    sc->kind = field_kind(buf);
    sc->value = value_for(sc->mh, sc->kind);
    sc->value_cap = 0;
    if (sc->value) {
        sc->value->raw = xstrdup("");
        sc->value_cap = 1;
    }
}

/* The state after a byte of a line that is no field ("From " lines,
 * garbage): such a line is kept as it is, and the header goes on. */
static enum state not_a_field(struct scanner *sc, char c)
{
    sc->kind = FIELD_OTHER;
    sc->value = NULL;
    return c == '\n' ? AT_LINE_START : c == '\r' ? AFTER_CR : IN_VALUE;
}

int message_header_read(const struct spool *msg, struct message_header *mh)
{
    memset(mh, 0, sizeof(*mh));
    struct scanner sc = {.mh = mh};
    enum state state = AT_LINE_START;
    bool in_field = false;
    char name[80];
    size_t name_len = 0;
    char buf[16384];
    uint64_t off = 0, size = spool_size(msg);

    while (off < size) {
        ssize_t n = spool_pread(msg, buf, sizeof(buf), off);
        if (n <= 0)
            return -1;
        for (ssize_t i = 0; i < n; i++, off++) {
            char c = buf[i];
            if (state == AFTER_CR) {
                state = AT_LINE_START;
                if (c == '\n') {
                    value_append(&sc, c);
                    continue;
                }
                /* a bare CR ended the line: c starts the next one */
            }
            switch (state) {
            case AT_LINE_START:
                if (in_field && (c == ' ' || c == '\t')) {
                    value_append(&sc, c);
                    state = IN_VALUE;
                    break;
                }
                if (in_field)
                    field_end(&sc, off);
                in_field = false;
                if (off == 0 && (c == ' ' || c == '\t')) {
                    /* The copy puts this right after the block lmtpscan
                     * prepends, where it would continue our last field
                     * (X-Spam-Status): removed. */
                    sc.field_start = off;
                    sc.kind = FIELD_LEADING_FOLD;
                    sc.value = NULL;
                    in_field = true;
                    state = IN_VALUE;
                    break;
                }
                if (c == '\n') {
                    mh->header_len = off + 1;
                    return 0;
                }
                if (c == '\r') {
                    state = AT_BLANK_LINE_CR;
                    break;
                }
                sc.field_start = off;
                name_len = 0;
                state = IN_NAME;
                /* fall through */
            case IN_NAME:
                if (c == ':' && name_len > 0) {
                    field_start(&sc, name, name_len);
                    in_field = true;
                    state = IN_VALUE;
                } else if ((c == ' ' || c == '\t') && name_len > 0) {
                    state = AFTER_NAME;
                } else if ((unsigned char)c > 32 && (unsigned char)c < 127 &&
                           name_len < sizeof(name) - 1) {
                    name[name_len++] = c;
                } else {
                    in_field = true;
                    state = not_a_field(&sc, c);
                }
                break;
            case AFTER_NAME:
                if (c == ':') {
                    field_start(&sc, name, name_len);
                    in_field = true;
                    state = IN_VALUE;
                } else if (c != ' ' && c != '\t') {
                    in_field = true;
                    state = not_a_field(&sc, c);
                }
                break;
            case IN_VALUE:
                value_append(&sc, c);
                if (c == '\n')
                    state = AT_LINE_START;
                else if (c == '\r')
                    state = AFTER_CR;
                break;
            case AT_BLANK_LINE_CR:
                /* An empty line: CRLF, or a bare CR whose next byte is
                 * the first of the body. */
                mh->header_len = c == '\n' ? off + 1 : off;
                return 0;
            case AFTER_CR:
                break; /* handled above */
            }
        }
    }
    if (in_field)
        field_end(&sc, off);
    mh->header_len = off;
    return 0;
}

static void header_value_free(struct header_value *v)
{
    free(v->raw);
    v->raw = NULL;
}

void message_header_free(struct message_header *mh)
{
    free(mh->drop);
    header_value_free(&mh->subject_value);
    header_value_free(&mh->from);
    header_value_free(&mh->message_id);
    header_value_free(&mh->date);
    memset(mh, 0, sizeof(*mh));
}

void header_value_unfold(const struct header_value *v, char *out, size_t out_len)
{
    size_t o = 0;
    if (out_len == 0)
        return;
    for (size_t i = 0; v->raw != NULL && i < v->len && o + 1 < out_len; i++) {
        char c = v->raw[i];
        if (c == '\r' || c == '\n')
            continue;
        if (o == 0 && (c == ' ' || c == '\t'))
            continue;
        out[o++] = c;
    }
    out[o] = '\0';
}
