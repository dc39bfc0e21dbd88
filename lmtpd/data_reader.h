/*
 * data_reader: the DATA state machine, pure. It removes dot-stuffing and
 * finds the end of data, which is only CR LF "." CR LF (the CRLF ending the
 * DATA command counts as the first one). A bare LF is a line end that is
 * kept as it is, but LF "." LF, LF "." CR LF and CR LF "." LF never end the
 * data (no SMTP smuggling). NUL and 8-bit bytes pass through unchanged.
 * Lines may be of any length. Thread-safe per instance.
 */
#ifndef LMTPSCAN_DATA_READER_H
#define LMTPSCAN_DATA_READER_H

#include <stdbool.h>
#include <stddef.h>

struct data_reader {
    int state;
    bool done;
};

void data_reader_init(struct data_reader *dr);

/*
 * Feeds in[0..in_len). Unstuffed message bytes go to out, which must hold
 * in_len + 2 bytes (a held-back "." or ".\r" may be released); *out_len is
 * set. Returns the number of input bytes consumed: all of them, or fewer
 * when the end of data was found (dr->done set; the rest belongs to the
 * next command).
 */
size_t data_reader_feed(struct data_reader *dr, const char *in, size_t in_len, char *out,
                        size_t *out_len);

#endif
