/*
 * mail_id: random message ids (see mail_id.h). Rejection sampling keeps
 * the 36 symbols uniform.
 */
#include "common/mail_id.h"

#include <string.h>
#include <sys/random.h>

int mail_id_new(char *out)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    size_t n = 0;
    while (n < MAIL_ID_LEN) {
        unsigned char rnd[32];
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
            return -1;
        for (size_t i = 0; i < sizeof(rnd) && n < MAIL_ID_LEN; i++)
            if (rnd[i] < 252) /* 252 = 7 * 36 */
                out[n++] = alphabet[rnd[i] % 36];
    }
    out[MAIL_ID_LEN] = '\0';
    return 0;
}

bool mail_id_valid(const char *id)
{
    if (strlen(id) != MAIL_ID_LEN)
        return false;
    for (size_t i = 0; i < MAIL_ID_LEN; i++)
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9')))
            return false;
    return true;
}
