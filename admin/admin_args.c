/*
 * admin_args: the argument helpers the admin subcommands share (see
 * admin_commands.h): a value shown safely in a message, and a MAIL_ID
 * checked with a clear error.
 */
#include "admin/admin_commands.h"
#include "common/mail_id.h"

#include <stdio.h>

const char *admin_printable(const char *s, char *buf, size_t len)
{
    size_t o = 0;
    if (len == 0)
        return "";
    for (; *s != '\0' && o + 1 < len; s++)
        buf[o++] = (*s >= 0x20 && *s < 0x7F) ? *s : '?';
    buf[o] = '\0';
    return buf;
}

int admin_check_mail_id(const char *id)
{
    if (mail_id_valid(id))
        return 1;
    char shown[64];
    fprintf(stderr, "lmtpscan: \"%s\" is not a mail id (12 characters of a-z and 0-9)\n",
            admin_printable(id, shown, sizeof(shown)));
    return 0;
}
