import Audio
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
    /// Message keys whose rendered text holds what a caller said or typed (a phone number, their
    /// words): synthesised each time, never kept in memory or on disk.
    private let personal: Set<String>
    private var cache: [String: [Int16]] = [:]
    /// Where synthesised prompts are kept between runs (8 kHz 16-bit little-endian), if anywhere.
    private let cacheDirectory: String?
    private static let queue = DispatchQueue(label: "callbot.speech")

    /// `audioDirectory` holds `<key>.wav` or `<key>.flac` files; `cacheDirectory` keeps synthesised
    /// audio across restarts.
    package init(
        audioDirectory: String, messages: [String: String], synthesizer: EspeakSynthesizer,
        cacheDirectory: String? = nil, personal: Set<String> = []
    ) {
        self.synthesizer = synthesizer
        self.messages = messages
        self.personal = personal
        self.cacheDirectory = cacheDirectory
        if let cacheDirectory {
            try? FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true)
        }
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
        let keep = !personal.contains(key)
        if keep, let cached = cache[text] { return cached }
        let file = keep ? cacheDirectory.map { $0 + "/" + Self.fileName(for: text) } : nil
        if let file, let data = FileManager.default.contents(atPath: file), data.count % 2 == 0 {
            let samples = data.withUnsafeBytes { Array($0.bindMemory(to: Int16.self)).map(Int16.init(littleEndian:)) }
            cache[text] = samples
            return samples
        }
        let synthesizer = self.synthesizer
        let samples = try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<[Int16], any Error>) in
            // espeak-ng blocks: keep it off the cooperative threads.
            Self.queue.async {
                continuation.resume(
                    with: Result { try synthesizer.synthesizeNow(text).resampled(to: PCM.telephoneRate).samples })
            }
        }
        guard keep else { return samples }
        if cache.count > 2000 { cache.removeAll() }
        cache[text] = samples
        if let file {
            let data = samples.map(\.littleEndian).withUnsafeBytes { Data($0) }
            // Written aside then renamed, so that a reader never sees half a file.
            let temporary = file + ".\(ProcessInfo.processInfo.processIdentifier).tmp"
            if FileManager.default.createFile(atPath: temporary, contents: data), rename(temporary, file) != 0 {
                try? FileManager.default.removeItem(atPath: temporary)
            }
        }
        return samples
    }

    /// A stable file name for a text: FNV-1a 64 of the voice and the text.
    static func fileName(for text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in ("espeak-ng/fr/150|" + text).utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return String(hash, radix: 16) + ".pcm"
    }

    /// Synthesises every message without placeholders ahead of the first call.
    package func prewarm() async {
        for (key, text) in messages where !text.contains("{") && !key.hasPrefix("format.") {
            _ = try? await audio(key: key, text: text)
        }
    }
}
