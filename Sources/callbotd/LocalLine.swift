import Audio
import CallbotCore
import Foundation
import Logging
import ServiceLifecycle
import Telephony

/// The audio of a call on the local line: prompts queued as 20 ms frames for the device thread,
/// the caller's frames and keys handed to the dialogue.
final class LocalCallMedia: CallMedia, @unchecked Sendable {
    // @unchecked: every mutable field is behind `lock`.
    let callerAudio: AsyncStream<JitterBuffer.Frame>
    let signals: AsyncStream<CallSignal>
    private let audioSink: AsyncStream<JitterBuffer.Frame>.Continuation
    private let signalSink: AsyncStream<CallSignal>.Continuation
    private let lock = NSLock()
    private var queue: [(frame: [Int16], ends: Int?)] = []
    private var waiters: [Int: CheckedContinuation<PlaybackEnd, Never>] = [:]
    private var nextPlayback = 0
    private var ended = false

    init() {
        (callerAudio, audioSink) = AsyncStream.makeStream(
            of: JitterBuffer.Frame.self, bufferingPolicy: .bufferingNewest(250))
        (signals, signalSink) = AsyncStream.makeStream(of: CallSignal.self)
    }

    func speak(_ samples: [Int16]) async { _ = await play(samples) }

    func play(_ samples: [Int16]) async -> PlaybackEnd {
        await withCheckedContinuation { continuation in
            let immediate: PlaybackEnd? = lock.withLock {
                if ended { return .interrupted }
                guard !samples.isEmpty else { return .finished }
                let id = nextPlayback
                nextPlayback += 1
                var index = 0
                while index < samples.count {
                    var frame = Array(samples[index..<min(index + 160, samples.count)])
                    if frame.count < 160 { frame += [Int16](repeating: 0, count: 160 - frame.count) }
                    index += 160
                    queue.append((frame, index >= samples.count ? id : nil))
                }
                waiters[id] = continuation
                return nil
            }
            if let immediate { continuation.resume(returning: immediate) }
        }
    }

    func interrupt() {
        let stopped = lock.withLock {
            queue.removeAll()
            defer { waiters.removeAll() }
            return Array(waiters.values)
        }
        for waiter in stopped { waiter.resume(returning: .interrupted) }
    }

    var isPlaying: Bool { lock.withLock { !queue.isEmpty } }

    /// One tick of the device thread: the caller's frame in, the bot's frame (or silence) out.
    fileprivate func exchange(_ heard: [Int16], keys: [Character]) -> [Int16] {
        audioSink.yield(JitterBuffer.Frame(samples: heard))
        for key in keys { signalSink.yield(.key(key)) }
        let (frame, finished): ([Int16]?, CheckedContinuation<PlaybackEnd, Never>?) = lock.withLock {
            guard !queue.isEmpty else { return (nil, nil) }
            let (frame, ends) = queue.removeFirst()
            return (frame, ends.flatMap { waiters.removeValue(forKey: $0) })
        }
        finished?.resume(returning: .finished)
        return frame ?? LocalLine.silence
    }

    func signal(_ signal: CallSignal) { signalSink.yield(signal) }

    /// The call is over: streams end, playback stops.
    fileprivate func end() {
        lock.withLock { ended = true }
        interrupt()
        signalSink.yield(.hangUp)
        signalSink.finish()
        audioSink.finish()
    }
}

/// A sound device as a phone line (a USB phone adapter, a headset): one call at a time, with the
/// same dialogue, speech and storage as SIP calls. Keys are heard in-band. The first call starts
/// at once; after a call ends, the next one starts when the caller speaks or presses a key.
final class LocalLine: Service, Sendable {
    static let silence = [Int16](repeating: 0, count: 160)

    let settings: LocalLineSettings
    /// Stop (and let the daemon exit) after one call: `callbotctl console`.
    let once: Bool
    let logger: Logger
    let runCall: @Sendable (CallLine) async -> Void
    private let state = LockedState()

