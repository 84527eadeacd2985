import CSRTP
import Foundation

/// SDES keys of a call's SRTP (RFC 4568, AES_CM_128_HMAC_SHA1_80): the caller's key decrypts what
/// the caller sends, the bot's own key encrypts what it sends.
package struct SRTPKeys: Sendable, Equatable {
    /// The `a=crypto` tag the answer repeats.
    package var tag: Int
    /// The caller's key and salt (30 bytes).
    package var remote: [UInt8]
    /// The bot's key and salt (30 random bytes), kept across re-INVITEs while the caller's stays.
    package var local: [UInt8]

    package static let suite = "AES_CM_128_HMAC_SHA1_80"
    static let keyLength = Int(callbot_srtp_key_and_salt_len)

    /// The first usable `a=crypto` line of an offer: the suite above, a 30-byte inline key, no
    /// MKI and no session parameters; nil when there is none.
    package init?(offer lines: [SDPAudio.Crypto]) {
        for line in lines where line.suite == Self.suite && line.sessionParameters.isEmpty {
            guard let key = line.key, key.count == Self.keyLength else { continue }
            tag = line.tag
            remote = key
            var generator = SystemRandomNumberGenerator()
            local = (0..<Self.keyLength).map { _ in UInt8.random(in: 0...255, using: &generator) }
            return
        }
        return nil
    }

    /// The answer's line.
    var attribute: String { "a=crypto:\(tag) \(Self.suite) inline:\(Data(local).base64EncodedString())" }

    /// The key of an `inline:` parameter: base64 before any `|lifetime` or `|MKI:length`; nil with an MKI.
    static func inlineKey(_ parameter: Substring) -> [UInt8]? {
        guard parameter.hasPrefix("inline:") else { return nil }
        let parts = parameter.dropFirst("inline:".count).split(separator: "|")
        guard let encoded = parts.first, !parts.dropFirst().contains(where: { $0.contains(":") }) else { return nil }
        return Data(base64Encoded: String(encoded)).map { Array($0) }
    }
}

/// One direction of a call's SRTP, on libsrtp2. Not thread-safe: its RTP session uses it under
/// its lock only.
final class SRTPContext: @unchecked Sendable {
    private let context: OpaquePointer
    /// Packets are protected in place in an aligned scratch buffer (libsrtp assumes alignment).
    private let scratch: UnsafeMutableRawPointer
    private static let capacity = 1500 + Int(callbot_srtp_max_trailer_len) + 4
    /// libsrtp is set up once per process (a second srtp_init fails).
    private static let ready: Bool = srtp_init() == srtp_err_status_ok

    /// `outbound`: protects what the bot sends with `key`; otherwise checks and decrypts what
    /// the caller sends.
    init?(key: [UInt8], outbound: Bool) {
        guard Self.ready, key.count == SRTPKeys.keyLength else { return nil }
        var policy = srtp_policy_t()
        srtp_crypto_policy_set_rtp_default(&policy.rtp)
        srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
        policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound
        policy.window_size = 128
        var keyCopy = key
        var session: srtp_t?
        let status = keyCopy.withUnsafeMutableBufferPointer { buffer in
            policy.key = buffer.baseAddress
            return srtp_create(&session, &policy)
        }
        for index in keyCopy.indices { keyCopy[index] = 0 }
        guard status == srtp_err_status_ok, let session else { return nil }
        context = session
        scratch = UnsafeMutableRawPointer.allocate(byteCount: Self.capacity, alignment: 16)
    }

    deinit {
        srtp_dealloc(context)
        scratch.deallocate()
    }

    /// An RTP packet encrypted and authenticated; nil when it cannot be.
    func protect(_ packet: [UInt8]) -> [UInt8]? {
        transform(packet) { context, buffer, length in srtp_protect(context, buffer, length) }
    }

    /// An SRTP packet checked and decrypted; nil when it fails authentication or replays.
    func unprotect(_ packet: some Collection<UInt8>) -> [UInt8]? {
        transform(Array(packet)) { context, buffer, length in srtp_unprotect(context, buffer, length) }
    }

    private func transform(
        _ packet: [UInt8],
        _ body: (OpaquePointer, UnsafeMutableRawPointer, UnsafeMutablePointer<Int32>) -> srtp_err_status_t
    ) -> [UInt8]? {
        guard packet.count >= 12, packet.count <= 1500 else { return nil }
        packet.withUnsafeBytes { scratch.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        var length = Int32(packet.count)
        guard body(context, scratch, &length) == srtp_err_status_ok else { return nil }
        return Array(UnsafeRawBufferPointer(start: scratch, count: Int(length)))
    }
}
