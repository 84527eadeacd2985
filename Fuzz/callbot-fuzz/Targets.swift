import CallbotCore
import Foundation
import Telephony

/// The parsers that read what strangers send or what administrators write, each as a function of
/// bytes that must return (or throw a clean error) on any input: no crash, no hang, no trap.
enum FuzzTarget: String, CaseIterable {
    case sip, sdp, rtp, config

    func run(_ data: [UInt8]) {
        switch self {
        case .sip: Self.sip(data)
        case .sdp: Self.sdp(data)
        case .rtp: Self.rtp(data)
        case .config: Self.config(data)
        }
    }

    /// A datagram and a stream through the parser, then the whole user agent (rules, transactions,
    /// dialogs, timers), from a trusted source on each transport.
    static func sip(_ data: [UInt8]) {
        let parser = SIPParser()
        if let message = try? parser.parse(datagram: data) {
            // What parses must serialise and parse again.
            _ = try? parser.parse(datagram: message.serialized())
        }
        _ = try? parser.parse(stream: data[...])
        var agent = SIPUserAgent(
            settings: SIPSettings(publicAddress: SIPAddress(host: "127.0.0.1", port: 5070), answerDelay: 0))
        for transport in [SIPTransport.udp, .tcp] {
            let effects = agent.receive(
                data, from: SIPAddress(host: "127.0.0.1", port: 5061, transport: transport), now: 0)
            for case .startMedia(let callID, _, _) in effects { _ = agent.mediaReady(callID, now: 0) }
        }
        _ = agent.tick(now: 40)
    }

    static func sdp(_ data: [UInt8]) {
        guard let offer = try? SDPAudio.parse(String(decoding: data, as: UTF8.self)),
            let agreement = MediaAgreement(offer: offer)
        else { return }
        _ = agreement.answer(address: "127.0.0.1", port: 20000, sessionID: 1)
    }

    /// Packets cut from the input (a length byte, then the packet) through the parser, the
    /// telephone-event detector and the jitter buffer.
    static func rtp(_ data: [UInt8]) {
        var detector = TelephoneEventDetector()
        var jitter = JitterBuffer()
        var rest = data[...]
        var arrival = 0.0
        while let length = rest.first {
            rest = rest.dropFirst()
            let bytes = rest.prefix(Int(length) + 12)
            rest = rest.dropFirst(bytes.count)
            guard let packet = RTPPacket(bytes) else { continue }
            arrival += 0.02
            if packet.payloadType == 101 {
                _ = detector.key(in: packet.payload, ssrc: packet.ssrc, timestamp: packet.timestamp)
            } else {
                jitter.insert(
                    timestamp: packet.timestamp, samples: G711.decode(packet.payload, .muLaw), arrival: arrival)
                _ = jitter.pop()
            }
        }
    }

    /// The demo's three files, the first byte choosing which one the rest of the input replaces.
    static func config(_ data: [UInt8]) {
        guard let which = data.first else { return }
        let text = String(decoding: data.dropFirst(), as: UTF8.self)
        let demo = DemoConfig.shared
        _ = try? Deployment.parse(
            callbot: which % 3 == 0 ? text : demo.callbot, intents: which % 3 == 1 ? text : demo.intents,
            messages: which % 3 == 2 ? text : demo.messages)
    }
}

/// The shipped demo configuration, read once (from `CALLBOT_ROOT` or the working directory).
struct DemoConfig: Sendable {
    let callbot: String
    let intents: String
    let messages: String

    static let shared: DemoConfig = {
        let root = ProcessInfo.processInfo.environment["CALLBOT_ROOT"] ?? FileManager.default.currentDirectoryPath
        func read(_ path: String) -> String {
            (try? String(contentsOfFile: root + "/" + path, encoding: .utf8)) ?? ""
        }
        return DemoConfig(
            callbot: read("config/callbot.yaml"), intents: read("config/intents.yaml"),
            messages: read("prompts/messages.fr.yaml"))
    }()
}
