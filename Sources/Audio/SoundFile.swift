internal import CSndFile

/// Why an audio file could not be read.
package struct SoundFileError: Error, Sendable, CustomStringConvertible {
    package var path: String
    package var reason: String
    package var description: String { "\(path): \(reason)" }
}

/// Reads audio files (WAV, FLAC, anything libsndfile knows) as mono 16-bit PCM.
package enum SoundFile {
    /// The whole file, channels mixed down to mono.
    package static func read(_ path: String) throws(SoundFileError) -> PCM {
        let file = try OpenSoundFile(path: path)
        return try file.readAll()
    }

    /// Writes mono PCM as a 16-bit WAV file.
    package static func writeWAV(_ pcm: PCM, to path: String) throws(SoundFileError) {
        var info = SF_INFO()
        info.samplerate = Int32(pcm.sampleRate)
        info.channels = 1
        info.format = Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_16)
        guard let handle = sf_open(path, Int32(SFM_WRITE), &info) else {
            throw SoundFileError(path: path, reason: String(cString: sf_strerror(nil)))
        }
        defer { sf_close(handle) }
        let written = pcm.samples.withUnsafeBufferPointer {
            sf_write_short(handle, $0.baseAddress, sf_count_t($0.count))
        }
        guard written == pcm.samples.count else { throw SoundFileError(path: path, reason: "short write") }
    }
}

/// An open `SNDFILE*`, closed on deinit.
private final class OpenSoundFile {
    let handle: OpaquePointer
    let info: SF_INFO
    let path: String

    init(path: String) throws(SoundFileError) {
        var info = SF_INFO()
        guard let handle = sf_open(path, Int32(SFM_READ), &info) else {
            throw SoundFileError(path: path, reason: String(cString: sf_strerror(nil)))
        }
        self.handle = handle
        self.info = info
        self.path = path
    }

    deinit { sf_close(handle) }

    func readAll() throws(SoundFileError) -> PCM {
        let channels = Int(info.channels)
        guard channels > 0, info.samplerate > 0 else { throw SoundFileError(path: path, reason: "no audio") }
        var interleaved = [Int16](repeating: 0, count: Int(info.frames) * channels)
        let frames = interleaved.withUnsafeMutableBufferPointer { sf_readf_short(handle, $0.baseAddress, info.frames) }
        guard frames >= 0 else { throw SoundFileError(path: path, reason: "read error") }
        var mono = [Int16](repeating: 0, count: Int(frames))
        for frame in 0..<Int(frames) {
            var sum = 0
            for channel in 0..<channels { sum += Int(interleaved[frame * channels + channel]) }
            mono[frame] = Int16(sum / channels)
        }
        return PCM(samples: mono, sampleRate: Int(info.samplerate))
    }
}
