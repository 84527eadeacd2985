import AdminAPI
import CallRuntime
import CallbotCore
import Foundation
import Logging
import ServiceLifecycle
import Storage
import Synchronization
import Telephony

/// Callbacks the bot places itself (`dialer` in callbot.yaml). In a callback's window, while the
/// agents work and one of them is free, it calls the person back through the trunk, says who
/// calls and why, and hands the call to the agents with the context. No answer or busy: tried
/// again `retry_after_minutes` later within the window, up to `callbacks.max_attempts`. The
/// outcome (done, no answer, failed) is kept with the callback for the agents and the indicators.
/// A callback an agent claimed or cancelled is never dialled; nothing is dialled outside its
/// window.
final class Dialer: Service, Sendable {
    let live: LiveDeployment
    let server: SIPServer
    let clock: SystemClock
    let environment: [String: String]
    let logger: Logger
    /// Calls placed and not over yet: each will want an agent.
    private let placing = Mutex(0)
    /// Callbacks agents pulled ("next"), with the SIP URI of the agent's phone.
    private let pulls: AsyncStream<(Callback, String)>
    private let pulled: AsyncStream<(Callback, String)>.Continuation

    init(live: LiveDeployment, server: SIPServer, clock: SystemClock, environment: [String: String], logger: Logger) {
        self.live = live
        self.server = server
        self.clock = clock
        self.environment = environment
        self.logger = logger
        (pulls, pulled) = AsyncStream.makeStream()
    }

    /// An agent asks for the next callback: the first one due (kept places and notices first,
    /// then in the order asked) is dialled now and connected to the agent's own phone at `uri`.
    func next(for uri: String) async throws -> AdminServer.PullOutcome {
        guard live.deployment.config.dialer != nil else { return .noDialer }
        let store = live.parts.store
        let config = live.deployment.config
        for callback in try await store.dueCallbacks(
            at: clock.now(), maxAttempts: config.callbacks.maxAttempts, limit: 5)
        {
            if let dialing = try await store.startDialing(id: callback.id) {
                placing.withLock { $0 += 1 }
                pulled.yield((dialing, uri))
                return .dialing(dialing)
            }
        }
        return .nothingDue
    }

    func run() async throws {
        let store = live.parts.store
        let resumed = try await store.resumeInterruptedDialing()
        if resumed > 0 {
            logger.warning(
                "callbacks left dialling by an interrupted run are pending again", metadata: ["count": "\(resumed)"])
        }
        await server.listening()
        await withDiscardingTaskGroup { calls in
            calls.addTask { [pulls] in
                await withDiscardingTaskGroup { pulledCalls in
                    for await (callback, uri) in pulls {
                        pulledCalls.addTask { await self.place(callback, agent: uri) }
                    }
                }
            }
            defer { pulled.finish() }
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                let interval = live.deployment.config.dialer?.checkIntervalSeconds ?? 30
                do {
                    for callback in try await due() {
                        calls.addTask { await self.place(callback) }
                    }
                } catch {
                    logger.error("dialer: cannot read the callbacks", metadata: ["error": "\(error)"])
                }
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(interval)) }
            }
        }
    }

    /// Callbacks to dial now, taken from the worklist (as many as agents are free).
    private func due() async throws -> [Callback] {
        let deployment = live.deployment
        let config = deployment.config
        let now = clock.now()
        let store = live.parts.store
        // The callers who kept their place, for the wait announced to the next ones.
        let queued = try await store.callbacks(from: now.date, to: now.date, statuses: [.pending])
            .filter { $0.purpose == .queue }.count
        await live.parts.desk.setQueued(queued)
        guard config.dialer != nil else { return [] }
        guard config.agentCalendar.isOpen(at: now) else { return [] }
        let desk = live.parts.desk
        let free = await desk.capacity - desk.inProgress - placing.withLock { $0 }
        guard free > 0 else { return [] }
        var taken: [Callback] = []
        for callback in try await store.dueCallbacks(at: now, maxAttempts: config.callbacks.maxAttempts, limit: free) {
            // Taken atomically: an agent may have claimed it meanwhile.
            if let dialing = try await store.startDialing(id: callback.id) {
                placing.withLock { $0 += 1 }
                taken.append(dialing)
            }
        }
        return taken
    }

    /// Calls one person back and records how it went; `agent` is the phone of the agent who
    /// asked for this call, else the agents' queue takes it.
    private func place(_ callback: Callback, agent: String? = nil) async {
        defer { placing.withLock { $0 -= 1 } }
        let deployment = live.deployment
        let config = deployment.config
        let store = live.parts.store
        var logger = self.logger
        logger[metadataKey: "callback.id"] = "\(callback.id)"
        logger[metadataKey: "callback.attempt"] = "\(callback.attempts)"
        guard let settings = config.dialer else {
            await finish(callback, .pending, note: "numérotation désactivée", retry: true, logger)
            return
        }
        var credentials: SIPCredentials?
        if let username = settings.username {
            do {
                let password = try APIKey.read(
                    env: settings.passwordEnv, file: settings.passwordFile, environment: environment)
                credentials = SIPCredentials(username: username, password: password ?? "")
            } catch {
                logger.error("dialer: the trunk's password cannot be read", metadata: ["error": "\(error)"])
                await finish(callback, .failed, note: "mot de passe du trunk illisible", retry: false, logger)
                return
            }
        }
        let callID = CallRunner.newCallID()
        logger[metadataKey: "call.id"] = "\(callID)"
        let request = DialRequest(
            callID: "\(callID)@callbot", target: settings.target(for: callback.phone),
            proxy: SIPAddress(host: settings.trunkHost, port: settings.trunkPort), from: settings.from,
            displayName: settings.displayName ?? config.service.name, credentials: credentials,
            ringTimeout: Double(settings.ringTimeoutSeconds))
        let appointment: Appointment? =
            if let reference = callback.appointmentReference {
                try? await store.appointment(reference: reference)
            } else { nil }
        let greeting = CallbackGreeting.prompt(
            for: callback, appointment: appointment, deployment: deployment, today: clock.now().date)
        logger.info("calling back")
        let heard = Mutex<CallbackCall.Result?>(nil)
        let context = live.context
        let outcome = await server.dial(request) { [logger] call in
            let result = await CallbackCall.run(
                CallLine(sip: call), callback: callback, greeting: greeting, callID: callID, agent: agent,
                context: context, logger: logger)
            heard.withLock { $0 = result }
        }
        switch (outcome, heard.withLock { $0 }) {
        case (.answered, .connected?):
            await finish(callback, .done, note: "rappelé et mis en relation avec un conseiller", retry: false, logger)
        case (.answered, .hungUp?):
            await finish(callback, .done, note: "joint ; a raccroché avant la mise en relation", retry: false, logger)
        case (.answered, _):
            await finish(callback, .failed, note: "joint, mais aucun conseiller disponible", retry: true, logger)
        case (.notAnswered(let status), _):
            switch status {
            case 486, 600, 603: await finish(callback, .noAnswer, note: "occupé", retry: true, logger)
            case 408, 480, 487: await finish(callback, .noAnswer, note: "pas de réponse", retry: true, logger)
            case 503: await finish(callback, .noAnswer, note: "ligne indisponible", retry: true, logger)
            default: await finish(callback, .failed, note: "échec de l'appel (SIP \(status))", retry: false, logger)
            }
        }
    }

    /// Records an attempt: `status` is the outcome if no other attempt follows; with `retry`,
    /// another is made later in the window while attempts remain.
    private func finish(_ callback: Callback, _ status: Callback.Status, note: String, retry: Bool, _ logger: Logger)
        async
    {
        let config = live.deployment.config
        let now = clock.now()
        let retryAt = now.epochSeconds + (config.dialer?.retryAfterMinutes ?? 20) * 60
        let windowEnd = LocalDateTime(
            date: callback.window.date, time: callback.window.range.end, utcOffset: now.utcOffset
        ).epochSeconds
        let again = retry && callback.attempts < config.callbacks.maxAttempts && retryAt < windowEnd
        let attempt = "tentative \(callback.attempts)/\(config.callbacks.maxAttempts)"
        do {
            try await live.parts.store.finishDialing(
                id: callback.id, as: again ? .pending : status, note: "\(note) (\(attempt))", at: now,
                retryAt: again ? retryAt : 0)
        } catch {
            logger.error("dialer: cannot record the outcome", metadata: ["error": "\(error)"])
        }
        logger.info(
            "callback attempt over",
            metadata: ["outcome": "\(again ? "retry" : status.rawValue)", "note": "\(note)"])
    }
}

