/*
 * text: byte classes shared by the parsers. Control bytes (0x00-0x1F and
 * 0x7F) are refused in addresses, paths, names and protocol values
 * everywhere. Pure, thread-safe.
 */
#ifndef LMTPSCAN_TEXT_H
#define LMTPSCAN_TEXT_H

#include <stdbool.h>

static inline bool is_control_byte(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

/* True when the NUL-terminated s holds a control byte. */
static inline bool text_has_control(const char *s)
{
    for (; *s; s++)
        if (is_control_byte((unsigned char)*s))
            return true;
    return false;
}

#endif
