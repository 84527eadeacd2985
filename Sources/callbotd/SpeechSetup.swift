import Audio
import CallbotCore
import Foundation
import Logging
import ServiceLifecycle
import Speech

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The recogniser a deployment asks for, and what it is told about the service.
enum SpeechSetup {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The recogniser of `settings`; nil for `none`.
    static func recognizer(_ settings: SpeechSettings, environment: [String: String]) throws(Failure)
        -> (any SpeechRecognizer)?
    {
        let timeout = Duration.milliseconds(Int(settings.timeoutSeconds * 1000))
        switch settings.engine {
        case .none:
            return nil
        case .local:
            return OpenAITranscriber(
                baseURL: URL(string: "http://127.0.0.1:\(settings.port)/v1")!, model: settings.model, apiKey: nil,
                timeout: timeout)
        case .openai:
            guard let base = settings.baseURL.flatMap(URL.init(string:)) else {
                throw Failure(description: "speech.base_url is missing or not a URL")
            }
            return OpenAITranscriber(
                baseURL: base, model: settings.model, apiKey: try apiKey(settings, environment), timeout: timeout)
        }
    }

    /// The API key from `api_key_env` (wins) or `api_key_file`; nil when neither is set.
    static func apiKey(_ settings: SpeechSettings, _ environment: [String: String]) throws(Failure) -> String? {
        if let name = settings.apiKeyEnv, let key = environment[name], !key.isEmpty { return key }
        guard let file = settings.apiKeyFile else {
            if let name = settings.apiKeyEnv { throw Failure(description: "speech.api_key_env: \(name) is not set") }
            return nil
        }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw Failure(description: "speech.api_key_file: cannot read \(file)")
        }
        let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !key.isEmpty else { throw Failure(description: "speech.api_key_file: \(file) is empty") }
        return key
    }

    /// Words callers use with this service (intent and motif keywords), at most `limit`, for
    /// engines that take a prompt: they bias recognition towards the service's vocabulary.
    static func hints(_ deployment: Deployment, limit: Int = 40) -> [String] {
        var seen: Set<String> = []
        var hints: [String] = []
        let words =
            deployment.intents.intents.flatMap(\.keywords) + deployment.config.appointments.motifs.flatMap(\.keywords)
        for word in words where word.count > 2 && seen.insert(word.lowercased()).inserted {
            hints.append(word)
            if hints.count == limit { break }
        }
        return hints
    }

    static func turnSettings(_ settings: SpeechSettings) -> TurnSettings {
        TurnSettings(
            trailingSilence: Double(settings.trailingSilenceMilliseconds) / 1000,
            maxUtterance: Double(settings.maxUtteranceSeconds))
    }
}

/// The bundled speech engine (`speech/server.py` in the venv of `scripts/setup.sh`) as a child
/// process on 127.0.0.1: started with the daemon, restarted when it dies (1 s, then up to 30 s
/// apart), stopped after the calls on graceful shutdown.
final class LocalSpeechEngine: Service, Sendable {
    let settings: SpeechSettings
    let home: String
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

    init(settings: SpeechSettings, home: String, logger: Logger) {
        self.settings = settings
        self.home = home
        self.logger = logger
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
        let python = home + "/.venv/bin/python3"
        let missing: (String, Logger.Metadata)? =
            if !FileManager.default.isExecutableFile(atPath: python) {
                ("the bundled speech engine is not installed", ["python": "\(python)"])
            } else if !FileManager.default.fileExists(atPath: settings.modelDirectory + "/model.bin") {
                ("no speech model in speech.model_dir", ["model_dir": "\(settings.modelDirectory)"])
            } else {
                nil
            }
        if let (what, metadata) = missing {
            logger.error("\(what) (run scripts/setup.sh); calls go on with keys", metadata: metadata)
            readiness.isMissing = true
            try? await gracefulShutdown()
            return
        }
        var pause = 1.0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let started = ContinuousClock.now
            let status: Int32
            do {
                status = try await runOnce(python)
            } catch {
                logger.error("cannot start the speech engine", metadata: ["error": "\(error)"])
                status = -1
            }
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            if ContinuousClock.now - started > .seconds(60) { pause = 1 }
            logger.error(
                "speech engine stopped; restarting", metadata: ["status": "\(status)", "in.seconds": "\(pause)"])
            try? await Task.sleep(for: .seconds(pause))
            pause = min(pause * 2, 30)
        }
    }

    /// Runs the engine until it exits (its status) or the daemon shuts down (engine stopped).
    private func runOnce(_ python: String) async throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [
            home + "/speech/server.py", "--host", "127.0.0.1", "--port", "\(settings.port)", "--model-dir",
            settings.modelDirectory, "--threads", "\(settings.threads)", "--exit-with-parent",
        ]
        let exited = AsyncStream.makeStream(of: Int32.self)
        process.terminationHandler = { process in
            exited.continuation.yield(process.terminationStatus)
            exited.continuation.finish()
        }
        try process.run()
        logger.info(
            "speech engine starting", metadata: ["pid": "\(process.processIdentifier)", "port": "\(settings.port)"])
        let ready = Task { [settings, logger, readiness] in
            let started = ContinuousClock.now
            let health = URL(string: "http://127.0.0.1:\(settings.port)/health")!
            while !Task.isCancelled {
                if let (_, response) = try? await URLSession.shared.data(from: health),
                    (response as? HTTPURLResponse)?.statusCode == 200
                {
                    logger.info("speech engine ready", metadata: ["seconds": "\(ContinuousClock.now - started)"])
                    readiness.isReady = true
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
                process.terminate()
            }
        } onGracefulShutdown: {
            process.terminate()
        }
    }
}
