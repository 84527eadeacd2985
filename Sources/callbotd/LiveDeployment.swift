import Assistant
import CallRuntime
import CallbotCore
import Foundation
import Logging
import ModelEndpoints
import Scheduling
import Speech
import Storage
import Synchronization
import Telephony

/// The deployment the daemon serves, replaced whole by a reload (SIGHUP): each call takes the
/// context current when it is answered and keeps it to its end, so calls in progress finish on
/// the old config while new ones get the new. A config that does not load is refused, with its
/// file and line in the log, and the running one is kept.
final class LiveDeployment: Sendable {
    /// What outlives reloads: the store, the engines, the agents' desk.
    struct Parts: Sendable {
        let configFolder: String
        let store: SQLiteStore
        let pseudonymizer: any Pseudonymizer
        let synthesizer: EspeakSynthesizer
        let promptCache: String
        let models: AssistantModels
        let recognizer: (any SpeechRecognizer)?
        /// The clock's source (the system's, or a test's).
        let instant: @Sendable () -> Date
        let desk: AgentDesk
        let logger: Logger
    }

    struct Current: Sendable {
        let context: PhoneCall.Context
        let assistant: Assistant
    }

    let parts: Parts
    private let current: Mutex<Current>
    /// Whether the knowledge base may be embedded now (the embedding engine is up).
    private let embeddingReady = Mutex(false)

    init(_ deployment: Deployment, parts: Parts) async {
        self.parts = parts
        current = Mutex(await Self.build(deployment, parts))
    }

    /// The context for a call starting now.
    var context: PhoneCall.Context { current.withLock { $0.context } }
    var deployment: Deployment { context.deployment }

    /// Embeds the current knowledge base (the embedding engine is ready, or external).
    func embedKnowledge() async {
        embeddingReady.withLock { $0 = true }
        let assistant = current.withLock { $0.assistant }
        let started = ContinuousClock.now
        if await assistant.prepare() {
            parts.logger.info("knowledge base embedded", metadata: ["seconds": "\(ContinuousClock.now - started)"])
        } else {
            parts.logger.error("cannot embed the knowledge base; the fallback retrieves lexically meanwhile")
        }
    }

    /// What a reload did.
    enum Reloaded {
        /// Served from now on; the settings named change at the next restart only.
        case applied(Deployment, restartNeeded: [String])
        /// Refused (the file and line at fault): the running configuration is kept.
        case refused(String)
    }

    /// Loads the config folder again and, when it is valid, serves it to the calls that start from
    /// now on.
    func reload() async -> Reloaded {
        let logger = parts.logger
        let fresh: Deployment
        do {
            fresh = try Deployment.load(from: parts.configFolder)
        } catch {
            logger.error("reload refused: the running configuration is kept", metadata: ["error": "\(error)"])
            return .refused("\(error)")
        }
        let old = deployment
        let restartNeeded = Self.restartOnly(old, fresh).filter { $0.1 != $0.2 }.map(\.0)
        for name in restartNeeded {
            logger.warning("reload: this setting changes at the next restart only", metadata: ["setting": "\(name)"])
        }
        let next = await Self.build(fresh, parts)
        await parts.desk.resize(to: fresh.config.agents.capacity, handlingMinutes: fresh.config.agents.handlingMinutes)
        current.withLock { $0 = next }
        if parts.models.embedder != nil, embeddingReady.withLock({ $0 }) {
            Task { await embedKnowledge() }
        }
        logger.info(
            "configuration reloaded",
            metadata: [
                "intents": "\(fresh.intents.intents.count)", "messages": "\(fresh.messages.messages.count)",
                "fiches": "\(fresh.knowledge.count)",
            ])
        return .applied(fresh, restartNeeded: restartNeeded)
    }

    /// Settings read once at start: a reload that changes them says so.
    static func restartOnly(_ old: Deployment, _ new: Deployment) -> [(String, String, String)] {
        func text(_ value: some Any) -> String { String(reflecting: value) }
        let (a, b) = (old.config, new.config)
        return [
            ("line", text(a.lineKind), text(b.lineKind)),
            ("sip.listen", "\(a.line.listenHost):\(a.line.listenPort)", "\(b.line.listenHost):\(b.line.listenPort)"),
            ("sip.public_address", text(a.line.publicAddress), text(b.line.publicAddress)),
            (
                "sip.max_connections", "\(a.line.maxConnections)/\(a.line.maxConnectionsPerSource)",
                "\(b.line.maxConnections)/\(b.line.maxConnectionsPerSource)"
            ),
            ("admin", text(a.admin), text(b.admin)),
            ("speech", text(a.speech), text(b.speech)),
            ("assistant", text(a.assistant), text(b.assistant)),
            ("storage", text(a.storage), text(b.storage)),
            ("privacy", text(a.privacy), text(b.privacy)),
            ("local_line", text(a.localLine), text(b.localLine)),
        ]
    }

    /// Everything a call needs from one deployment; voices its prompts first.
    private static func build(_ deployment: Deployment, _ parts: Parts) async -> Current {
        let configFolder = parts.configFolder
        let audioDirectory = ((configFolder as NSString).deletingLastPathComponent as NSString)
            .appendingPathComponent("audio")
        let prompts = PromptLibrary(
            audioDirectory: audioDirectory.isEmpty ? "audio" : audioDirectory, messages: deployment.messages.messages,
            synthesizer: parts.synthesizer, cacheDirectory: parts.promptCache, personal: DialogueMessages.personal)
        let started = ContinuousClock.now
        await prompts.prewarm()
        parts.logger.info("prompts ready", metadata: ["seconds": "\(ContinuousClock.now - started)"])
        let assistant = Assistant(
            deployment: deployment, embedder: parts.models.embedder, writer: parts.models.writer)
        let speech = parts.recognizer.map {
            CallerSpeech(
                recognizer: $0, hints: SpeechSetup.hints(deployment),
                turn: SpeechSetup.turnSettings(deployment.config.speech), logger: parts.logger)
        }
        let clock = SystemClock(timeZone: deployment.config.service.timeZone, instant: parts.instant)
        let context = PhoneCall.Context(
            deployment: deployment, understander: Understander(deployment: deployment),
            ports: Scheduler(
                config: deployment.config, store: parts.store, pseudonymizer: parts.pseudonymizer,
                assistant: { question in await assistant.reply(to: question) }), records: parts.store,
            pseudonymizer: parts.pseudonymizer, prompts: prompts, clock: clock, logger: parts.logger,
            desk: parts.desk, speech: speech)
        return Current(context: context, assistant: assistant)
    }
}
