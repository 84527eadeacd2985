#ifndef CALLBOT_CESPEAKNG_SHIM_H
#define CALLBOT_CESPEAKNG_SHIM_H
#include <espeak-ng/speak_lib.h>

/// The user data given to espeak_Synth, read from the first event of a synthesis callback.
static inline void *callbot_espeak_user_data(espeak_EVENT *events) {
    return events ? events->user_data : 0;
}
#endif
