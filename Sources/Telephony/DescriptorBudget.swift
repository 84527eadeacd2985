package import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The file descriptors the line may need at its limits, checked against the process limit at
/// start: one RTP socket per call, the SIP connections, and a reserve for the rest (sockets,
/// database, logs, engines). The soft limit is raised to the hard one when that is enough;
/// otherwise the daemon refuses to start rather than fail calls later.
package struct DescriptorBudget: Sendable {
    package let needed: Int

    /// Descriptors kept for everything but calls and connections.
    static let reserve = 256

    package init(settings: SIPSettings, limits: ConnectionLimits) {
        needed = settings.maxCalls + limits.maxConnections + Self.reserve
    }

    package struct Shortfall: Error, CustomStringConvertible {
        package let needed: Int
        package let limit: Int
        package var description: String {
            "the line needs up to \(needed) open files (max_calls, SIP connections and a reserve) but the "
                + "process may open \(limit): raise LimitNOFILE (systemd) or ulimit -n, or lower max_calls"
        }
    }

    /// Raises the soft limit if needed and possible; throws when the hard limit is too low.
    package func check(logger: Logger) throws(Shortfall) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let unlimited = rlim_t.max  // RLIM_INFINITY
        if limit.rlim_cur == unlimited || limit.rlim_cur >= rlim_t(needed) { return }
        let hard = limit.rlim_max == unlimited ? Int.max : Int(limit.rlim_max)
        guard hard >= needed else { throw Shortfall(needed: needed, limit: hard) }
        let before = limit.rlim_cur
        limit.rlim_cur = rlim_t(needed)
        guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else {
            throw Shortfall(needed: needed, limit: Int(before))
        }
        logger.info("raised the open-file limit", metadata: ["files.before": "\(before)", "files.now": "\(needed)"])
    }
}
