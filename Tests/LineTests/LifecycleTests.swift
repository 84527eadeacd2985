import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension Line {
    /// The daemon under systemd: notifications on a real datagram socket, reload on SIGHUP.
    @Suite struct LifecycleTests {
        @Test func tellsSystemdItsStatesAndReloadsOnSIGHUP() throws {
            let notifications = try NotifySocket()
            let daemon = try Daemon(
                sipPort: 25121, rtpPorts: "28600-28699",
                environment: ["NOTIFY_SOCKET": notifications.path, "WATCHDOG_USEC": "400000"])
            var heard = notifications.receive(for: 2)
            #expect(heard.contains { $0.hasPrefix("READY=1") }, "\(heard)")
            #expect(heard.filter { $0 == "WATCHDOG=1" }.count >= 3, "every 200 ms: \(heard)")
            let socket = try UDPSocket(port: 25122)
            func options(_ branch: String) -> Bool {
                socket.send(
                    Array(
                        ("OPTIONS sip:bot@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:25122;branch=z9hG4bK-\(branch)\r\n"
                            + "From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:bot@127.0.0.1>\r\nCall-ID: \(branch)\r\n"
                            + "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").utf8), to: 25121)
                return !socket.receive(for: 0.5).isEmpty
            }
            #expect(options("before"))
            let file = daemon.folder + "/config/callbot.yaml"
            let good = try String(contentsOfFile: file, encoding: .utf8)
            // A broken config is refused with its place, and the running one kept.
            try good.replacingOccurrences(of: "  max_calls: 200", with: "  max_calls: many")
                .write(toFile: file, atomically: true, encoding: .utf8)
            kill(daemon.process.processIdentifier, SIGHUP)
            heard = notifications.receive(for: 1.5)
            #expect(heard.contains { $0.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") }, "\(heard)")
            #expect(heard.contains("READY=1"), "\(heard)")
            #expect(daemon.log.contains("reload refused"), "\(daemon.log)")
            #expect(daemon.log.contains("callbot.yaml:"), "the refusal names the file and line")
            #expect(options("kept"), "the running config still serves")
            // A good one is served at once: here, the line no longer trusts this address.
            try good.replacingOccurrences(
                of: "trusted_peers: [\"127.0.0.0/8\", \"::1\"]", with: "trusted_peers: [\"192.0.2.10\"]"
            ).write(toFile: file, atomically: true, encoding: .utf8)
            kill(daemon.process.processIdentifier, SIGHUP)
            heard = notifications.receive(for: 1.5)
            #expect(heard.contains("READY=1") && daemon.log.contains("configuration reloaded"), "\(daemon.log)")
            #expect(!options("after"), "dropped under the new trusted peers")
            #expect(daemon.stop() == 0)
            #expect(notifications.receive(for: 0.5).contains("STOPPING=1"))
        }
    }
}

/// A datagram socket standing for systemd's notification socket.
final class NotifySocket {
    let path = NSTemporaryDirectory() + "callbot-notify-" + UUID().uuidString.prefix(8)
    let fd: Int32

    init() throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else { throw DaemonError(message: "cannot bind \(path)") }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// The messages received until `seconds` pass.
    func receive(for seconds: Double) -> [String] {
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count > 0 { messages.append(String(decoding: buffer[0..<count], as: UTF8.self)) }
        }
        return messages
    }
}

extension Line.LifecycleTests {
    /// Under a low open-file limit the probe saw every call fail, then the daemon die of SIGILL:
    /// now the daemon refuses to start and says what to raise.
    @Test func refusesToStartWithoutTheFilesItsLimitsNeed() throws {
        let folder = NSTemporaryDirectory() + "callbot-nofile-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let run = try runProcess(
            "/bin/sh",
            [
                "-c",
                "ulimit -n 400 && exec \"$0\" --config \"$1\" --sip-listen 127.0.0.1:25125 "
                    + "--rtp-ports 28800-28899 --db \"$2\" --admin-listen 127.0.0.1:0",
                binary("callbotd"), repositoryRoot + "/config", folder + "/callbot.sqlite",
            ], in: folder)
        #expect(run.status != 0)
        #expect(run.stderr.contains("raise LimitNOFILE"), "\(run.stderr.suffix(1000))")
        #expect(!run.stderr.contains("SIP listening"))
    }
}
