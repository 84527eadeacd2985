internal import CPortAudio
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Why a sound device cannot be used.
package struct SoundDeviceError: Error, CustomStringConvertible {
    package var description: String
}

/// A sound card (a USB phone adapter, a headset) through PortAudio: one capture and one playback
/// stream of 16-bit mono at a fixed rate, with blocking reads and writes.
///
/// PortAudio is initialised once per process; a device is used by one thread at a time.
package final class SoundDevice: @unchecked Sendable {
    // @unchecked: the streams are touched only by the thread that runs the line.
    private var capture: UnsafeMutableRawPointer?
    private var playback: UnsafeMutableRawPointer?
    package let sampleRate: Int
    package let inputName: String
    package let outputName: String

    /// Opens the devices whose names contain `input` and `output` (the default ones when nil).
    package init(input: String?, output: String?, sampleRate: Int = 8000, framesPerBuffer: Int = 160) throws {
        try Self.initialise()
        self.sampleRate = sampleRate
        let inputIndex = try Self.device(named: input, input: true)
        let outputIndex = try Self.device(named: output, input: false)
        inputName = Self.name(of: inputIndex)
        outputName = Self.name(of: outputIndex)
        let capture = try Self.open(inputIndex, input: true, sampleRate: sampleRate, framesPerBuffer: framesPerBuffer)
        do {
            playback = try Self.open(
                outputIndex, input: false, sampleRate: sampleRate, framesPerBuffer: framesPerBuffer)
        } catch {
            Pa_CloseStream(capture)
            throw error
        }
        self.capture = capture
    }

    deinit { close() }

    /// Reads `count` samples; an overflow (samples lost while we were late) is not an error.
    package func read(_ count: Int) throws -> [Int16] {
        guard let capture else { throw SoundDeviceError(description: "the device is closed") }
        var samples = [Int16](repeating: 0, count: count)
        let status = samples.withUnsafeMutableBytes { Pa_ReadStream(capture, $0.baseAddress, UInt(count)) }
        guard status == paNoError.rawValue || status == paInputOverflowed.rawValue else {
            throw SoundDeviceError(description: "cannot read the sound device: \(Self.text(status))")
        }
        return samples
    }

    /// Writes samples; an underflow (the device ran dry) is not an error.
    package func write(_ samples: [Int16]) throws {
        guard let playback else { throw SoundDeviceError(description: "the device is closed") }
        let status = samples.withUnsafeBytes { Pa_WriteStream(playback, $0.baseAddress, UInt(samples.count)) }
        guard status == paNoError.rawValue || status == paOutputUnderflowed.rawValue else {
            throw SoundDeviceError(description: "cannot write to the sound device: \(Self.text(status))")
        }
    }

    package func close() {
        for stream in [capture, playback].compactMap({ $0 }) {
            Pa_StopStream(stream)
            Pa_CloseStream(stream)
        }
        capture = nil
        playback = nil
    }

    /// The names of the devices PortAudio sees, with their input and output channels.
    package static func list() throws -> [(name: String, inputs: Int, outputs: Int)] {
        try initialise()
        return (0..<max(0, Int(Pa_GetDeviceCount()))).compactMap { index in
            guard let info = Pa_GetDeviceInfo(PaDeviceIndex(index))?.pointee else { return nil }
            return (String(cString: info.name), Int(info.maxInputChannels), Int(info.maxOutputChannels))
        }
    }

    // MARK: PortAudio

    private static let initialised: Result<Void, SoundDeviceError> = {
        setenv("JACK_NO_START_SERVER", "1", 0)
        callbot_silence_alsa()
        // libjack prints its failure to find a server straight to stderr: keep it off the logs.
        let savedError = dup(2)
        let null = Glibc.open("/dev/null", O_WRONLY)
        if savedError >= 0 && null >= 0 { dup2(null, 2) }
        let status = Pa_Initialize()
        if savedError >= 0 && null >= 0 { dup2(savedError, 2) }
        if savedError >= 0 { Glibc.close(savedError) }
        if null >= 0 { Glibc.close(null) }
        guard status == paNoError.rawValue else {
            return .failure(SoundDeviceError(description: "PortAudio does not start: \(text(status))"))
        }
        return .success(())
    }()

    private static func initialise() throws { try initialised.get() }

    private static func text(_ status: PaError) -> String { String(cString: Pa_GetErrorText(status)) }

    private static func name(of index: PaDeviceIndex) -> String {
        Pa_GetDeviceInfo(index).map { String(cString: $0.pointee.name) } ?? "?"
    }

    private static func device(named wanted: String?, input: Bool) throws -> PaDeviceIndex {
        let kind = input ? "input" : "output"
        guard let wanted, !wanted.isEmpty, wanted != "default" else {
            let index = input ? Pa_GetDefaultInputDevice() : Pa_GetDefaultOutputDevice()
            guard index >= 0 else { throw SoundDeviceError(description: "no default \(kind) sound device") }
            return index
        }
        let devices = try list()
        let usable = devices.indices.filter { input ? devices[$0].inputs > 0 : devices[$0].outputs > 0 }
        guard
            let index = usable.first(where: { devices[$0].name == wanted })
                ?? usable.first(where: { devices[$0].name.localizedCaseInsensitiveContains(wanted) })
        else {
            let names = usable.map { devices[$0].name }.joined(separator: ", ")
            throw SoundDeviceError(description: "no \(kind) sound device named \"\(wanted)\" (found: \(names))")
        }
        return PaDeviceIndex(index)
    }

    private static func open(_ device: PaDeviceIndex, input: Bool, sampleRate: Int, framesPerBuffer: Int) throws
        -> UnsafeMutableRawPointer
    {
        let latency =
            Pa_GetDeviceInfo(device).map {
                input ? $0.pointee.defaultLowInputLatency : $0.pointee.defaultLowOutputLatency
            } ?? 0.05
        var parameters = PaStreamParameters(
            device: device, channelCount: 1, sampleFormat: paInt16, suggestedLatency: latency,
            hostApiSpecificStreamInfo: nil)
        var stream: UnsafeMutableRawPointer?
        let status = withUnsafePointer(to: &parameters) { pointer in
            Pa_OpenStream(
                &stream, input ? pointer : nil, input ? nil : pointer, Double(sampleRate), UInt(framesPerBuffer),
                PaStreamFlags(paClipOff), nil, nil)
        }
        guard status == paNoError.rawValue, let stream else {
            throw SoundDeviceError(
                description:
                    "cannot open \"\(name(of: device))\" for \(input ? "capture" : "playback") at \(sampleRate) Hz: \(text(status))"
            )
        }
        let started = Pa_StartStream(stream)
        guard started == paNoError.rawValue else {
            Pa_CloseStream(stream)
            throw SoundDeviceError(description: "cannot start \"\(name(of: device))\": \(text(started))")
        }
        return stream
    }
}
