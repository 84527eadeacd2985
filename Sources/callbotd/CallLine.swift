import CallRuntime
import Telephony

/// The audio of one call, whatever carries it: RTP on a SIP call, a sound device on the local
/// line. The bot's voice goes out through ``VoiceOutput``.
protocol CallMedia: VoiceOutput {
    /// The caller's audio, 20 ms frames at 8 kHz.
    var callerAudio: AsyncStream<JitterBuffer.Frame> { get }
}

extension RTPSession: CallMedia {
    /// How the playback ended does not matter to the call: the inbox knows why it was cut.
    package func speak(_ samples: [Int16]) async { _ = await play(samples) }
}

/// One call as the dialogue loop sees it.
struct CallLine: Sendable {
    /// `sip` or `local`, as stored in the call record.
    let channel: String
    /// The caller's user part when the line gives one.
    let caller: String?
    /// For log lines: the SIP Call-ID, or the device.
    let lineID: String
    let media: any CallMedia
    let signals: AsyncStream<CallSignal>
    let hangUp: @Sendable () async -> Void
    /// Blind transfer to a SIP URI; its end comes as `CallSignal.transferFinished`.
    let transfer: @Sendable (_ target: String, _ headers: [(String, String)]) async -> Void

    init(sip call: IncomingCall) {
        channel = "sip"
        caller = call.caller
        lineID = call.callID
        media = call.media
        signals = call.signals
        hangUp = call.hangUp
        transfer = call.transfer
    }

    init(
        channel: String, caller: String?, lineID: String, media: any CallMedia, signals: AsyncStream<CallSignal>,
        hangUp: @escaping @Sendable () async -> Void,
        transfer: @escaping @Sendable (_ target: String, _ headers: [(String, String)]) async -> Void
    ) {
        self.channel = channel
        self.caller = caller
        self.lineID = lineID
        self.media = media
        self.signals = signals
        self.hangUp = hangUp
        self.transfer = transfer
    }
}
