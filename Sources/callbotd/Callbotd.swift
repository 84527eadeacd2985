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
        // Whatever the daemon creates (database, token, caches) is the service's alone.
        umask(0o077)
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
        if lineKind == .sip {
            // Before anything starts: the open files the line may need at its limits.
            let limits = ConnectionLimits(
                maxConnections: line.maxConnections, maxPerSource: line.maxConnectionsPerSource)
            do {
                try DescriptorBudget(settings: Self.sipSettings(line), limits: limits).check(logger: logger)
            } catch {
                logger.critical("cannot start: \(error)")
                throw ExitCode(2)
            }
        }
        let path: String
        switch (db, deployment.config.storage) {
        case (let db?, _): path = db
        case (nil, .sqlite(let configured)): path = configured
        case (nil, .postgres):
            throw ValidationError("PostgreSQL storage is not built yet; use storage.driver sqlite or --db")
        }
        let store = try SQLiteStore(path: path)
        let interrupted = try await store.closeInterruptedCalls()
        let redial = try await store.resumeInterruptedDialing()
        if redial > 0 {
            logger.warning(
                "callbacks left dialling by an interrupted run are pending again", metadata: ["count": "\(redial)"])
        }
        if interrupted > 0 {
            logger.warning(
                "calls left open by an interrupted run closed as such", metadata: ["count": "\(interrupted)"])
        }
        let pseudonymizer = try KeyedPseudonymizer.load(deployment.config.privacy)
        let instant = TestClock.instant(environment: ProcessInfo.processInfo.environment) ?? { Date() }
        if ProcessInfo.processInfo.environment["CALLBOT_CLOCK_FILE"] != nil {
            logger.warning("the clock follows CALLBOT_CLOCK_FILE: for tests only")
        }
        let clock = SystemClock(timeZone: deployment.config.service.timeZone, instant: instant)
        let purged = try await store.purgeTranscripts(
            olderThanDays: deployment.config.privacy.transcriptRetentionDays, now: clock.now())
        if purged > 0 { logger.info("transcripts past retention erased", metadata: ["count": "\(purged)"]) }

        let synthesizer = try EspeakSynthesizer.shared()
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        // The admin address: the agents' and administrators' API, the dashboard, /metrics.
        var adminSettings = deployment.config.admin
        if let adminListen {
            guard let (host, port) = ConfigParser.hostPort(adminListen, anyPort: true) else {
                throw ValidationError("--admin-listen must be HOST:PORT")
            }
            (adminSettings.host, adminSettings.port) = (host, port)
        }
        let registry = AdminSetup.bootstrapMetrics()
        let tokens: AdminSetup.Tokens
        do {
            tokens = try AdminSetup.Tokens(adminSettings)
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(2)
        }
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

        // The fallback's models; the knowledge base itself belongs to the live deployment.
        let assistantSettings = deployment.config.assistant
        let models: AssistantModels
        do {
            models = try AssistantModels(assistantSettings, environment: environment)
        } catch {
            logger.critical("invalid configuration: assistant: \(error)")
            throw ExitCode(2)
        }
        let live = await LiveDeployment(
            deployment,
            parts: .init(
                configFolder: config, store: store, pseudonymizer: pseudonymizer, synthesizer: synthesizer,
                promptCache: promptCache, models: models, recognizer: recognizer, instant: instant,
                desk: AgentDesk(
                    capacity: deployment.config.agents.capacity,
                    handlingMinutes: deployment.config.agents.handlingMinutes), logger: logger))
        if assistantSettings.embeddings.engine == .local {
            if let home = BundledEngine.locateHome(environment: environment) {
                services.append(
                    .init(
                        service: BundledEngine.embeddings(
                            assistantSettings.embeddings, home: home, logger: logger,
                            whenReady: { await live.embedKnowledge() })))
            } else {
                logger.error("the embedding engine's home is not found (set CALLBOT_HOME); lexical retrieval only")
            }
        } else if models.embedder != nil {
            Task { await live.embedKnowledge() }
        }
        let (retrieval, answers) = AssistantModels.describe(assistantSettings)
        logger.info(
            "assistant",
            metadata: [
                "fiches": "\(deployment.knowledge.count)", "retrieval": "\(retrieval)", "answers": "\(answers)",
            ])
        let notifier = SystemdNotifier()
        /// The admin address's service, and the reload that SIGHUP and the API share: the agents'
        /// tokens and the config folder read again, then applied; `line` applies a reloaded
        /// configuration to the line.
        func admin(
            next: @escaping @Sendable (String) async throws -> AdminServer.PullOutcome = { _ in .noDialer },
            line: @escaping @Sendable (Deployment) async -> Void
        ) -> (
            service: ServiceGroupConfiguration.ServiceConfiguration,
            reload: @Sendable () async -> AdminServer.ReloadOutcome
        ) {
            let reload: @Sendable () async -> AdminServer.ReloadOutcome = {
                notifier.reloading()
                defer { notifier.send("READY=1") }
                let outcome = await AdminSetup.reload(live, tokens: tokens, logger: logger)
                if case .applied(let fresh, _) = outcome { await line(fresh) }
                return outcome.api
            }
            let parts = AdminServer.Parts(
                access: { tokens.current }, registry: registry, store: store, desk: live.parts.desk,
                config: { live.deployment.config }, now: { clock.now() }, reload: reload, next: next)
            let application = AdminServer.application(
                host: adminSettings.host, port: adminSettings.port, parts: parts, logger: logger,
                bound: { [logger, host = adminSettings.host] port in
                    logger.info("admin listening", metadata: ["address": "\(host):\(port)"])
                })
            return (.init(service: application), reload)
        }
        if lineKind == .local {
            var localLine = deployment.config.localLine
            if let inputDevice { localLine.inputDevice = inputDevice }
            if let outputDevice { localLine.outputDevice = outputDevice }
            services.append(
                .init(
                    service: LocalLine(settings: localLine, once: once, logger: logger) { call in
                        await PhoneCall.run(call, live.context)
                    },
                    // After its one call (--once), the daemon stops as on SIGTERM.
                    successTerminationBehavior: .gracefullyShutdownGroup))
            let (adminService, reload) = admin(line: { _ in })
            services.insert(adminService, at: 0)
            services.append(
                .init(
                    service: Supervisor(
                        notifier: notifier, logger: logger, ready: {}, responsive: { true },
                        reload: { _ = await reload() })))
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
            await models.shutdown()
            logger.info("stopped")
            return
        }
        let listen = SIPAddress(host: line.listenHost, port: line.listenPort)
        var tls: (port: Int, contexts: TLSContexts)?
        if let settings = line.tls {
            do {
                tls = (
                    settings.port,
                    try TLSContexts(
                        certificateFile: settings.certificateFile, privateKeyFile: settings.privateKeyFile,
                        caFile: settings.caFile)
                )
            } catch {
                logger.critical("invalid configuration: sip.tls: cannot read the certificate or key: \(error)")
                throw ExitCode(2)
            }
        }
        let server = SIPServer(
            settings: Self.sipSettings(line, dialer: deployment.config.dialer), listen: listen,
            drainGrace: .seconds(line.drainGraceSeconds),
            limits: ConnectionLimits(
                maxConnections: line.maxConnections, maxPerSource: line.maxConnectionsPerSource,
                messageTimeout: .seconds(max(1, line.messageTimeoutSeconds))),
            tls: tls, logger: logger
        ) { call in await PhoneCall.run(CallLine(sip: call), live.context) }
        services.append(.init(service: server))
        let dialer = Dialer(
            live: live, server: server, clock: clock, environment: ProcessInfo.processInfo.environment, logger: logger)
        let applyToLine: @Sendable (Deployment) async -> Void = { [line, logger] fresh in
            // The addresses, port ranges and TLS stay those the daemon started with.
            var reloaded = fresh.config.line
            (reloaded.listenHost, reloaded.listenPort, reloaded.rtpPorts, reloaded.publicAddress) =
                (line.listenHost, line.listenPort, line.rtpPorts, line.publicAddress)
            reloaded.tls = line.tls
            let limits = ConnectionLimits(
                maxConnections: line.maxConnections, maxPerSource: line.maxConnectionsPerSource)
            do {
                try DescriptorBudget(settings: Self.sipSettings(reloaded, dialer: fresh.config.dialer), limits: limits)
                    .check(logger: logger)
            } catch {
                logger.error("reload: the line keeps its settings", metadata: ["error": "\(error)"])
                return
            }
            server.update(Self.sipSettings(reloaded, dialer: fresh.config.dialer))
        }
        let (adminService, reload) = admin(next: { uri in try await dialer.next(for: uri) }, line: applyToLine)
        services.insert(adminService, at: 0)
        // Callbacks placed by the bot (when `dialer` is configured; it follows reloads).
        services.append(.init(service: dialer))
        services.append(
            .init(
                service: Supervisor(
                    notifier: notifier, logger: logger, ready: { await server.listening() },
                    responsive: { await server.isResponsive(within: .seconds(2)) },
                    reload: { _ = await reload() })))
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        await models.shutdown()
        logger.info("stopped")
    }

    /// The user agent's settings from the line's; the dialer's trunk may answer the calls it places.
    static func sipSettings(_ line: LineSettings, dialer: DialerSettings? = nil) -> SIPSettings {
        SIPSettings(
            publicAddress: SIPAddress(host: line.publicAddress ?? line.listenHost, port: line.listenPort),
            trustedPeers: line.trustedPeers + (dialer.flatMap { AddressBlock($0.trunkHost) }.map { [$0] } ?? []),
            maxCalls: line.maxCalls, rtpPorts: line.rtpPorts,
            answerDelay: Double(line.answerDelayMilliseconds) / 1000,
            transferTimeout: Double(line.transferTimeoutSeconds), probeInterval: Double(line.probeIntervalSeconds),
            mediaTimeout: Double(line.mediaTimeoutSeconds), tlsPort: line.tls?.port, userAgent: "Callbot")
    }
}
