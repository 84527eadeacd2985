import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// Every test of a real line, one at a time: each blocks a thread of the test runner while its
/// peers run, and on two cores parallel line tests would starve the other suites.
@Suite(.serialized) enum Line {}

func binary(_ name: String) -> String { repositoryRoot + "/.build/debug/" + name }

/// A `callbotd` on loopback with its own ports, config copy and database; stopped with SIGTERM.
final class Daemon {
    let folder = NSTemporaryDirectory() + "callbot-line-" + UUID().uuidString
    let sipPort: Int
    let process = Process()
    let database: String
    var log: String { (try? String(contentsOfFile: folder + "/callbotd.log", encoding: .utf8)) ?? "" }

    /// Starts the daemon; `edit` may change the copied `callbot.yaml` and `messages.fr.yaml`;
    /// `fiches` of `Tests/Fixtures/knowledge/` join the demo's knowledge base.
    /// Keys only, unless `speechPort` is given: the daemon then runs the bundled speech engine
    /// on that port and this waits until the engine is ready.
    /// `arguments` and `environment` are added to the daemon's; it is ready when its log shows
    /// `ready` (and the speech engine's readiness, with speech; the knowledge base embedded, with
    /// `embeddingPort`). With `console`, this runs
    /// `callbotctl console` (which becomes a `callbotd` on the local line) instead.
    init(
        sipPort: Int, rtpPorts: String, speechPort: Int? = nil, embeddingPort: Int? = nil, fiches: [String] = [],
        arguments: [String] = [],
        environment extra: [String: String] = [:], ready: String = "SIP listening", console: Bool = false,
        database: String? = nil, edit: (inout String, inout String) -> Void = { _, _ in }
    ) throws {
        self.sipPort = sipPort
        self.database = database ?? folder + "/callbot.sqlite"
        let fm = FileManager.default
        try fm.createDirectory(atPath: folder + "/config", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: folder + "/prompts", withIntermediateDirectories: true)
        var callbot = try String(contentsOfFile: repositoryRoot + "/config/callbot.yaml", encoding: .utf8)
        var messages = try String(contentsOfFile: repositoryRoot + "/prompts/messages.fr.yaml", encoding: .utf8)
        // Agents answer at any hour, so that tests do not depend on the time they run.
        callbot = callbot.replacingOccurrences(
            of: #"(?m)^  hours:\n(    \w+: .*\n)+"#, with: Self.allWeek, options: .regularExpression)
        if let speechPort {
            callbot = callbot.replacingOccurrences(of: "  port: 8765\n", with: "  port: \(speechPort)\n")
                .replacingOccurrences(
                    of: "  model_dir: var/models/whisper-base\n",
                    with: "  model_dir: \(repositoryRoot)/var/models/whisper-base\n")
        } else {
            callbot = callbot.replacingOccurrences(of: "  engine: local\n", with: "  engine: none\n")
        }
        // The bundled embedding engine only where a test asks for it, on a port of its own.
        callbot = callbot.replacingOccurrences(
            of: #"(?m)^    engine: local\b"#, with: embeddingPort == nil ? "    engine: none" : "    engine: local",
            options: .regularExpression)
        if let embeddingPort {
            callbot = callbot.replacingOccurrences(of: "    port: 8766\n", with: "    port: \(embeddingPort)\n")
        }
        edit(&callbot, &messages)
        try callbot.write(toFile: folder + "/config/callbot.yaml", atomically: true, encoding: .utf8)
        try fm.copyItem(atPath: repositoryRoot + "/config/intents.yaml", toPath: folder + "/config/intents.yaml")
        try fm.copyItem(atPath: repositoryRoot + "/config/knowledge", toPath: folder + "/config/knowledge")
        for fiche in fiches {
            try fm.copyItem(
                atPath: repositoryRoot + "/Tests/Fixtures/knowledge/" + fiche,
                toPath: folder + "/config/knowledge/" + fiche)
        }
        try messages.write(toFile: folder + "/prompts/messages.fr.yaml", atomically: true, encoding: .utf8)
        _ = fm.createFile(atPath: folder + "/callbotd.log", contents: nil)
        process.executableURL = URL(fileURLWithPath: binary(console ? "callbotctl" : "callbotd"))
        let database: String = self.database
        let line: [String] = [
            "--config", folder + "/config", "--sip-listen", "127.0.0.1:\(sipPort)", "--rtp-ports", rtpPorts, "--db",
            database, "--prompt-cache", repositoryRoot + "/var/cache/prompts", "--admin-listen", "127.0.0.1:0",
        ]
        let local: [String] = ["console", "--config", folder + "/config", "--db", database]
        process.arguments = (console ? local : line) + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        var environment = ProcessInfo.processInfo.environment
        environment["CALLBOT_PSEUDONYM_KEY"] = "line-test-key"
        environment.merge(extra) { _, new in new }
        process.environment = environment
        let output = FileHandle(forWritingAtPath: folder + "/callbotd.log")
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while !log.contains(ready) || (speechPort != nil && !log.contains("speech engine ready"))
            || (embeddingPort != nil && !log.contains("knowledge base embedded"))
        {
            guard process.isRunning, Date() < deadline.addingTimeInterval(speechPort == nil ? 0 : 60) else {
                throw DaemonError(message: "callbotd did not start:\n\(log)")
            }
            usleep(50_000)
        }
    }

    /// The admin address's port (bound to port 0), from the daemon's log.
    var adminPort: Int? {
        guard let range = log.range(of: #"address=127\.0\.0\.1:(\d+)"#, options: .regularExpression) else { return nil }
        return Int(log[range].split(separator: ":").last ?? "")
    }

    /// The admin bearer token the daemon created in its folder.
    var adminToken: String {
        (try? String(contentsOfFile: folder + "/var/admin.token", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    static let allWeek =
        "  hours:\n"
        + ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
        .map { "    \($0): [\"00:00-24:00\"]\n" }.joined()

    /// SIGTERM, then the exit status.
    func stop() -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        let deadline = Date().addingTimeInterval(90)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// The latest call record, as `callbotctl calls show --last --json` prints it.
    func lastCall() throws -> [String: Any] {
        let run = try runProcess(
            binary("callbotctl"),
            ["calls", "show", "--last", "--json", "--db", database, "--config", folder + "/config"])
        guard let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any] else {
            throw DaemonError(message: "no call record: \(run.stdout) \(run.stderr)")
        }
        return object
    }

    /// Runs a SIPp scenario (a fixture's name or a path) against the daemon; returns SIPp's exit status and output.
    /// `transport` is SIPp's `-t` mode: `u1` (UDP) or `t1` (one TCP connection).
    func sipp(
        _ scenario: String, port: Int, mediaPort: Int, variables: [String: String] = [:], transport: String = "u1",
        extra: [String] = [], timeout: Int = 60
    ) throws -> (status: Int32, output: String) {
        try Self.sipp(
            scenario, folder: folder, sipPort: sipPort, port: port, mediaPort: mediaPort, variables: variables,
            transport: transport, extra: extra, timeout: timeout)
    }

    /// `sipp` from another thread: the daemon's folder and port only.
    static func sipp(
        _ scenario: String, folder: String, sipPort: Int, port: Int, mediaPort: Int, variables: [String: String] = [:],
        transport: String = "u1", extra: [String] = [], timeout: Int = 60
    ) throws -> (status: Int32, output: String) {
        var arguments = [
            "-t", transport,
            "-sf", scenario.hasPrefix("/") ? scenario : repositoryRoot + "/Tests/Fixtures/sipp/" + scenario, "-i",
            "127.0.0.1", "-p", String(port), "-mi",
            "127.0.0.1", "-mp", String(mediaPort), "-nostdin", "-timeout", "\(timeout)s", "-timeout_error",
            "-trace_err", "-error_file", folder + "/sipp-errors.log",
        ]
        for (name, value) in variables { arguments += ["-set", name, value] }
        arguments += extra.contains("-m") ? extra : extra + ["-m", "1"]
        arguments.append("127.0.0.1:\(sipPort)")
        let run = try runProcess("/usr/bin/sipp", arguments, in: folder)
        let errors = (try? String(contentsOfFile: folder + "/sipp-errors.log", encoding: .utf8)) ?? ""
        return (run.status, run.stdout + run.stderr + errors)
    }
}

struct DaemonError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Runs a program to its end.
func runProcess(_ path: String, _ arguments: [String], in folder: String? = nil) throws -> (
    status: Int32, stdout: String, stderr: String
) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if let folder { process.currentDirectoryURL = URL(fileURLWithPath: folder) }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}

/// A UDP socket on loopback, for RTP and raw SIP in tests.
final class UDPSocket: Sendable {
    // Sendable: the descriptor is immutable; the kernel serialises calls on it.
    let fd: Int32
    let port: Int

    init(port: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw DaemonError(message: "cannot bind UDP \(port)") }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        self.port = port
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8], to port: Int) {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = bytes.withUnsafeBytes { buffer in
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, buffer.baseAddress, buffer.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }

    /// Datagrams received until `seconds` pass, each with its arrival time.
    func receive(for seconds: Double) -> [(at: Double, bytes: [UInt8])] {
        var packets: [(Double, [UInt8])] = []
        let start = Date()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Date().timeIntervalSince(start) < seconds {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count > 0 { packets.append((Date().timeIntervalSince(start), Array(buffer[0..<count]))) }
        }
        return packets
    }
}

/// baresip as a softphone in `folder`: a silent WAV as microphone, what it hears recorded in
/// `folder/recordings` (`dump-…-dec.wav`).
struct Softphone {
    let folder: String

    /// Writes its config: SIP on `listen` (TLS on the next port), RTP on `rtpPorts`, an account
    /// with `accountParameters` (`;mediaenc=srtp-mand`…), `modules` added to the usual ones.
    init(folder: String, listen: Int, rtpPorts: String, modules: [String] = [], accountParameters: String = "")
        throws
    {
        self.folder = folder
        try FileManager.default.createDirectory(atPath: folder + "/recordings", withIntermediateDirectories: true)
        try writeWAV(samples: [Int16](repeating: 0, count: 8000 * 40), rate: 8000, to: folder + "/microphone.wav")
        let loaded = (["stdio.so", "g711.so", "aufile.so", "sndfile.so"] + modules).map { "module \($0)" }
        try
            ([
                "poll_method epoll", "sip_listen 127.0.0.1:\(listen)", "net_interface 127.0.0.1",
                "audio_source aufile,\(folder)/microphone.wav", "audio_alert none", "ausrc_srate 8000",
                "ausrc_channels 1",
                "rtp_ports \(rtpPorts)", "module_path /usr/lib/baresip/modules",
            ] + loaded + ["module_app account.so", "module_app menu.so", "snd_path \(folder)/recordings", ""])
            .joined(separator: "\n").write(toFile: folder + "/config", atomically: true, encoding: .utf8)
        try
            "<sip:caller@127.0.0.1:\(listen)>;regint=0;audio_codecs=PCMU/8000,PCMA/8000;answermode=manual\(accountParameters)\n"
            .write(toFile: folder + "/accounts", atomically: true, encoding: .utf8)
    }

    /// Dials `uri` and hangs up after `seconds`; returns what baresip printed.
    func dial(_ uri: String, seconds: Int, trace: Bool = false) throws -> String {
        let run = try runProcess(
            "/usr/bin/baresip", ["-f", folder] + (trace ? ["-s"] : []) + ["-e", "/dial \(uri)", "-t", "\(seconds)"],
            in: folder)
        return run.stdout + run.stderr
    }

    /// What it heard, as 8 kHz samples; nil when it recorded nothing.
    func heard() throws -> (samples: [Int16], rate: Int)? {
        let recordings = try FileManager.default.contentsOfDirectory(atPath: folder + "/recordings").filter {
            $0.hasSuffix("-dec.wav")
        }
        guard let recording = recordings.first else { return nil }
        let wav = try readWAV(folder + "/recordings/" + recording)
        return (wav.samples, wav.rate)
    }
}

/// Whether `samples` sound like speech: mostly loud 20 ms frames (about -30 dBFS) with pauses,
/// not silence nor a constant tone. Returns the counts for the failure message.
func soundsLikeSpeech(_ samples: [Int16]) -> (isSpeech: Bool, loud: Int, frames: Int) {
    let frames = stride(from: 0, to: max(0, samples.count - 160), by: 160).map { start in
        samples[start..<(start + 160)].reduce(0.0) { $0 + Double($1) * Double($1) } / 160
    }
    let loud = frames.filter { $0 > 1_000_000 }.count
    let pauses = frames.filter { $0 < 10_000 }.count
    return (Double(loud) / Double(max(frames.count, 1)) > 0.3 && pauses > 5, loud, frames.count)
}