    init(settings: LocalLineSettings, once: Bool, logger: Logger, runCall: @escaping @Sendable (CallLine) async -> Void)
    {
        self.settings = settings
        self.once = once
        self.logger = logger
        self.runCall = runCall
    }

    /// What the device thread and the calls share.
    private final class LockedState: @unchecked Sendable {
        // @unchecked: every field is behind `lock`.
        let lock = NSLock()
        var call: LocalCallMedia?
        var running = true
        var activity: CheckedContinuation<Void, Never>?
        var failure: (any Error)?
    }

    func run() async throws {
        let device = try SoundDevice(input: settings.inputDevice, output: settings.outputDevice)
        logger.info("local line open", metadata: ["input": "\(device.inputName)", "output": "\(device.outputName)"])
        let thread = Thread { [state, logger] in Self.pump(device, state, logger) }
        thread.name = "local-line"
        thread.start()
        defer {
            state.lock.withLock { state.running = false }
        }
        await withGracefulShutdownHandler {
            var first = true
            while !Task.isShuttingDownGracefully {
                if !first {
                    guard await waitForCaller() else { break }
                }
                first = false
                let media = LocalCallMedia()
                guard
                    state.lock.withLock({ () -> Bool in
                        guard state.running else { return false }
                        state.call = media
                        return true
                    })
                else { break }
                await runCall(
                    CallLine(
                        channel: "local", caller: nil, lineID: device.inputName, media: media, signals: media.signals,
                        hangUp: { [state] in Self.endCall(state) },
                        transfer: { _, _ in
                            // No network to transfer to on a sound card: the dialogue offers alternatives.
                            media.signal(.transferFinished(503))
                        }))
                Self.endCall(state)
                if once { break }
            }
        } onGracefulShutdown: { [state] in
            Self.endCall(state)
            let waiting = state.lock.withLock {
                state.running = false
                defer { state.activity = nil }
                return state.activity
            }
            waiting?.resume()
        }
        if let failure = state.lock.withLock({ state.failure }) { throw failure }
    }

    private static func endCall(_ state: LockedState) {
        let call = state.lock.withLock {
            defer { state.call = nil }
            return state.call
        }
        call?.end()
    }

    /// Waits until the caller speaks or presses a key (true), or the line closes (false).
    private func waitForCaller() async -> Bool {
        await withCheckedContinuation { continuation in
            let closed = state.lock.withLock {
                guard state.running else { return true }
                state.activity = continuation
                return false
            }
            if closed { continuation.resume() }
        }
        return state.lock.withLock { state.running }
    }

    /// The device thread: a 20 ms frame read and one written per tick, paced by the device when
    /// it blocks and by the monotonic clock when it does not (a file or null device).
    private static func pump(_ device: SoundDevice, _ state: LockedState, _ logger: Logger) {
        var keys = DTMFDetector()
        var detector = VoiceActivityDetector()
        var deadline = ContinuousClock.now
        while state.lock.withLock({ state.running }) {
            do {
                let heard = try device.read(160)
                let pressed = keys.process(heard)
                let call = state.lock.withLock { state.call }
                var frame = silence
                if let call {
                    frame = call.exchange(heard, keys: pressed)
                } else if !pressed.isEmpty || detector.process(heard) == .speechStarted {
                    let waiting = state.lock.withLock {
                        defer { state.activity = nil }
                        return state.activity
                    }
                    waiting?.resume()
                }
                try device.write(frame)
            } catch {
                logger.error("the local line failed", metadata: ["error": "\(error)"])
                state.lock.withLock {
                    state.failure = error
                    state.running = false
                }
                endCall(state)
                let waiting = state.lock.withLock {
                    defer { state.activity = nil }
                    return state.activity
                }
                waiting?.resume()
                break
            }
            deadline += .milliseconds(20)
            let now = ContinuousClock.now
            if deadline > now {
                let wait = (deadline - now).components
                Thread.sleep(forTimeInterval: Double(wait.seconds) + Double(wait.attoseconds) / 1e18)
            } else if now - deadline > .milliseconds(200) {
                deadline = now  // far behind (a stalled device): start the grid again
            }
        }
        device.close()
    }
}
