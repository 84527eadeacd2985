import AdminAPI
import ArgumentParser
import Assistant
import Audio
import CallRuntime
import CallbotCore
import Foundation
import Logging
import ModelEndpoints
import Scheduling
import ServiceLifecycle
import Speech
import Storage
import Telephony
import UnixSignals

@main
struct Callbotd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "callbotd",
        abstract: "The Callbot daemon: answers the phone line and runs the dialogue on every call.",
        discussion: "Logs go to standard error. SIGTERM or SIGINT stop taking calls and let current calls end.")

    @Option(name: .long, help: "The deployment's config folder.")
    var config: String = "config"

    @Option(name: .long, help: "SIP listen address, HOST:PORT (overrides sip.listen).")
    var sipListen: String?

    @Option(name: .long, help: "RTP port range, LOW-HIGH (overrides sip.rtp_ports).")
    var rtpPorts: String?

    @Option(name: .long, help: "SQLite database (overrides storage.path).")
    var db: String?

    @Option(name: .long, help: "The administrators' HTTP address, HOST:PORT (overrides admin.listen).")
    var adminListen: String?

    @Option(name: .long, help: "Folder where synthesised prompts are kept between runs.")
    var promptCache: String = "var/cache/prompts"

    @Option(name: .long, help: "The line to serve: sip or local (overrides line).")
    var line: String?

    @Flag(name: .long, help: "On the local line, stop after one call (what callbotctl console does).")
    var once = false

    @Option(name: .long, help: "The local line's microphone, a PortAudio device name or part of it.")
    var inputDevice: String?

    @Option(name: .long, help: "The local line's speaker, a PortAudio device name or part of it.")
    var outputDevice: String?

    @Flag(name: .long, help: "List the sound devices PortAudio sees and exit.")
    var listDevices = false

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel =
                Logger.Level(rawValue: ProcessInfo.processInfo.environment["CALLBOT_LOG_LEVEL"] ?? "info") ?? .info
            return handler
        }
        let logger = Logger(label: "callbotd")
        if listDevices {
            let devices = try SoundDevice.list()
            if devices.isEmpty { logger.warning("PortAudio sees no sound device") }
            for device in devices {
                print("\(device.name)\t\(device.inputs) in\t\(device.outputs) out")
            }
            return
        }
        let deployment: Deployment
        do {
            deployment = try Deployment.load(from: config)
        } catch {
            logger.critical("invalid configuration: \(error)")
            throw ExitCode(2)
        }
        var lineKind = deployment.config.lineKind
        if let line {
            guard let kind = LineKind(rawValue: line) else { throw ValidationError("--line must be sip or local") }
            lineKind = kind
        }
        var line = deployment.config.line
        if let sipListen {
            guard let (host, port) = ConfigParser.hostPort(sipListen) else {
                throw ValidationError("--sip-listen must be HOST:PORT")
            }
            line.listenHost = host
            line.listenPort = port
        }
        if let rtpPorts {
            guard let range = ConfigParser.portRange(rtpPorts) else {
                throw ValidationError("--rtp-ports must be LOW-HIGH")
            }
            line.rtpPorts = range
        }
        let path: String
        switch (db, deployment.config.storage) {
        case (let db?, _): path = db
        case (nil, .sqlite(let configured)): path = configured
        case (nil, .postgres):
            throw ValidationError("PostgreSQL storage is not built yet; use storage.driver sqlite or --db")
        }
        let store = try SQLiteStore(path: path)
        let pseudonymizer = try KeyedPseudonymizer.load(deployment.config.privacy)
        let clock = SystemClock(timeZone: deployment.config.service.timeZone)
        let purged = try await store.purgeTranscripts(
            olderThanDays: deployment.config.privacy.transcriptRetentionDays, now: clock.now())
        if purged > 0 { logger.info("transcripts past retention erased", metadata: ["count": "\(purged)"]) }

        let synthesizer = try EspeakSynthesizer.shared()
        let audioDirectory = ((config as NSString).deletingLastPathComponent as NSString).appendingPathComponent(
            "audio")
        let prompts = PromptLibrary(
            audioDirectory: audioDirectory.isEmpty ? "audio" : audioDirectory, messages: deployment.messages.messages,
            synthesizer: synthesizer, cacheDirectory: promptCache, personal: DialogueMessages.personal)
        let started = ContinuousClock.now
        await prompts.prewarm()
        logger.info("prompts ready", metadata: ["seconds": "\(ContinuousClock.now - started)"])

        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        // The admin address: health, /metrics, the report.
        var admin = deployment.config.admin
        if let adminListen {
            guard let (host, port) = ConfigParser.hostPort(adminListen, anyPort: true) else {
                throw ValidationError("--admin-listen must be HOST:PORT")
            }
            (admin.host, admin.port) = (host, port)
        }
        let registry = AdminSetup.bootstrapMetrics()
        let adminToken = try AdminSetup.token(admin)
        services.append(
            .init(
                service: AdminServer.application(
                    host: admin.host, port: admin.port, token: adminToken, registry: registry, store: store,
                    today: { clock.now().date }, logger: logger,
                    bound: { [logger, host = admin.host] port in
                        logger.info(
                            "admin listening",
                            metadata: ["address": "\(host):\(port)"])
                    })))
        let speechSettings = deployment.config.speech
        let environment = ProcessInfo.processInfo.environment
        var recognizer: (any SpeechRecognizer)?
        do {
            recognizer = try SpeechSetup.recognizer(speechSettings, environment: environment)
        } catch {
            logger.critical("invalid configuration: \(error)")
            throw ExitCode(2)
        }
        if speechSettings.engine == .local {
            if let home = BundledEngine.locateHome(environment: environment) {
                // First in the group: on shutdown it stops after the calls.
                let engine = BundledEngine.speech(speechSettings, home: home, logger: logger)
                services.append(.init(service: engine))
                recognizer = recognizer.map {
                    BundledEngine.WaitingRecognizer(
                        base: $0, readiness: engine.readiness,
                        patience: .seconds(max(20, speechSettings.timeoutSeconds)))
                }
            } else {
                logger.error("speech/server.py not found (set CALLBOT_HOME); calls go on with keys")
            }
        }
        logger.info(
            "speech", metadata: ["engine": "\(speechSettings.engine.rawValue)", "model": "\(speechSettings.model)"])

        // The fallback: its models, and the bundled embedding engine when it is the one.
        let assistantSettings = deployment.config.assistant
        let models: AssistantModels
        do {
            models = try AssistantModels(assistantSettings, environment: environment)
        } catch {
            logger.critical("invalid configuration: assistant: \(error)")
            throw ExitCode(2)
        }
        let assistant = Assistant(deployment: deployment, embedder: models.embedder, writer: models.writer)
        let embedKnowledge: @Sendable () async -> Void = { [logger] in
            let started = ContinuousClock.now
            if await assistant.prepare() {
                logger.info("knowledge base embedded", metadata: ["seconds": "\(ContinuousClock.now - started)"])
            } else {
                logger.error("cannot embed the knowledge base; the fallback retrieves lexically meanwhile")
            }
        }
        if assistantSettings.embeddings.engine == .local {
            if let home = BundledEngine.locateHome(environment: environment) {
                services.append(
                    .init(
                        service: BundledEngine.embeddings(
                            assistantSettings.embeddings, home: home, logger: logger, whenReady: embedKnowledge)))
            } else {
                logger.error("the embedding engine's home is not found (set CALLBOT_HOME); lexical retrieval only")
            }
        } else if models.embedder != nil {
            Task { await embedKnowledge() }
        }
        let (retrieval, answers) = AssistantModels.describe(assistantSettings)
        logger.info(
            "assistant",
            metadata: [
                "fiches": "\(deployment.knowledge.count)", "retrieval": "\(retrieval)", "answers": "\(answers)",
            ])
        let speech = recognizer.map {
            CallerSpeech(
                recognizer: $0, hints: SpeechSetup.hints(deployment), turn: SpeechSetup.turnSettings(speechSettings),
                logger: logger)
        }
        let context = PhoneCall.Context(
            deployment: deployment, understander: Understander(deployment: deployment),
            ports: Scheduler(
                config: deployment.config, store: store, pseudonymizer: pseudonymizer,
                assistant: { question in await assistant.reply(to: question) }), records: store,
            pseudonymizer: pseudonymizer, prompts: prompts, clock: clock, logger: logger,
            desk: AgentDesk(capacity: deployment.config.agents.capacity), speech: speech)
        if lineKind == .local {
            var localLine = deployment.config.localLine
            if let inputDevice { localLine.inputDevice = inputDevice }
            if let outputDevice { localLine.outputDevice = outputDevice }
            services.append(
                .init(
                    service: LocalLine(settings: localLine, once: once, logger: logger) { call in
                        await PhoneCall.run(call, context)
                    },
                    // After its one call (--once), the daemon stops as on SIGTERM.
                    successTerminationBehavior: .gracefullyShutdownGroup))
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
            await models.shutdown()
            logger.info("stopped")
            return
        }
        let settings = SIPSettings(
            publicAddress: SIPAddress(host: line.publicAddress ?? line.listenHost, port: line.listenPort),
            trustedPeers: line.trustedPeers, maxCalls: line.maxCalls, rtpPorts: line.rtpPorts,
            answerDelay: Double(line.answerDelayMilliseconds) / 1000,
            transferTimeout: Double(line.transferTimeoutSeconds), userAgent: "Callbot")
        let server = SIPServer(
            settings: settings, listen: SIPAddress(host: line.listenHost, port: line.listenPort),
            drainGrace: .seconds(line.drainGraceSeconds), logger: logger
        ) { call in await PhoneCall.run(CallLine(sip: call), context) }
        services.append(.init(service: server))
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        await models.shutdown()
        logger.info("stopped")
    }
}