/// A callee who answered: the greeting, then the agents with the callback's context.
enum CallbackCall {
    enum Result: Sendable {
        /// An agent took the call.
        case connected
        /// The callee hung up before an agent took it.
        case hungUp
        /// No agent could take it (all busy, no answer).
        case agentsUnavailable
    }

    /// `agent`: the SIP URI of the agent who asked for this call (else the agents' queue).
    static func run(
        _ call: CallLine, callback: Callback, greeting: Prompt, callID: String, agent: String?,
        context: PhoneCall.Context, logger: Logger
    ) async -> Result {
        let inbox = CallInbox(voice: call.media, logger: logger)
        return await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await signal in call.signals { await inbox.deliver(LineSignal(signal)) }
                await inbox.deliver(.hangUp)
            }
            let channel = PhoneChannel(
                call: call, inbox: inbox, prompts: context.prompts, logger: logger,
                queueURI: agent ?? context.deployment.config.agents.queueURI, callID: callID)
            let result = await converse(
                channel, callback: callback, greeting: greeting, callID: callID, reserved: agent != nil, context)
            if await !inbox.hungUp { await call.hangUp() }
            group.cancelAll()
            return result
        }
    }

    private static func converse(
        _ channel: PhoneChannel, callback: Callback, greeting: Prompt, callID: String, reserved: Bool,
        _ context: PhoneCall.Context
    ) async -> Result {
        guard await channel.say(greeting), await channel.finishSpeaking() else { return .hungUp }
        let handoff = HandoffContext(
            callID: callID, reason: callback.purpose == .notice ? "appointment_cancelled" : "callback",
            intent: callback.topic, intents: callback.topic.map { [$0] } ?? [], slots: [:], summary: callback.context)
        let busy = Prompt(
            key: "dialer.agents_busy", text: context.deployment.messages.render("dialer.agents_busy"),
            interruptible: false)
        guard await context.desk.take(handoff, caller: callback.phone, force: reserved) else {
            _ = await channel.say(busy)
            _ = await channel.finishSpeaking()
            return .agentsUnavailable
        }
        let ended = await channel.transfer(handoff)
        await context.desk.release(callID, ended)
        switch ended {
        case .transferResult(.answered): return .connected
        case .transferResult:
            _ = await channel.say(busy)
            _ = await channel.finishSpeaking()
            return .agentsUnavailable
        default: return .hungUp
        }
    }
}
