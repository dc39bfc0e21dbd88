/*
 * mime_names: MIME part names from Content-Type/Content-Disposition
 * parameters (see mime_names.h). Parameters are parsed per RFC 2045
 * (token or quoted-string values) and RFC 2231 (attr*N, attr*N*, attr*).
 */
#include "scan/mime_names.h"

#include "common/strbuf.h"
#include "common/rfc2047.h"

#include <iconv.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#define MAX_PIECES 64

struct piece {
    size_t off, len; /* into the field's arena */
    bool present;
    bool extended; /* percent-encoded (attr*N*) */
};

/* One parameter (name or filename) collected over its pieces. */
struct param {
    struct piece pieces[MAX_PIECES];
    struct piece single; /* attr=value */
    struct piece ext;    /* attr*=value */
    unsigned n_pieces;   /* highest index + 1 */
};

/* The values of one field's parameters, unquoted, one after the other. */
struct field_params {
    char arena[MIME_FIELD_MAX];
    size_t arena_len;
    struct param name, filename;
};

static bool is_tspecial_end(char c)
{
    return c == ';' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes in into out (in place allowed); false on a bad escape. */
static bool pct_decode(const char *in, size_t len, char *out, size_t *out_len)
{
    size_t o = 0;
    bool ok = true;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '%' && i + 2 < len && hexval(in[i + 1]) >= 0 && hexval(in[i + 2]) >= 0) {
            out[o++] = (char)(hexval(in[i + 1]) * 16 + hexval(in[i + 2]));
            i += 2;
        } else {
            if (in[i] == '%')
                ok = false;
            out[o++] = in[i];
        }
    }
    *out_len = o;
    return ok;
}

/* Converts in (charset) to UTF-8 into out; false when it cannot. */
static bool to_utf8(const char *charset, const char *in, size_t len, char *out, size_t out_cap,
                    size_t *out_len)
{
    if (charset[0] == '\0' || strcasecmp(charset, "utf-8") == 0 ||
        strcasecmp(charset, "us-ascii") == 0) {
        if (len > out_cap)
            len = out_cap;
        memcpy(out, in, len);
        *out_len = len;
        return true;
    }
    iconv_t cd = iconv_open("UTF-8", charset);
    if (cd == (iconv_t)-1)
        return false;
    char *ip = (char *)in, *op = out;
    size_t il = len, ol = out_cap;
    size_t rc = iconv(cd, &ip, &il, &op, &ol);
    iconv_close(cd);
    if (rc == (size_t)-1)
        return false;
    *out_len = out_cap - ol;
    return true;
}

/* value "charset'lang'pct-text" -> UTF-8; false when undecodable. */
static bool decode_extended(const char *v, size_t len, char *out, size_t out_cap, size_t *out_len)
{
    char charset[64] = "";
    const char *q1 = memchr(v, '\'', len);
    const char *q2 = q1 != NULL ? memchr(q1 + 1, '\'', len - (size_t)(q1 + 1 - v)) : NULL;
    if (q1 != NULL && q2 != NULL) {
        size_t cl = (size_t)(q1 - v);
        if (cl >= sizeof(charset))
            return false;
        memcpy(charset, v, cl);
        charset[cl] = '\0';
        len -= (size_t)(q2 + 1 - v);
        v = q2 + 1;
    }
    char raw[MIME_NAME_MAX * 3];
    size_t raw_len;
    if (len > sizeof(raw))
        len = sizeof(raw);
    bool ok = pct_decode(v, len, raw, &raw_len);
    if (!to_utf8(charset, raw, raw_len, out, out_cap, out_len)) {
        size_t n = raw_len < out_cap ? raw_len : out_cap;
        memcpy(out, raw, n);
        *out_len = n;
        return false;
    }
    return ok;
}

static void emit_plain(const char *v, size_t len, mime_name_fn found, void *arg)
{
    if (memmem(v, len, "=?", 2) == NULL) {
        found(arg, v, len, false);
        return;
    }
    struct strbuf sb;
    strbuf_init(&sb, MIME_NAME_MAX * 4);
    bool ok = rfc2047_decode(v, len, &sb) == 0;
    /* an encoded word left as it was: a charset or encoding not decoded */
    if (ok && sb.data != NULL && memmem(sb.data, sb.len, "=?", 2) != NULL &&
        memmem(sb.data, sb.len, "?=", 2) != NULL)
        ok = false;
    if (sb.data != NULL)
        found(arg, sb.data, sb.len, !ok);
    else
        found(arg, v, len, !ok);
    strbuf_free(&sb);
}

static void emit_param(const struct field_params *fp, const struct param *pa, mime_name_fn found,
                       void *arg)
{
    char out[MIME_NAME_MAX];
    size_t out_len = 0;

    if (pa->n_pieces > 0) {
        /* join the pieces; the first carries the charset when extended */
        char joined[MIME_NAME_MAX * 3];
        size_t jl = 0;
        bool complete = true, extended = pa->pieces[0].extended;
        for (unsigned i = 0; i < pa->n_pieces; i++) {
            const struct piece *p = &pa->pieces[i];
            if (!p->present) {
                complete = false;
                continue;
            }
            const char *text = fp->arena + p->off;
            size_t n = p->len;
            if (jl + n > sizeof(joined))
                n = sizeof(joined) - jl;
            if (p->extended || !extended) {
                memcpy(joined + jl, text, n);
                jl += n;
            } else {
                /* a plain piece inside an extended value: percent-encode
                 * its '%' so that decoding leaves it alone */
                for (size_t k = 0; k < n && jl + 3 <= sizeof(joined); k++) {
                    if (text[k] == '%') {
                        memcpy(joined + jl, "%25", 3);
                        jl += 3;
                    } else {
                        joined[jl++] = text[k];
                    }
                }
            }
        }
        bool ok = complete;
        if (extended)
            ok &= decode_extended(joined, jl, out, sizeof(out), &out_len);
        else {
            out_len = jl < sizeof(out) ? jl : sizeof(out);
            memcpy(out, joined, out_len);
        }
        if (!extended && ok) {
            emit_plain(out, out_len, found, arg);
            return;
        }
        found(arg, out, out_len, !ok);
        return;
    }
    if (pa->ext.present) {
        bool ok = decode_extended(fp->arena + pa->ext.off, pa->ext.len, out, sizeof(out), &out_len);
        found(arg, out, out_len, !ok);
        return;
    }
    if (pa->single.present)
        emit_plain(fp->arena + pa->single.off, pa->single.len, found, arg);
}

