package import Audio
import Dispatch
import Foundation

/// The audio of everything the bot says, at 8 kHz: a recording from `audio/` when there is one
/// for the message key (and the message has no placeholders), otherwise synthesised speech,
/// cached by text.
package actor PromptLibrary {
    private let synthesizer: EspeakSynthesizer
    private let recordings: [String: String]
    /// Raw catalogue texts by key, to know whether a rendered prompt is the plain message.
    private let messages: [String: String]
    private var cache: [String: [Int16]] = [:]
    private static let queue = DispatchQueue(label: "callbot.speech")

    /// `audioDirectory` holds `<key>.wav` or `<key>.flac` files.
    package init(audioDirectory: String, messages: [String: String], synthesizer: EspeakSynthesizer) {
        self.synthesizer = synthesizer
        self.messages = messages
        var recordings: [String: String] = [:]
        let files = (try? FileManager.default.contentsOfDirectory(atPath: audioDirectory)) ?? []
        for file in files {
            let name = file as NSString
            guard ["wav", "flac", "ogg"].contains(name.pathExtension.lowercased()) else { continue }
            recordings[name.deletingPathExtension] = audioDirectory + "/" + file
        }
        self.recordings = recordings
    }

    /// Samples of `text` (said for message `key`) at 8 kHz.
    package func audio(key: String, text: String) async throws -> [Int16] {
        if let path = recordings[key], messages[key] == text {
            if let cached = cache["file:" + key] { return cached }
            let samples = try SoundFile.read(path).resampled(to: PCM.telephoneRate).samples
            cache["file:" + key] = samples
            return samples
        }
        if let cached = cache[text] { return cached }
        let synthesizer = self.synthesizer
        let samples = try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<[Int16], any Error>) in
            // espeak-ng blocks: keep it off the cooperative threads.
            Self.queue.async {
                continuation.resume(
                    with: Result { try synthesizer.synthesizeNow(text).resampled(to: PCM.telephoneRate).samples })
            }
        }
        if cache.count > 2000 { cache.removeAll() }
        cache[text] = samples
        return samples
    }

    /// Synthesises every message without placeholders ahead of the first call.
    package func prewarm() async {
        for (key, text) in messages where !text.contains("{") && !key.hasPrefix("format.") {
            _ = try? await audio(key: key, text: text)
        }
    }
}
