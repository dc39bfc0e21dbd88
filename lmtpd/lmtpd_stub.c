/* placeholder until the protocol lands */
typedef int lmtpd_stub_unused;