/* Stores one attr=value (off/len in the arena) into its param. */
static void store(struct param *pa, const char *suffix, size_t slen, size_t off, size_t len)
{
    struct piece v = {off, len, true, false};
    if (slen == 0) {
        pa->single = v;
        return;
    }
    /* suffix starts with '*' */
    if (slen == 1) {
        pa->ext = v;
        return;
    }
    unsigned idx = 0;
    size_t i = 1;
    for (; i < slen && suffix[i] >= '0' && suffix[i] <= '9'; i++) {
        idx = idx * 10 + (unsigned)(suffix[i] - '0');
        if (idx >= MAX_PIECES)
            return; /* too many pieces: the missing ones make it undecodable */
    }
    if (i == 1)
        return;
    v.extended = i < slen && suffix[i] == '*';
    pa->pieces[idx] = v;
    if (idx + 1 > pa->n_pieces)
        pa->n_pieces = idx + 1;
}

static bool has_param(const struct param *pa)
{
    return pa->single.present || pa->ext.present || pa->n_pieces > 0;
}

void mime_names_field(const char *value, size_t len, mime_name_fn found, void *arg)
{
    struct field_params fp;
    const char *p = memchr(value, ';', len);
    const char *end = value + len;

    if (p == NULL)
        return;
    fp.arena_len = 0;
    memset(&fp.name, 0, sizeof(fp.name));
    memset(&fp.filename, 0, sizeof(fp.filename));
    while (p < end) {
        while (p < end && (*p == ';' || *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
            p++;
        const char *a = p;
        while (p < end && *p != '=' && *p != ';')
            p++;
        if (p >= end || *p != '=')
            continue;
        const char *a_end = p;
        while (a_end > a && (a_end[-1] == ' ' || a_end[-1] == '\t'))
            a_end--;
        p++;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        /* the value goes to the arena, which holds at most the field */
        size_t off = fp.arena_len, vl = 0;
        if (p < end && *p == '"') {
            p++;
            while (p < end && *p != '"') {
                if (*p == '\\' && p + 1 < end)
                    p++;
                if (off + vl < sizeof(fp.arena))
                    fp.arena[off + vl++] = *p;
                p++;
            }
            if (p < end)
                p++;
        } else {
            while (p < end && !is_tspecial_end(*p)) {
                if (off + vl < sizeof(fp.arena))
                    fp.arena[off + vl++] = *p;
                p++;
            }
        }
        fp.arena_len += vl;
        if (vl > MIME_NAME_MAX)
            vl = MIME_NAME_MAX;
        size_t al = (size_t)(a_end - a);
        struct param *target = NULL;
        size_t base = 0;
        if (al >= 8 && strncasecmp(a, "filename", 8) == 0) {
            target = &fp.filename;
            base = 8;
        } else if (al >= 4 && strncasecmp(a, "name", 4) == 0) {
            target = &fp.name;
            base = 4;
        }
        if (target != NULL && (al == base || a[base] == '*'))
            store(target, a + base, al - base, off, vl);
    }
    if (has_param(&fp.name))
        emit_param(&fp, &fp.name, found, arg);
    if (has_param(&fp.filename))
        emit_param(&fp, &fp.filename, found, arg);
}

static bool starts_field(const char *line, size_t len)
{
    static const char *const fields[] = {"content-type:", "content-disposition:"};
    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(fields[i]);
        if (len >= n && strncasecmp(line, fields[i], n) == 0)
            return true;
    }
    return false;
}

void mime_names_scan(const char *buf, size_t len, mime_name_fn found, void *arg)
{
    const char *p = buf, *end = buf + len;
    char field[MIME_FIELD_MAX];

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl != NULL ? nl + 1 : end;
        if ((*p == 'c' || *p == 'C') && starts_field(p, (size_t)(line_end - p))) {
            /* unfold the field: its continuation lines start with a blank */
            size_t fl = 0;
            const char *colon = memchr(p, ':', (size_t)(line_end - p));
            const char *q = colon + 1;
            for (;;) {
                const char *e = line_end;
                while (e > q && (e[-1] == '\n' || e[-1] == '\r'))
                    e--;
                size_t n = (size_t)(e - q);
                if (fl + n + 1 > sizeof(field))
                    n = sizeof(field) - 1 - fl;
                memcpy(field + fl, q, n);
                fl += n;
                if (fl + 1 < sizeof(field))
                    field[fl++] = ' ';
                if (line_end >= end || (*line_end != ' ' && *line_end != '\t'))
                    break;
                q = line_end;
                nl = memchr(q, '\n', (size_t)(end - q));
                line_end = nl != NULL ? nl + 1 : end;
            }
            mime_names_field(field, fl, found, arg);
        }
        p = line_end;
    }
}
