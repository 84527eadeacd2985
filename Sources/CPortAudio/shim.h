#ifndef CALLBOT_CPORTAUDIO_SHIM_H
#define CALLBOT_CPORTAUDIO_SHIM_H
#include <portaudio.h>
#include <alsa/asoundlib.h>
#include <jack/jack.h>

/* ALSA reports every device it probes on stderr; its handler is variadic, so Swift cannot be one. */
static void callbot_alsa_quiet(const char *file, int line, const char *function, int err, const char *fmt, ...) {
    (void)file; (void)line; (void)function; (void)err; (void)fmt;
}

static void callbot_jack_quiet(const char *message) { (void)message; }

/* Silences ALSA and JACK, which PortAudio probes at start-up. */
static inline void callbot_silence_alsa(void) {
    snd_lib_error_set_handler(callbot_alsa_quiet);
    jack_set_error_function(callbot_jack_quiet);
    jack_set_info_function(callbot_jack_quiet);
}
#endif
