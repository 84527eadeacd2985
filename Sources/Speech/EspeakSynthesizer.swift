package import Audio
internal import CEspeakNG
import Foundation

/// Why speech could not be synthesised.
package struct SynthesisError: Error, Sendable, CustomStringConvertible {
    package var reason: String
    package var description: String { "speech synthesis: \(reason)" }
}

/// Turns text into speech.
package protocol SpeechSynthesizer: Sendable {
    func synthesize(_ text: String) async throws -> PCM
}

/// espeak-ng in-process, French voice. One engine per process: espeak-ng keeps global state and
/// cannot be initialised twice, so every synthesis goes through this lock.
package final class EspeakSynthesizer: SpeechSynthesizer, @unchecked Sendable {
    // @unchecked: all access to espeak-ng's global state is serialised by `lock`.
    private let lock = NSLock()
    private let sampleRate: Int
    private let voice: String

    /// The shared engine, initialised on first use.
    package static func shared(voice: String = "fr", wordsPerMinute: Int = 150) throws -> EspeakSynthesizer {
        try registry.engine(voice: voice, rate: wordsPerMinute)
    }

    private static let registry = Registry()

    private final class Registry: @unchecked Sendable {
        // @unchecked: `engine` is read and written under `lock` only.
        let lock = NSLock()
        var engine: EspeakSynthesizer?

        func engine(voice: String, rate: Int) throws -> EspeakSynthesizer {
            lock.lock()
            defer { lock.unlock() }
            if let engine { return engine }
            let made = try EspeakSynthesizer(voice: voice, rate: rate)
            engine = made
            return made
        }
    }

    private init(voice: String, rate: Int) throws {
        let rateOrError = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 500, nil, 0)
        guard rateOrError > 0 else {
            throw SynthesisError(reason: "espeak-ng did not initialise (is espeak-ng-data installed?)")
        }
        sampleRate = Int(rateOrError)
        self.voice = voice
        espeak_SetSynthCallback(synthCallback)
        guard espeak_SetVoiceByName(voice) == EE_OK else {
            throw SynthesisError(reason: "no espeak-ng voice \"\(voice)\"")
        }
        espeak_SetParameter(espeakRATE, Int32(rate), 0)
    }

    package func synthesize(_ text: String) async throws -> PCM {
        try synthesizeNow(text)
    }

    /// Blocking synthesis; call from a thread that may block.
    package func synthesizeNow(_ text: String) throws -> PCM {
        lock.lock()
        defer { lock.unlock() }
        let sink = SampleSink()
        let unmanaged = Unmanaged.passRetained(sink)
        defer { unmanaged.release() }
        let status = text.withCString { pointer in
            espeak_Synth(
                pointer, strlen(pointer) + 1, 0, POS_CHARACTER, 0, UInt32(espeakCHARS_UTF8), nil, unmanaged.toOpaque())
        }
        guard status == EE_OK else { throw SynthesisError(reason: "espeak_Synth failed (\(status.rawValue))") }
        espeak_Synchronize()
        return PCM(samples: sink.samples, sampleRate: sampleRate)
    }
}

/// Samples collected by the synthesis callback for one call of `espeak_Synth`.
private final class SampleSink {
    var samples: [Int16] = []
}

/// espeak-ng's callback: appends samples to the sink passed as user data.
private func synthCallback(
    _ wav: UnsafeMutablePointer<Int16>?, _ count: Int32, _ events: UnsafeMutablePointer<espeak_EVENT>?
) -> Int32 {
    guard let wav, count > 0, let pointer = callbot_espeak_user_data(events) else { return 0 }
    let sink = Unmanaged<SampleSink>.fromOpaque(pointer).takeUnretainedValue()
    sink.samples.append(contentsOf: UnsafeBufferPointer(start: wav, count: Int(count)))
    return 0
}
