import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
    import Glibc
#endif

/// systemd's notification socket (`$NOTIFY_SOCKET`, sd_notify(3)): one datagram per state change.
/// Outside systemd (no socket named) every message is dropped.
struct SystemdNotifier: Sendable {
    let socketPath: String?
    /// How often systemd expects `WATCHDOG=1` (`WatchdogSec=`), when it does.
    let watchdogInterval: Duration?

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        socketPath = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        let forUs = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
        if forUs, let text = environment["WATCHDOG_USEC"], let micros = Int64(text), micros > 0 {
            watchdogInterval = .microseconds(micros)
        } else {
            watchdogInterval = nil
        }
    }

    /// Sends `state` ("READY=1", "STOPPING=1"…); true when it went out.
    @discardableResult
    func send(_ state: String) -> Bool {
        guard let socketPath else { return false }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        // An abstract socket is named with a leading "@", sent as a NUL byte.
        var name = Array(socketPath.utf8)
        if name.first == UInt8(ascii: "@") { name[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard name.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            for (index, byte) in name.enumerated() { path[index] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + name.count)
        let bytes = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, socketAddress, length) }
            }
        }
        return sent == bytes.count
    }

    /// `RELOADING=1` with the monotonic time systemd 253 and later ask for.
    func reloading() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        send("RELOADING=1\nMONOTONIC_USEC=\(Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000)")
    }
}

/// The daemon as systemd sees it: READY once the line listens, WATCHDOG while the line's owner
/// task answers, reloads on SIGHUP (`reload` tells systemd RELOADING), STOPPING on shutdown.
final class Supervisor: Service, Sendable {
    let notifier: SystemdNotifier
    let logger: Logger
    /// Resumes when the line is ready to take calls.
    let ready: @Sendable () async -> Void
    /// Whether the line's owner task still answers (a stuck daemon is restarted by systemd).
    let responsive: @Sendable () async -> Bool
    let reload: @Sendable () async -> Void

    init(
        notifier: SystemdNotifier, logger: Logger, ready: @escaping @Sendable () async -> Void,
        responsive: @escaping @Sendable () async -> Bool, reload: @escaping @Sendable () async -> Void
    ) {
        self.notifier = notifier
        self.logger = logger
        self.ready = ready
        self.responsive = responsive
        self.reload = reload
    }

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await cancelWhenGracefulShutdown { [self] in await watch() }
        } onGracefulShutdown: { [notifier] in
            notifier.send("STOPPING=1")
        }
    }

    /// Readiness and the watchdog, and reloads on SIGHUP, until cancelled.
    private func watch() async {
        await withDiscardingTaskGroup { group in
            group.addTask { [self] in
                await ready()
                notifier.send("READY=1\nSTATUS=Taking calls")
                logger.info("ready")
                guard let interval = notifier.watchdogInterval else { return }
                while !Task.isCancelled {
                    if await responsive() { notifier.send("WATCHDOG=1") }
                    try? await Task.sleep(for: interval / 2)
                }
            }
            group.addTask { [self] in
                for await _ in await UnixSignalsSequence(trapping: .sighup) { await reload() }
            }
        }
    }
}
