#ifndef CALLBOT_CSRTP_SHIM_H
#define CALLBOT_CSRTP_SHIM_H
#include <srtp2/srtp.h>

/// Macros made of other macros, as constants Swift imports.
static const int callbot_srtp_max_trailer_len = SRTP_MAX_TRAILER_LEN;
static const int callbot_srtp_key_and_salt_len = SRTP_AES_ICM_128_KEY_LEN_WSALT;
#endif
