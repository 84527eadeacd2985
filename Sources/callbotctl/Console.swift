import ArgumentParser
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `callbotctl console`: the administrator talks to the bot with a headset.
struct Console: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Talk to the bot with a headset: one call on a sound device.",
        discussion: """
            Runs callbotd on the local line for one call (callbotd --line local --once): the same \
            dialogue, speech recognition and storage as phone calls. Speak after the greeting; \
            keys can be played as touch tones. Ctrl-C hangs up.
            """)

    @OptionGroup var deployment: DeploymentOptions

    @Option(name: .long, help: "The SQLite database; default: the one callbot.yaml names.")
    var db: String?

    @Option(name: .long, help: "Microphone: a PortAudio device name or part of it (default: local_line).")
    var inputDevice: String?

    @Option(name: .long, help: "Speaker: a PortAudio device name or part of it (default: local_line).")
    var outputDevice: String?

    @Flag(name: .long, help: "List the sound devices and exit.")
    var listDevices = false

    func run() throws {
        let daemon = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("callbotd").path
        guard FileManager.default.isExecutableFile(atPath: daemon) else {
            throw Failure("callbotd is not next to callbotctl (\(daemon))")
        }
        // One call on a sound device: its admin address takes any free port on loopback.
        var arguments = [
            daemon, "--config", deployment.config, "--line", "local", "--once", "--admin-listen", "127.0.0.1:0",
        ]
        if listDevices { arguments = [daemon, "--list-devices"] }
        if let db { arguments += ["--db", db] }
        if let inputDevice { arguments += ["--input-device", inputDevice] }
        if let outputDevice { arguments += ["--output-device", outputDevice] }
        // callbotd takes this process's place: signals and the terminal go straight to it.
        let argv = arguments.map { strdup($0) } + [nil]
        execv(daemon, argv)
        throw Failure("cannot run \(daemon): \(String(cString: strerror(errno)))")
    }
}
