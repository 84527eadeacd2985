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
                // The agent's place is theirs from now: nobody else is transferred to them meanwhile.
                await live.parts.desk.reserve(force: true)
                guard case .enqueued = pulled.yield((dialing, uri)) else {
                    await live.parts.desk.unreserve()
                    // Stopping: left pending for the next start, its attempt given back.
                    try await store.finishDialing(
                        id: dialing.id, as: .pending, note: nil, at: clock.now(), attempted: false)
                    return .nothingDue
                }
                return .dialing(dialing)
            }
        }
        return .nothingDue
    }

    func run() async throws {
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
        let desk = live.parts.desk
        guard config.dialer != nil else {
            await desk.setQueued(0)
            return []
        }
        // Windows that ended: the outcome is known (the agents' worklist keeps what is still to do).
        let missed = try await store.closeMissedCallbacks(at: now)
        if missed > 0 { logger.info("callbacks whose window ended are closed", metadata: ["count": "\(missed)"]) }
        var taken: [Callback] = []
        if config.agentCalendar.isOpen(at: now) {
            for callback in try await store.dueCallbacks(
                at: now, maxAttempts: config.callbacks.maxAttempts, limit: 10)
            {
                // A place for the agent who will take the call, then the callback (an agent may
                // have claimed it meanwhile).
                guard await desk.reserve() else { break }
                do {
                    if let dialing = try await store.startDialing(id: callback.id) {
                        taken.append(dialing)
                        continue
                    }
                } catch {
                    logger.error("dialer: cannot take a callback", metadata: ["error": "\(error)"])
                }
                await desk.unreserve()
            }
        }
        // The callers who kept their place and may be called now, not yet dialled: they come
        // before new callers.
        let waiting = try? await store.dueCallbacks(at: now, maxAttempts: config.callbacks.maxAttempts, limit: 1000)
        await desk.setQueued(waiting?.filter { $0.purpose == .queue }.count ?? 0)
        return taken
    }

    /// Calls one person back and records how it went; `agent` is the phone of the agent who
    /// asked for this call, else the agents' queue takes it.
    private func place(_ callback: Callback, agent: String? = nil) async {
        // The place reserved for this call (in `due`, or by the agent's pull): given back unless
        // the transfer took it.
        let reservation = Reservation(desk: live.parts.desk)
        await place(callback, agent: agent, reservation: reservation)
        await reservation.giveBackIfUnused()
    }

    private func place(_ callback: Callback, agent: String?, reservation: Reservation) async {
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
        guard settings.allows(callback.phone) else {
            logger.warning("dialer: a number outside dialer.allowed_prefixes is not dialled")
            await finish(callback, .failed, note: "numéro hors des préfixes autorisés", retry: false, logger)
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
                reservation: reservation, context: context, logger: logger)
            heard.withLock { $0 = result }
        }
        switch (outcome, heard.withLock { $0 }) {
        case (.answered, .connected?):
            await finish(callback, .done, note: "rappelé et mis en relation avec un conseiller", retry: false, logger)
        case (.answered, .hungUp?):
            await finish(callback, .done, note: "joint ; a raccroché avant la mise en relation", retry: false, logger)
        case (.answered, _):
            await finish(callback, .failed, note: "joint, mais aucun conseiller disponible", retry: true, logger)
        case (.lineUnavailable, _):
            // Nothing was sent: neither an attempt nor a reason to give up.
            do {
                try await live.parts.store.finishDialing(
                    id: callback.id, as: .pending, note: "ligne indisponible, nouvel essai", at: clock.now(),
                    retryAt: clock.now().epochSeconds + 60, attempted: false)
            } catch {
                logger.error("dialer: cannot record the outcome", metadata: ["error": "\(error)"])
            }
        case (.notAnswered(let status), _):
            switch status {
            case 486, 600, 603: await finish(callback, .noAnswer, note: "occupé", retry: true, logger)
            case 408, 480, 487: await finish(callback, .noAnswer, note: "pas de réponse", retry: true, logger)
            case 503: await finish(callback, .noAnswer, note: "réseau indisponible", retry: true, logger)
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

    /// `agent`: the SIP URI of the agent who asked for this call (else the agents' queue, in the
    /// place of `reservation`).
    static func run(
        _ call: CallLine, callback: Callback, greeting: Prompt, callID: String, agent: String?,
        reservation: Reservation, context: PhoneCall.Context, logger: Logger
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
                channel, callback: callback, greeting: greeting, callID: callID, reservation: reservation, context)
            if await !inbox.hungUp { await call.hangUp() }
            group.cancelAll()
            return result
        }
    }

    private static func converse(
        _ channel: PhoneChannel, callback: Callback, greeting: Prompt, callID: String, reservation: Reservation,
        _ context: PhoneCall.Context
    ) async -> Result {
        guard await channel.say(greeting), await channel.finishSpeaking() else { return .hungUp }
        let handoff = HandoffContext(
            callID: callID, reason: callback.purpose == .notice ? "appointment_cancelled" : "callback",
            intent: callback.topic, intents: callback.topic.map { [$0] } ?? [], slots: [:], summary: callback.context)
        let busy = Prompt(
            key: "dialer.agents_busy", text: context.deployment.messages.render("dialer.agents_busy"),
            interruptible: false)
        guard await reservation.take(handoff, caller: callback.phone) else {
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

/// The agent's place a callback holds while it is dialled (reserved before dialling, beyond the
/// capacity when an agent asked for the call): taken by its transfer, or given back.
final class Reservation: Sendable {
    private let desk: AgentDesk
    private let used = Mutex(false)

    init(desk: AgentDesk) { self.desk = desk }

    /// The hand-off of the call takes the place.
    func take(_ context: HandoffContext, caller: String) async -> Bool {
        used.withLock { $0 = true }
        return await desk.take(context, caller: caller, reserved: true)
    }

    func giveBackIfUnused() async {
        guard !used.withLock({ $0 }) else { return }
        await desk.unreserve()
    }
}
